"""The demo settings with "hurricane" installed, for django-hurricane 1.6.2
in bench/consume and bench/run: its `manage.py consume` and `manage.py
serve` commands come from the app."""
from demo.settings import *  # noqa: F401,F403
from demo.settings import INSTALLED_APPS

INSTALLED_APPS = list(INSTALLED_APPS) + ["hurricane"]
