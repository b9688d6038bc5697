"""Async requests through Django's middleware in two thread hand-offs.

Django's ASGI handler adapts every sync middleware method on its own: for
one async request, each process_request, process_view and process_response
of the usual ``MiddlewareMixin`` middleware is a hop to the request's
thread and back. Where a thread wake-up costs 150 µs (measured on the
benchmark machine: ~300 µs per hop), Django's default middleware turn an
async hello view into ~15 hops and ~6 ms.

When every middleware is a plain ``MiddlewareMixin`` (its sync methods are
all Django would call, one by one, on the request's thread), ``Chain`` calls
the same methods in the same order, with the same exception-to-response
conversion at every layer, in one hop before the view (request_started,
process_request, resolving, process_view) and one after it (exception and
template response middleware, process_response, and, for a complete
response, sending it and request_finished). Only the view runs on the loop.
Any other middleware (function middleware, a class with its own
``__call__``/``__acall__``) leaves the request to Django's own handler.
"""

import asyncio

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import response_for_exception
from django.urls import set_urlconf
from django.utils.deprecation import MiddlewareMixin
from django.utils.log import log_response


class Chain:
    """Django's sync middleware chain, unrolled into its layers."""

    def __init__(self, handler, layers):
        self.handler = handler
        self.layers = layers

    @classmethod
    def load(cls):
        """The project's middleware as a Chain, or None when a middleware is
        not a plain MiddlewareMixin."""
        handler = BaseHandler()
        handler.load_middleware(is_async=False)
        layers = []
        # Each layer is convert_exception_to_response(instance), which keeps
        # the instance as __wrapped__; the innermost wraps _get_response.
        wrapper = handler._middleware_chain
        while True:
            inner = getattr(wrapper, "__wrapped__", None)
            if inner is None:
                return None
            if getattr(inner, "__func__", None) is BaseHandler._get_response:
                return cls(handler, layers)
            if not _plain(inner):
                return None
            layers.append(inner)
            wrapper = inner.get_response

    def enter(self, request):
        """Everything before the view, on the request's thread.

        Returns (response, depth, view): either a response (view None) or
        the view to await as (callable, callback, args, kwargs). depth is the
        innermost layer whose process_response applies.
        """
        handler = self.handler
        set_urlconf(settings.ROOT_URLCONF)
        for i, middleware in enumerate(self.layers):
            if hasattr(middleware, "process_request"):
                try:
                    response = middleware.process_request(request)
                except Exception as exc:
                    # Converted around layer i: layer i-1 sees the response.
                    return response_for_exception(request, exc), i - 1, None
                if response:
                    return response, i, None
        depth = len(self.layers) - 1
        try:
            callback, args, kwargs = handler.resolve_request(request)
            for method in handler._view_middleware:
                response = method(request, callback, args, kwargs)
                if response:
                    return self._complete(request, response, callback), depth, None
            view = handler.make_view_atomic(callback)
            if not iscoroutinefunction(view):
                # A middleware changed request.urlconf to a sync view.
                try:
                    response = view(request, *args, **kwargs)
                except Exception as exc:
                    response = handler.process_exception_by_middleware(exc, request)
                    if response is None:
                        raise
                return self._complete(request, response, callback), depth, None
        except Exception as exc:
            return response_for_exception(request, exc), depth, None
        return None, depth, (view, callback, args, kwargs)

    def leave(self, request, response, depth, callback=None, exc=None):
        """Everything after the view, on the request's thread: with a
        callback, what Django does inside the innermost layer after a view
        (exception middleware for exc, checks, template responses); then
        process_response from layer depth out."""
        handler = self.handler
        if callback is not None:
            try:
                if exc is not None:
                    response = handler.process_exception_by_middleware(exc, request)
                    if response is None:
                        raise exc
                response = self._complete(request, response, callback)
            except Exception as err:
                response = response_for_exception(request, err)
        for i in range(depth, -1, -1):
            middleware = self.layers[i]
            if hasattr(middleware, "process_response"):
                try:
                    response = middleware.process_response(request, response)
                except Exception as err:
                    response = response_for_exception(request, err)
        # What BaseHandler.get_response adds around the chain.
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        return response

    def _complete(self, request, response, callback):
        """A view's response as Django's _get_response finishes it."""
        handler = self.handler
        handler.check_response(response, callback)
        if hasattr(response, "render") and callable(response.render):
            for method in handler._template_response_middleware:
                response = method(request, response)
                handler.check_response(
                    response,
                    method,
                    name="%s.process_template_response" % (method.__self__.__class__.__name__,),
                )
            try:
                response = response.render()
            except Exception as exc:
                response = handler.process_exception_by_middleware(exc, request)
                if response is None:
                    raise
        if asyncio.iscoroutine(response):
            raise RuntimeError("Response is still a coroutine.")
        return response


def _plain(middleware):
    """Whether Django would only call the instance's sync methods, one by one."""
    if not isinstance(middleware, MiddlewareMixin):
        return False
    cls = type(middleware)
    if cls.__call__ is not MiddlewareMixin.__call__ or cls.__acall__ is not MiddlewareMixin.__acall__:
        return False
    for name in ("process_request", "process_response"):
        method = getattr(middleware, name, None)
        if method is not None and iscoroutinefunction(method):
            return False
    return True


def encode_headers(response):
    """A response's headers and cookies as ASGI header pairs, as Django's
    ASGIHandler.send_response encodes them."""
    headers = []
    for header, value in response.items():
        if isinstance(header, str):
            header = header.encode("ascii")
        if isinstance(value, str):
            value = value.encode("latin1")
        headers.append((bytes(header), bytes(value)))
    for cookie in response.cookies.values():
        headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
    return headers
