"""Metrics the app defines itself: a prometheus_client counter and a
1.6.2-style async custom metric (both must reach Go's /metrics)."""
import asyncio

from prometheus_client import Counter, Gauge

from hurricane.metrics import registry
from hurricane.metrics.base import CalculatedMetric

VISITS = Counter("e2e_visits", "Visits of /visit.")
ASYNC_VALUE = Gauge("e2e_async_value", "Set by an async custom metric before each scrape.")


class AsyncValueMetric(CalculatedMetric):
    code = "e2e_async_value"
    is_async = True

    @classmethod
    async def get(cls):
        await asyncio.sleep(0)
        ASYNC_VALUE.set(42)
        return 42


registry.register(AsyncValueMetric)
