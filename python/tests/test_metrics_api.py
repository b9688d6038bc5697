"""hurricane.metrics: the custom metrics API of django-hurricane 1.6.2."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from hurricane.metrics import (
    AverageMetric,
    CalculatedMetric,
    CounterMetric,
    MetricIdAlreadyRegistered,
    ObservedMetric,
    RequestCounterMetric,
    RequestQueueLengthMetric,
    StoredMetric,
    registry,
)

BUILTIN_CODES = [
    "request_counter",
    "request_queue_length",
    "response_time_average",
    "startup_time",
    "health",
    "readiness",
    "response_time_seconds",
    "response_size_bytes",
    "path_requests_total",
    "hurricane",
]


@pytest.fixture
def register():
    """Register metric classes for one test, and remove them afterwards."""
    added = []

    def add(cls):
        registry.register(cls)
        added.append(cls)
        return cls

    yield add
    for cls in added:
        registry.unregister(cls)


@pytest.fixture
def prom():
    """A prometheus_client registry of the test's own."""
    return CollectorRegistry()


def test_builtins_are_registered_without_prometheus_objects():
    # Go exports these families itself, under names of its own.
    for code in BUILTIN_CODES:
        assert getattr(registry.get(code), "prometheus", None) is None, code


def test_duplicate_code_is_refused():
    with pytest.raises(MetricIdAlreadyRegistered) as info:
        registry.register(RequestCounterMetric)
    assert str(info.value) == "Metric ID (request_counter) is already registered."


def test_unregistering_an_unknown_metric_is_silent():
    class Unknown(StoredMetric):
        code = "test_never_registered"

    registry.unregister(Unknown)
    assert "test_never_registered" not in registry.metrics


def test_stored_metric_keeps_its_value_in_the_registry(register):
    class Stored(StoredMetric):
        code = "test_stored"

    register(Stored)
    assert Stored.get() is None
    Stored.set({"a": 1})
    assert Stored.get() == {"a": 1}
    assert registry.get("test_stored").value == {"a": 1}
    assert Stored.value is None  # on the registered instance, not the class


def test_stored_metric_code_and_initial_value():
    metric = StoredMetric(code="test_initial", initial=5)
    assert (metric.code, metric.value) == ("test_initial", 5)


def test_calculated_metric_needs_get_value():
    with pytest.raises(NotImplementedError):
        CalculatedMetric.get()


def test_calculated_metric_as_written_for_1_6_2(register):
    class Plain(CalculatedMetric):
        code = "test_calculated_plain"

        def get_value(self):
            return self.code.upper()

    class ClassMethod(CalculatedMetric):
        code = "test_calculated_classmethod"

        @classmethod
        def get_value(cls):
            return 7

    register(Plain)
    register(ClassMethod)
    assert Plain.get() == "TEST_CALCULATED_PLAIN"
    assert registry.get("test_calculated_plain").get() == "TEST_CALCULATED_PLAIN"
    assert ClassMethod.get() == 7


def test_request_queue_length_is_zero():
    assert RequestQueueLengthMetric.get() == 0


def test_counter_metric(register, prom):
    class Requests(CounterMetric):
        code = "test_counter"
        prometheus = Counter("test_counter", "Counted.", registry=prom)

    register(Requests)
    Requests.increment()
    Requests.increment()
    Requests.decrement()
    assert Requests.get() == 1
    # A Prometheus counter only goes up.
    assert prom.get_sample_value("test_counter_total") == 2


def test_counter_metric_without_prometheus(register):
    class Plain(CounterMetric):
        code = "test_counter_plain"

    register(Plain)
    Plain.increment()
    Plain.increment()
    Plain.decrement()
    assert Plain.get() == 1


def test_average_metric(register, prom):
    class Average(AverageMetric):
        code = "test_average"
        prometheus = Gauge("test_average", "Averaged.", registry=prom)

    register(Average)
    for v in (2, 4, 9):
        Average.add_value(v)
    assert Average.get() == pytest.approx(5)
    assert registry.get("test_average").counter == 3
    assert prom.get_sample_value("test_average") == pytest.approx(5)


def test_observed_metric(register, prom):
    class Observed(ObservedMetric):
        code = "test_observed"
        prometheus = Histogram("test_observed", "Observed.", registry=prom)

    register(Observed)
    Observed.observe(0.25)
    Observed.observe(0.5)
    assert Observed.get() == 0.5
    assert prom.get_sample_value("test_observed_count") == 2
    assert prom.get_sample_value("test_observed_sum") == 0.75


def test_works_without_prometheus_client():
    """prometheus_client is an optional extra: with it hidden, importing and
    using the metrics, and the worker's collector, still work."""
    script = textwrap.dedent("""
        import sys
        sys.modules["prometheus_client"] = None  # as if not installed
        import hurricane.metrics as m
        from hurricane.worker.metrics import collect

        assert sys.modules["prometheus_client"] is None
        for code, metric in m.registry.metrics.items():
            assert getattr(metric, "prometheus", None) is None, code

        class Hits(m.CounterMetric):
            code = "hits"

        class Mean(m.AverageMetric):
            code = "mean"

        m.registry.register(Hits)
        m.registry.register(Mean)
        Hits.increment()
        Mean.add_value(4)
        m.PathCounterMetric.increment("GET", "/")
        m.InfoMetrics.set({"version": "x"})
        assert (Hits.get(), Mean.get(), m.PathCounterMetric.get()) == (1, 4, 1)
        assert collect(None) == {"text": ""}
        print("ok")
    """)
    _run_python(script)


def test_import_does_not_load_prometheus_client():
    _run_python("import sys, hurricane.metrics; assert 'prometheus_client' not in sys.modules; print('ok')")


def _run_python(script):
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
