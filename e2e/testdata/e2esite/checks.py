"""Probe checks switched by files: each environment variable names a file;
the check misbehaves while that file exists."""
import os
import time

from django.core import checks


def _exists(var):
    path = os.environ.get(var)
    return bool(path) and os.path.exists(path)


def liveness_check(app_configs=None, **kwargs):
    # A hung control lane: block while the file exists (at most 30 s).
    deadline = time.monotonic() + 30
    while _exists("E2E_HANG_CHECK") and time.monotonic() < deadline:
        time.sleep(0.05)
    if _exists("E2E_FAIL_LIVENESS"):
        return [checks.Error("e2e liveness failure", id="e2esite.E001")]
    return []


def readiness_check(app_configs=None, **kwargs):
    if _exists("E2E_FAIL_READINESS"):
        return [checks.Error("e2e readiness failure", id="e2esite.E002")]
    return []
