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
    """Django's ASGIHandler, noting each request's route in its scope."""
    from django.core.handlers.asgi import ASGIHandler

    class Handler(ASGIHandler):
        async def get_response_async(self, request):
            response = await super().get_response_async(request)
            request.scope[ROUTE_KEY] = route_of(request)
            return response

    return Handler
