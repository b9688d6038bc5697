"""The demo settings with "hurricane" installed, for bench/consume: 1.6.2's
`manage.py consume` command comes from the app."""
from demo.settings import *  # noqa: F401,F403
from demo.settings import INSTALLED_APPS

INSTALLED_APPS = list(INSTALLED_APPS) + ["hurricane"]
