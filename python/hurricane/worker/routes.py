"""The URL pattern a request resolved to, for Go's metric labels.

A raw path would make one label value per URL ever requested; the pattern
("/items/<int:pk>") is bounded by the URLconf.
"""

ROUTE_KEY = "hurricane.route"
# A callable the server puts in the scope: finish(status, headers, body)
# sends a complete response from any thread (see asgi_handler_class).
FINISH_KEY = "hurricane.finish"


def route_of(request):
    """The resolved URL pattern with a leading "/", or None when the request
    resolved to no view (a 404, or a middleware that answered first)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    route = getattr(match, "route", None) or ""
    return "/" + route.lstrip("^/")


def wsgi_handler_class():
    """Django's WSGIHandler, noting each request's route in its environ."""
    from django.core.handlers.wsgi import WSGIHandler

    class Handler(WSGIHandler):
        def get_response(self, request):
            response = super().get_response(request)
            request.environ[ROUTE_KEY] = route_of(request)
            return response

    return Handler


def asgi_handler_class():
    """Django's ASGIHandler, noting each request's route in its scope.

    Django gives every request a ThreadSensitiveContext, whose
    single-thread executor runs the request's sync parts (signals, sync
    middleware, sync_to_async calls) and is shut down after it: a thread
    started and joined per request. Where asgiref lets the caller own the
    executor, those threads are kept in a pool and reused, one request at a
    time each, so thread-sensitive code still runs on one thread per request.

    When the project's middleware allow it (chain.Chain), a request whose
    scope carries FINISH_KEY goes through the middleware in two hops to that
    thread instead of one per middleware method, and a complete response is
    sent from the thread by finish().
    """
    import asyncio
    import inspect
    from concurrent.futures import ThreadPoolExecutor
    from queue import Empty, SimpleQueue

    from asgiref.sync import ThreadSensitiveContext, sync_to_async
    from django.core import signals
    from django.core.exceptions import RequestAborted
    from django.core.handlers import asgi
    from django.http import FileResponse
    from django.urls import set_script_prefix

    from .chain import Chain, encode_headers

    reuse = "executor" in inspect.signature(ThreadSensitiveContext).parameters
    idle = SimpleQueue()

    class Handler(asgi.ASGIHandler):
        def __init__(self):
            super().__init__()
            self.chain = Chain.load()

        if reuse:

            async def __call__(self, scope, receive, send):
                if scope["type"] != "http":
                    return await super().__call__(scope, receive, send)
                try:
                    executor = idle.get_nowait()
                except Empty:
                    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hurricane-request")
                try:
                    async with ThreadSensitiveContext(executor=executor):
                        await self.handle(scope, receive, send)
                finally:
                    idle.put(executor)

        async def get_response_async(self, request):
            response = await super().get_response_async(request)
            request.scope[ROUTE_KEY] = route_of(request)
            return response

        async def handle(self, scope, receive, send):
            finish = scope.get(FINISH_KEY)
            if self.chain is None or finish is None:
                return await super().handle(scope, receive, send)
            try:
                body_file = await self.read_body(receive)
            except RequestAborted:
                return
            try:
                set_script_prefix(self._script_prefix(scope))
                request, response, pending = await sync_to_async(self._enter, thread_sensitive=True)(scope, body_file, finish)
                if pending is not None:
                    response = await self._view(request, receive, pending, finish)
                if response is not None:
                    # Streamed, or too large for one message: sent by the loop.
                    await self.send_response(response, send)
                    await sync_to_async(response.close, thread_sensitive=True)()
            finally:
                body_file.close()

        def _script_prefix(self, scope):
            if hasattr(asgi, "get_script_prefix"):  # Django >= 5.0
                return asgi.get_script_prefix(scope)
            return self.get_script_prefix(scope)

        def _enter(self, scope, body_file, finish):
            """On the request's thread: request_started, the request, and the
            middleware up to the view. Returns (request, response, pending):
            pending is (depth, view) when the view is still to run; response
            is None when it was sent by finish()."""
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is None:
                return None, self._finish(None, response, finish), None
            response, depth, view = self.chain.enter(request)
            if view is not None:
                return request, None, (depth, view)
            response = self.chain.leave(request, response, depth)
            return request, self._finish(request, response, finish), None

        async def _view(self, request, receive, pending, finish):
            """Awaits the view on the loop, cancelled if the client goes
            away (as Django's handler does), then leaves the middleware on
            the request's thread."""
            depth, (view, callback, args, kwargs) = pending
            task = asyncio.ensure_future(view(request, *args, **kwargs))
            listener = asyncio.ensure_future(receive())
            await asyncio.wait((task, listener), return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                task.cancel()
            listener.cancel()
            response = exc = None
            try:
                response = await task
            except asyncio.CancelledError:
                await sync_to_async(signals.request_finished.send, thread_sensitive=True)(sender=self.__class__)
                return None
            except Exception as err:
                exc = err
            return await sync_to_async(self._leave, thread_sensitive=True)(request, response, depth, callback, exc, finish)

        def _leave(self, request, response, depth, callback, exc, finish):
            response = self.chain.leave(request, response, depth, callback, exc)
            return self._finish(request, response, finish)

        def _finish(self, request, response, finish):
            """On the request's thread: sends a complete response of one
            message with finish() and closes it (request_finished); returns
            any other response for the loop to send."""
            if request is not None:
                request.scope[ROUTE_KEY] = route_of(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
            if response.streaming:
                return response
            body = response.content
            if len(body) > self.chunk_size:
                return response
            finish(response.status_code, encode_headers(response), body)
            response.close()
            return None

    return Handler
