"""The e2esite settings with a broken migration graph for e2esite."""
from e2esite.settings import *  # noqa: F401,F403

MIGRATION_MODULES = {"e2esite": "e2esite.broken_migrations"}
