"""The loggers 1.6.2 handlers import (``from hurricane.amqp import logger``).

Records go to the worker's structured log, which Go re-logs with the
worker's slot, instead of to the project's logging configuration.
"""

from hurricane.worker import log


class _Logger:
    """The subset of the logging/structlog API handlers call, with
    %-style arguments as the logging module takes them."""

    def __init__(self, name):
        self.name = name

    def _record(self, level, msg, args, attrs):
        if not log.enabled(level):
            return
        msg = str(msg)
        if args:
            try:
                msg = msg % args
            except (TypeError, ValueError):
                msg = " ".join([msg] + [str(a) for a in args])
        attrs.pop("exc_info", None)
        attrs.pop("stack_info", None)
        attrs.setdefault("logger", self.name)
        log.record(level, msg, **attrs)

    def debug(self, msg, *args, **attrs):
        self._record("debug", msg, args, attrs)

    def info(self, msg, *args, **attrs):
        self._record("info", msg, args, attrs)

    def warning(self, msg, *args, **attrs):
        self._record("warn", msg, args, attrs)

    warn = warning

    def error(self, msg, *args, **attrs):
        self._record("error", msg, args, attrs)

    critical = error

    def exception(self, msg, *args, **attrs):
        import traceback

        attrs.setdefault("traceback", traceback.format_exc())
        self._record("error", msg, args, attrs)


logger = _Logger("hurricane.amqp.general")
metrics_log = _Logger("hurricane.amqp.metrics")
