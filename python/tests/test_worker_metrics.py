"""Control op 11: the app's Prometheus metrics, as Go scrapes them."""

import asyncio
import json
import socket
import threading

import pytest
from prometheus_client import REGISTRY, Counter, Gauge
from prometheus_client.parser import text_string_to_metric_families

from hurricane.metrics import CalculatedMetric, registry
from hurricane.worker import protocol
from hurricane.worker.control import ControlLane
from hurricane.worker.main import Worker
from hurricane.worker.metrics import collect


@pytest.fixture
def cleanup():
    """Collectors and hurricane metrics to remove after the test."""
    collectors, metrics = [], []
    yield collectors, metrics
    for c in collectors:
        REGISTRY.unregister(c)
    for m in metrics:
        registry.unregister(m)


def async_gauge(name, cleanup):
    """A registered async hurricane metric whose get() sets a Gauge, and
    remembers the loop and thread it ran on."""
    gauge = Gauge(name, "Set by an async hurricane metric.")

    class Metric(CalculatedMetric):
        code = name
        is_async = True
        seen = {}

        @classmethod
        async def get(cls):
            await asyncio.sleep(0)
            cls.seen["loop"] = asyncio.get_running_loop()
            cls.seen["thread"] = threading.current_thread().name
            gauge.set(42)

    cleanup[0].append(gauge)
    cleanup[1].append(Metric)
    registry.register(Metric)
    return Metric


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_collect_exports_app_metrics_only(cleanup):
    counter = Counter("test_collect_orders", "Orders placed.")
    cleanup[0].append(counter)
    counter.inc(3)
    async_gauge("test_collect_async_gauge", cleanup)

    text = collect(Worker(None))["text"]

    found = families(text)
    assert found["test_collect_orders"].samples[0].value == 3
    assert found["test_collect_async_gauge"].samples[0].value == 42
    # Go exports its own process and runtime metrics.
    for line in text.splitlines():
        name = line.split()[2] if line.startswith("#") else line
        assert not name.startswith(("process_", "python_gc_", "python_info")), line
    assert "_created" not in text


def test_async_metric_runs_on_the_worker_loop(django_setup, cleanup):
    from hurricane.worker.asgi import AsyncApp

    worker = Worker(None)
    worker.async_app = AsyncApp(10)
    metric = async_gauge("test_loop_async_gauge", cleanup)

    text = collect(worker)["text"]

    assert families(text)["test_loop_async_gauge"].samples[0].value == 42
    assert metric.seen["loop"] is worker.async_app.loop


def test_failing_metric_is_logged_and_skipped(cleanup, log_records):
    class Broken(CalculatedMetric):
        code = "test_broken"

        def get_value(self):
            raise ValueError("no data")

    cleanup[1].append(Broken)
    registry.register(Broken)
    async_gauge("test_after_broken_gauge", cleanup)

    text = collect(Worker(None))["text"]

    assert families(text)["test_after_broken_gauge"].samples[0].value == 42
    warnings = [r for r in log_records() if r["level"] == "warn"]
    assert [(r["code"], r["error"]) for r in warnings] == [("test_broken", "ValueError: no data")]


def test_control_lane_scrapes_off_the_control_thread(cleanup):
    metric = async_gauge("test_control_async_gauge", cleanup)
    go, worker_sock = socket.socketpair()
    lane = ControlLane(worker_sock, Worker(None))
    # Only the slow thread: the reader exits the process when Go goes away.
    threading.Thread(target=lane._run_slow, daemon=True).start()
    try:
        lane.handle(7, protocol.OP_METRICS, b"{}")
        go.settimeout(10)
        fb = protocol.FrameBuffer()
        frames = []
        while not frames:
            fb.feed(go.recv(1 << 20))
            frames.extend(fb.frames())
    finally:
        go.close()
        worker_sock.close()
    ftype, _flags, rid, payload = frames[0]
    assert (ftype, rid, payload[0]) == (protocol.CONTROL_RESPONSE, 7, protocol.STATUS_OK)
    text = json.loads(payload[1:])["text"]
    assert families(text)["test_control_async_gauge"].samples[0].value == 42
    assert metric.seen["thread"] != threading.current_thread().name
