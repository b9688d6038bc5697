"""The URL pattern a request resolved to, for Go's metric labels.

A raw path would make one label value per URL ever requested; the pattern
("/items/<int:pk>") is bounded by the URLconf.
"""

ROUTE_KEY = "hurricane.route"


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
    """
    import inspect
    from concurrent.futures import ThreadPoolExecutor
    from queue import Empty, SimpleQueue

    from asgiref.sync import ThreadSensitiveContext
    from django.core.handlers.asgi import ASGIHandler

    reuse = "executor" in inspect.signature(ThreadSensitiveContext).parameters
    idle = SimpleQueue()

    class Handler(ASGIHandler):
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

    return Handler
