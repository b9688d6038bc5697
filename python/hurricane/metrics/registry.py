"""The registry that holds one instance of each metric class, by code."""

from .exceptions import MetricIdAlreadyRegistered


class MetricsRegistry:
    """Metrics by their code; ``metrics`` maps each code to its instance.

    A metric's stored value lives on its registered instance, so the class
    methods of a metric read and write through the registry.
    """

    def __init__(self):
        self.metrics = {}

    def register(self, metric_cls):
        if metric_cls.code in self.metrics:
            raise MetricIdAlreadyRegistered("Metric ID (%s) is already registered." % metric_cls.code)
        self.metrics[metric_cls.code] = metric_cls()

    def unregister(self, metric_cls):
        """Remove the metric; one that is not registered is ignored."""
        self.metrics.pop(metric_cls.code, None)

    def get(self, code):
        return self.metrics[code]
