"""Views and middleware for test_chain: every way a request can leave
Django's middleware, each recorded in the order it happened."""

import asyncio

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.urls import path

EVENTS = []


class Recorder:
    """Records its hooks; misbehaves when the query string names it."""

    name = "?"

    def process_request(self, request):
        EVENTS.append(self.name + ".request")
        query = request.GET
        if query.get("short") == self.name:
            return HttpResponse("short by " + self.name, status=403)
        if query.get("deny") == self.name:
            raise PermissionDenied
        if query.get("crash") == self.name:
            raise RuntimeError("crash in process_request")
        return None

    def process_view(self, request, callback, args, kwargs):
        EVENTS.append(self.name + ".view")
        if request.GET.get("view") == self.name:
            return HttpResponse("view by " + self.name)
        return None

    def process_exception(self, request, exception):
        EVENTS.append(self.name + ".exception")
        if request.GET.get("handle") == self.name:
            return HttpResponse("handled by " + self.name, status=418)
        return None

    def process_template_response(self, request, response):
        EVENTS.append(self.name + ".template")
        response.headers["X-Template-" + self.name] = "1"
        return response

    def process_response(self, request, response):
        EVENTS.append(self.name + ".response")
        if request.GET.get("crash-response") == self.name:
            raise RuntimeError("crash in process_response")
        response.headers["X-Seen-" + self.name] = "1"
        response.set_cookie("seen-" + self.name, "yes")
        return response


def _middleware(name):
    from django.utils.deprecation import MiddlewareMixin

    return type(name, (Recorder, MiddlewareMixin), {"name": name})


Outer = _middleware("outer")
Inner = _middleware("inner")


def function_middleware(get_response):
    def middleware(request):
        EVENTS.append("function")
        return get_response(request)

    return middleware


class Deferred(HttpResponse):
    """A response rendered late, as TemplateResponse is."""

    def render(self):
        EVENTS.append("render")
        self.content = b"rendered"
        return self


async def ok(request):
    EVENTS.append("view")
    return HttpResponse("ok")


async def fails(request):
    EVENTS.append("view")
    raise ValueError("view failed")


async def missing(request):
    raise Http404("no such thing")


async def returns_none(request):
    return None


async def deferred(request):
    return Deferred("deferred")


async def big(request):
    return HttpResponse(b"x" * 200_000)


async def streamed(request):
    async def parts():
        for i in range(3):
            await asyncio.sleep(0)
            yield b"part%d " % i

    return StreamingHttpResponse(parts())


def sync_view(request):
    return HttpResponse("sync")


urlpatterns = [
    path("ok", ok),
    path("fails", fails),
    path("missing", missing),
    path("none", returns_none),
    path("deferred", deferred),
    path("big", big),
    path("streamed", streamed),
    path("sync", sync_view),
]
