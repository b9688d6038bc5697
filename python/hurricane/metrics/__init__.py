"""Custom metrics, as django-hurricane 1.6.2 defined them.

Subclass one of the base classes, give it a unique ``code``, and register it
in ``registry``; the server calls ``get()`` of every registered metric before
it exports prometheus_client's default registry on ``/metrics``. Give a
metric a prometheus_client object in ``prometheus`` to have it exported
(``pip install hurricane-server[metrics]``); without prometheus_client
everything here still works, and ``/metrics`` has the server's metrics only.
"""

from .base import (
    AverageMetric,
    CalculatedMetric,
    CounterMetric,
    HurricaneMetric,
    ObservedMetric,
    StoredMetric,
)
from .exceptions import MetricIdAlreadyRegistered
from .registry import MetricsRegistry
from .requests import (
    HealthMetric,
    InfoMetrics,
    PathCounterMetric,
    ReadinessMetric,
    RequestCounterMetric,
    RequestQueueLengthMetric,
    ResponseSizeMetric,
    ResponseTimeAverageMetric,
    ResponseTimeMetric,
    StartupTimeMetric,
)

registry = MetricsRegistry()

registry.register(RequestCounterMetric)
registry.register(RequestQueueLengthMetric)
registry.register(ResponseTimeAverageMetric)
registry.register(StartupTimeMetric)
registry.register(HealthMetric)
registry.register(ReadinessMetric)
registry.register(ResponseTimeMetric)
registry.register(ResponseSizeMetric)
registry.register(PathCounterMetric)
registry.register(InfoMetrics)
