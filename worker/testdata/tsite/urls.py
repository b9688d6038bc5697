import asyncio
import hashlib
import os
import time

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("hello")


async def ahello(request):
    return HttpResponse("ahello")


def environ(request):
    """An environment variable of the worker, as processes it starts get it."""
    return HttpResponse(os.environ.get(request.GET["name"], "<unset>"))


def sleep(request):
    time.sleep(int(request.GET.get("ms", "300")) / 1000)
    return HttpResponse("slept")


def spin(request):
    end = time.monotonic() + int(request.GET.get("ms", "500")) / 1000
    n = 0
    while time.monotonic() < end:
        n += 1
    return HttpResponse(str(n))


def stream(request):
    def gen():
        for i in range(int(request.GET.get("n", "3"))):
            yield b"x" * 100000
    return StreamingHttpResponse(gen())


def pattern(request):
    """n chunks of kb KiB, chunk i filled with byte i % 251: a chunk landing
    in the wrong place shows."""
    n, kb = int(request.GET.get("n", "3")), int(request.GET.get("kb", "300"))

    def gen():
        for i in range(n):
            yield bytes([i % 251]) * (kb * 1024)
    return StreamingHttpResponse(gen())


async def apattern(request):
    n, kb = int(request.GET.get("n", "3")), int(request.GET.get("kb", "300"))

    async def gen():
        for i in range(n):
            yield bytes([i % 251]) * (kb * 1024)
    return StreamingHttpResponse(gen())


def body(request):
    return HttpResponse(str(len(request.read())))


def digest(request):
    body = request.read()
    return HttpResponse("%d|%s" % (len(body), hashlib.sha256(body).hexdigest()))


async def adigest(request):
    body = request.body
    return HttpResponse("%d|%s" % (len(body), hashlib.sha256(body).hexdigest()))


urlpatterns = [
    path("hello", hello),
    path("environ", environ),
    path("ahello", ahello),
    path("sleep", sleep),
    path("spin", spin),
    path("stream", stream),
    path("pattern", pattern),
    path("apattern", apattern),
    path("body", body),
    path("digest", digest),
    path("adigest", adigest),
]
