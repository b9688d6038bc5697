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
