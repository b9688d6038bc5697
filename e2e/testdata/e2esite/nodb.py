"""The demo settings without a database: DATABASES = {} (Django allows it;
the views the tests call do not touch a database)."""
from demo.settings import *  # noqa: F401,F403

DATABASES = {}
