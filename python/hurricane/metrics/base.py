"""Base classes for metrics kept in ``hurricane.metrics.registry``.

A metric may carry a prometheus_client object in ``prometheus`` (a Counter,
Gauge or Histogram); it is then updated along with the stored value and
exported by the server's ``/metrics`` endpoint. prometheus_client is optional:
without it ``prometheus`` stays None and only the stored value changes.
"""

import inspect

# Unused since the Go server owns the request queue; kept for code that
# imports it from 1.6.2.
CONTINUOUS_LOOP_TASKS = 5


class HurricaneMetric:
    """A metric of the registry, identified by ``code``.

    The metrics endpoint calls ``get()`` of every registered metric before
    it exports prometheus_client's registry; with ``is_async`` set, ``get``
    is a coroutine function and is awaited.
    """

    is_async = False
    code = ""


class StoredMetric(HurricaneMetric):
    """A metric whose value is set from outside and kept in the registry."""

    value = None

    def __init__(self, code=None, initial=None):
        if code:
            self.code = code
        if initial:
            self.value = initial

    @classmethod
    def get_from_registry(cls):
        """The registered instance of this metric."""
        from . import registry

        return registry.get(cls.code)

    @classmethod
    def set(cls, value):
        cls.get_from_registry().value = value

    @classmethod
    def get(cls):
        return cls.get_from_registry().value


class CalculatedMetric(HurricaneMetric):
    """A metric computed on each ``get()`` by ``get_value``, which subclasses define."""

    def __init__(self, code=None):
        if code:
            self.code = code

    @classmethod
    def get_from_registry(cls):
        """The registered instance of this metric."""
        from . import registry

        return registry.get(cls.code)

    @classmethod
    def get(cls):
        # Subclasses written for 1.6.2 define get_value(self) as a plain
        # method, which get() calls with the class as self.
        if isinstance(inspect.getattr_static(cls, "get_value"), (classmethod, staticmethod)):
            return cls.get_value()
        return cls.get_value(cls)

    @classmethod
    def get_value(cls):
        raise NotImplementedError


class CounterMetric(StoredMetric):
    """A count that goes up and down; ``prometheus`` may be a Counter."""

    value = 0
    prometheus = None

    @classmethod
    def increment(cls):
        if cls.prometheus:
            cls.prometheus.inc()
        cls.set(cls.get() + 1)

    @classmethod
    def decrement(cls):
        # Only the stored value: a Prometheus counter never goes down.
        cls.set(cls.get() - 1)


class AverageMetric(StoredMetric):
    """The running mean of the values added; ``prometheus`` may be a Gauge."""

    counter = 0
    value = 0
    prometheus = None

    @classmethod
    def add_value(cls, value):
        metric = cls.get_from_registry()
        metric.counter += 1
        metric.value += (value - metric.value) / metric.counter
        if cls.prometheus:
            cls.prometheus.set(metric.value)


class ObservedMetric(StoredMetric):
    """The last value observed; ``prometheus`` may be a Histogram."""

    value = 0
    prometheus = None

    @classmethod
    def observe(cls, value):
        if cls.prometheus:
            cls.prometheus.observe(value)
        cls.set(value)
