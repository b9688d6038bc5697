"""The demo settings with MEDIA_ROOT taken from E2E_MEDIA_ROOT, for the
static and media file tests (STATIC_ROOT already follows DEMO_STATIC_ROOT)."""
import os

from demo.settings import *  # noqa: F401,F403

if os.environ.get("E2E_MEDIA_ROOT"):
    MEDIA_ROOT = os.environ["E2E_MEDIA_ROOT"]
