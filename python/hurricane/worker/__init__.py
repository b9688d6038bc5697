"""The Python side of the worker bridge: Django behind Hurricane's Go front end.

Modules: ``protocol`` (frames), ``config`` (what Go passes in), ``log``
(structured records to Go), ``data`` (the request lane), ``control`` (the
control lane), ``sync`` (Django's synchronous handler path), ``asgi`` (Django's
ASGI handler for async views), ``consume`` (AMQP messages for the handler
of ``hurricane consume``), ``main`` (startup, main loop, shutdown).
"""
