import asyncio
import time

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("hello")


async def ahello(request):
    return HttpResponse("ahello")


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


def body(request):
    return HttpResponse(str(len(request.read())))


urlpatterns = [
    path("hello", hello),
    path("ahello", ahello),
    path("sleep", sleep),
    path("spin", spin),
    path("stream", stream),
    path("body", body),
]
