"""Plain demo settings: no check tagged liveness or readiness exists."""
from demo.settings import *  # noqa: F401,F403
