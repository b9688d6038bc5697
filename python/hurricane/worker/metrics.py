"""The app's own Prometheus metrics, for the server's ``/metrics`` (control op 11).

Go exports the server's metrics and its own process and runtime metrics; the
worker adds what the app registered with prometheus_client, after calling
``get()`` of every metric in ``hurricane.metrics.registry`` as 1.6.2's
metrics handler did, so calculated metrics refresh their gauges first.
"""

import asyncio
import inspect
import threading

from . import log

# How long one async metric may take; a hung coroutine is cancelled rather
# than holding up the slow thread, and with it checks and migrations.
ASYNC_GET_TIMEOUT = 5.0

_prepare_lock = threading.Lock()
_prepared = False


def collect(worker):
    """Refresh the hurricane metrics, then return prometheus_client's
    default registry in the text format as {"text": ...}."""
    refresh(worker)
    try:
        import prometheus_client
    except ImportError:
        return {"text": ""}
    _prepare(prometheus_client)
    from prometheus_client.exposition import generate_latest

    return {"text": generate_latest(prometheus_client.REGISTRY).decode("utf-8")}


def refresh(worker):
    """Call get() of every registered metric; one that fails is logged and skipped."""
    from hurricane.metrics import registry

    for code, metric in list(registry.metrics.items()):
        try:
            value = metric.get()
            if inspect.isawaitable(value):
                _await(worker, value)
        except Exception as exc:
            log.warn("metric get failed", code=code, error="%s: %s" % (type(exc).__name__, exc))


def _await(worker, awaitable):
    bounded = asyncio.wait_for(awaitable, ASYNC_GET_TIMEOUT)
    app = getattr(worker, "async_app", None)
    if app is None:
        return asyncio.run(bounded)
    # On the app's loop, where its async views run, so a metric may share
    # their connections and locks. wait_for cancels it in time; the extra
    # second only covers a loop too busy to notice.
    return app.call(bounded, timeout=ASYNC_GET_TIMEOUT + 1)


def _prepare(prometheus_client):
    """Once: drop the collectors that would duplicate Go's process metrics,
    and the _created series, which Go's families do not have either."""
    global _prepared
    with _prepare_lock:
        if _prepared:
            return
        for name in ("PROCESS_COLLECTOR", "PLATFORM_COLLECTOR", "GC_COLLECTOR"):
            collector = getattr(prometheus_client, name, None)
            if collector is None:
                continue
            try:
                prometheus_client.REGISTRY.unregister(collector)
            except KeyError:
                pass
        disable = getattr(prometheus_client, "disable_created_metrics", None)
        if disable is not None:
            disable()
        _prepared = True
