import os

from django.http import HttpResponse
from django.urls import path

from demo.urls import urlpatterns as demo_urlpatterns
from e2esite.observed import VISITS

_leaked = []


def visit(request):
    """Counts a visit in the app's own metric; answers the worker's PID."""
    VISITS.inc()
    return HttpResponse(str(os.getpid()))


def leak(request):
    """Keeps 40 MB more each call (written, so it is resident)."""
    _leaked.append(b"\x01" * (40 << 20))
    return HttpResponse("%d %d" % (os.getpid(), len(_leaked)))


urlpatterns = demo_urlpatterns + [
    path("visit", visit),
    path("leak", leak),
]
