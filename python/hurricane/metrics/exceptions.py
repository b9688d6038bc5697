"""Errors of the custom metrics registry."""


class MetricIdAlreadyRegistered(Exception):
    """A metric with this code is in the registry already: codes are unique."""
