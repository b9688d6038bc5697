"""The built-in metrics of django-hurricane 1.6.2, kept for code that uses them.

The Go server measures requests, the queue, response times and sizes itself
and exports those families under names of its own, so these classes create
no prometheus_client objects: their ``prometheus`` is None, and nothing
about them appears on ``/metrics``. They are registered under their 1.6.2
codes all the same, so code that looks them up, updates them, or registers
a metric of its own under a taken code behaves as it did.
"""

from .base import AverageMetric, CalculatedMetric, CounterMetric, ObservedMetric, StoredMetric


class RequestCounterMetric(CounterMetric):
    """Defines request counter metric with corresponding metric code."""

    code = "request_counter"


class ResponseTimeAverageMetric(AverageMetric):
    """Defines response time average metric with corresponding metric code."""

    code = "response_time_average"


class RequestQueueLengthMetric(CalculatedMetric):
    """Defines request queue length metric with corresponding metric code."""

    code = "request_queue_length"
    prometheus = None

    def get_value(self):
        # The queue is in Go, which exports its length; the worker holds none.
        return 0


class StartupTimeMetric(StoredMetric):
    code = "startup_time"


class HealthMetric(StoredMetric):
    code = "health"


class ReadinessMetric(StoredMetric):
    code = "readiness"


class ResponseTimeMetric(ObservedMetric):
    """The time to generate a response in seconds."""

    code = "response_time_seconds"


class ResponseSizeMetric(ObservedMetric):
    """The response size in bytes."""

    code = "response_size_bytes"


class PathCounterMetric(CounterMetric):
    """The number of requests to a specific path."""

    code = "path_requests_total"

    @classmethod
    def increment(cls, method, path):
        if cls.prometheus:
            cls.prometheus.labels(method, path).inc()
        cls.set(cls.get() + 1)


class InfoMetrics(StoredMetric):
    """Python package info of Hurricane."""

    code = "hurricane"
    prometheus = None

    @classmethod
    def set(cls, value):
        if cls.prometheus:
            cls.prometheus.info(value)
        cls.value = value
