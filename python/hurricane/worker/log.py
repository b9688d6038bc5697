"""Structured records from the worker to Go.

The worker's own diagnostics go as JSON lines to a pipe Go passes in (never
to stdout or stderr, which belong to the app and are re-logged line by line).
Go re-logs each record with the worker's slot. The project's LOGGING
configuration is left alone.
"""

import json
import os
import sys
import threading
import time

_fd = None
_lock = threading.Lock()
_LEVELS = {"debug": 0, "info": 1, "warn": 2, "error": 3}
_min_level = 0


def setup(fd, level="debug"):
    """Write records to fd, those below level (Go's log level) not at all."""
    global _fd, _min_level
    _fd = fd
    _min_level = _LEVELS.get(level, 0)


def enabled(level):
    return _LEVELS.get(level, 3) >= _min_level


def record(level, msg, **attrs):
    """Send one record: level is debug, info, warn or error."""
    if _LEVELS.get(level, 3) < _min_level:
        return
    attrs["level"] = level
    attrs["msg"] = msg
    attrs["time"] = time.time()
    line = (json.dumps(attrs, default=str, separators=(",", ":")) + "\n").encode()
    with _lock:
        if _fd is None:
            sys.__stderr__.write(line.decode())
            return
        try:
            os.write(_fd, line)
        except OSError:
            pass


def debug(msg, **attrs):
    record("debug", msg, **attrs)


def info(msg, **attrs):
    record("info", msg, **attrs)


def warn(msg, **attrs):
    record("warn", msg, **attrs)


def error(msg, **attrs):
    record("error", msg, **attrs)


def fatal(msg, hint, **attrs):
    """A startup failure Go reports to the user: msg says what, hint what to do."""
    record("error", msg, fatal=True, hint=hint, **attrs)
