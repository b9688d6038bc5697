import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

GOLDEN = ROOT / "protocol" / "testdata" / "golden"

import pytest


@pytest.fixture(scope="session")
def django_setup():
    import django
    from django.conf import settings

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF="djangoapp",
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
        )
        django.setup()


@pytest.fixture
def log_records():
    """The worker's log records, read from a pipe as Go reads them."""
    import json
    import os

    from hurricane.worker import log

    r, w = os.pipe()
    os.set_blocking(r, False)
    saved = log._fd
    log.setup(w)

    def read():
        data = b""
        while True:
            try:
                chunk = os.read(r, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        return [json.loads(line) for line in data.splitlines()]

    yield read
    log.setup(saved)
    os.close(w)
    os.close(r)
