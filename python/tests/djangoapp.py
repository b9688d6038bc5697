"""A tiny Django project for the worker's tests."""

import asyncio
import hashlib
import time

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("hello")


async def ahello(request):
    return HttpResponse("ahello")


def meta(request):
    keys = ["PATH_INFO", "QUERY_STRING", "REMOTE_ADDR", "SERVER_PORT", "HTTP_X_MULTI", "CONTENT_LENGTH"]
    body = request.read()
    return HttpResponse("|".join(str(request.META.get(k)) for k in keys) + "|" + body.decode())


def digest(request):
    body = request.read()
    return HttpResponse("%d|%s" % (len(body), hashlib.sha256(body).hexdigest()))


async def adigest(request):
    body = request.body
    return HttpResponse("%d|%s" % (len(body), hashlib.sha256(body).hexdigest()))


# Set by a request to /release to let /hold return; a test resets it to
# None (the event is made on the loop that serves the views).
RELEASE = None


def _release():
    global RELEASE
    if RELEASE is None:
        RELEASE = asyncio.Event()
    return RELEASE


async def hold(request):
    """Waits until a request to /release comes: a long poll."""
    await _release().wait()
    return HttpResponse("held")


async def release(request):
    _release().set()
    return HttpResponse("released")


async def aspin(request):
    """Computes on the loop for ms milliseconds."""
    end = time.perf_counter() + int(request.GET.get("ms", "1")) / 1000
    while time.perf_counter() < end:
        pass
    return HttpResponse("spun")


def stream(request):
    return StreamingHttpResponse(b"chunk%d" % i for i in range(3))


def big(request):
    """n chunks of kb KiB, chunk i filled with byte i."""
    n, kb = int(request.GET["n"]), int(request.GET["kb"])
    return StreamingHttpResponse(bytes([i]) * (kb * 1024) for i in range(n))


def sleep(request):
    time.sleep(0.3)
    return HttpResponse("slept")


urlpatterns = [
    path("hello", hello),
    path("ahello", ahello),
    path("meta", meta),
    path("digest", digest),
    path("adigest", adigest),
    path("hold", hold),
    path("release", release),
    path("aspin", aspin),
    path("stream", stream),
    path("big", big),
    path("sleep", sleep),
]
