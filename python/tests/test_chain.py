"""The two-hop middleware path (hurricane.worker.chain) answers exactly as
Django's own ASGI handler does, hook by hook, for every way a request can
leave the middleware."""

import asyncio

import pytest

import chainapp

MIDDLEWARE = ["chainapp.Outer", "chainapp.Inner"]

CASES = [
    "/ok",
    "/ok?short=outer",
    "/ok?short=inner",
    "/ok?deny=inner",
    "/ok?crash=outer",
    "/ok?view=inner",
    "/ok?crash-response=inner",
    "/ok?crash-response=outer",
    "/fails",
    "/fails?handle=outer",
    "/fails?handle=inner",
    "/missing",
    "/none",
    "/deferred",
    "/big",
    "/streamed",
    "/sync",
    "/nowhere",
]


def _scope(target):
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }


def _serve(handler, target, fast):
    """Status, headers, body and hook order of one request."""
    result = {"body": b""}

    async def receive():
        if "received" not in result:
            result["received"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Future()

    async def send(message):
        if message["type"] == "http.response.start":
            result["status"] = message["status"]
            result["headers"] = list(message["headers"])
        else:
            result["body"] += message.get("body", b"")

    def finish(status, headers, body):
        result["finished"] = True
        result["status"], result["headers"], result["body"] = status, list(headers), body

    scope = _scope(target)
    if fast:
        from hurricane.worker import routes

        scope[routes.FINISH_KEY] = finish
    chainapp.EVENTS.clear()
    asyncio.run(handler(scope, receive, send))
    return result.pop("finished", False), dict(result, events=list(chainapp.EVENTS))


@pytest.fixture
def handlers(django_setup):
    from django.core.handlers.asgi import ASGIHandler
    from django.test.utils import override_settings

    from hurricane.worker import routes

    with override_settings(MIDDLEWARE=MIDDLEWARE, ROOT_URLCONF="chainapp"):
        ours = routes.asgi_handler_class()()
        assert ours.chain is not None
        yield ASGIHandler(), ours


@pytest.mark.parametrize("target", CASES)
def test_same_answer_as_django(handlers, target):
    django_handler, ours = handlers
    _, want = _serve(django_handler, target, fast=False)
    finished, got = _serve(ours, target, fast=True)
    assert got == want
    # Complete responses of one message leave from the request's thread.
    assert finished == (target not in ("/big", "/streamed"))


def test_function_middleware_keeps_djangos_path(django_setup):
    from django.test.utils import override_settings

    from hurricane.worker import routes

    with override_settings(MIDDLEWARE=["chainapp.function_middleware", *MIDDLEWARE], ROOT_URLCONF="chainapp"):
        handler = routes.asgi_handler_class()()
        assert handler.chain is None
        finished, got = _serve(handler, "/ok", fast=True)
    assert not finished
    assert got["status"] == 200 and got["body"] == b"ok"
    assert got["events"][0] == "function"


def test_disconnect_cancels_the_view(handlers):
    """A client gone while the view awaits cancels it, as in Django."""
    _, ours = handlers
    started = asyncio.Event()
    cancelled = []

    async def slow(request):
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def run():
        from django.core.signals import request_finished

        from hurricane.worker import routes

        finished_signals = []
        request_finished.connect(lambda **kw: finished_signals.append(True), weak=False, dispatch_uid="t")
        state = {"n": 0}
        gone = asyncio.Event()

        async def receive():
            state["n"] += 1
            if state["n"] == 1:
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            raise AssertionError("nothing is sent to a client that left")

        scope = _scope("/ok")
        scope[routes.FINISH_KEY] = lambda *a: (_ for _ in ()).throw(AssertionError("not finished"))
        original = chainapp.ok
        chainapp.urlpatterns[0].callback = slow
        try:
            task = asyncio.ensure_future(ours(scope, receive, send))
            await started.wait()
            gone.set()
            await asyncio.wait_for(task, 5)
        finally:
            chainapp.urlpatterns[0].callback = original
            request_finished.disconnect(dispatch_uid="t")
        return finished_signals

    finished_signals = asyncio.run(run())
    assert cancelled == [True]
    assert finished_signals == [True]
