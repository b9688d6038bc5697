"""The demo settings plus the e2esite app (tagged liveness/readiness checks,
a model with a migration, and the slowcmd management command)."""
import os

from demo.settings import *  # noqa: F401,F403
from demo.settings import INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + ["e2esite.apps.E2ESiteConfig"]

# HURRICANE_VERSION is the "version" of webhook payloads.
if os.environ.get("E2E_VERSION"):
    HURRICANE_VERSION = os.environ["E2E_VERSION"]
