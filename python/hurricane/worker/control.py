"""The control lane: health, statistics, settings, metrics and shutdown.

It has its own connection and thread, so request load cannot starve it: a
saturated worker still answers within milliseconds (a thread waiting for the
GIL gets it within the 5 ms switch interval); only a hung worker does not.
"""

import json
import os
import queue
import threading
import time
import traceback

from . import checks, consume, log, metrics, protocol


class ControlLane:
    def __init__(self, sock, worker):
        self.sock = sock
        self.worker = worker
        self.frames = protocol.FrameBuffer()
        self.send_mu = threading.Lock()
        self.slow = queue.Queue()

    def start(self):
        threading.Thread(target=self.run, name="hurricane-control", daemon=True).start()
        threading.Thread(target=self._run_slow, name="hurricane-checks", daemon=True).start()

    def _run_slow(self):
        """Checks, database and migration queries and metrics, one at a time."""
        while True:
            rid, fn, args = self.slow.get()
            try:
                self.reply(rid, protocol.STATUS_OK, fn(**args))
            except consume.HandlerError as exc:
                # "message" too: the handler errors of hurricane consume.
                self.reply(rid, protocol.STATUS_ERROR, {
                    "error": exc.message, "message": exc.message, "kind": "error", "traceback": "", "hint": exc.hint,
                })
            except Exception as exc:
                self.reply(rid, protocol.STATUS_ERROR, checks.describe_exception(exc))

    def run(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                # Go is gone: nothing left to serve for.
                os._exit(0)
            self.frames.feed(data)
            for ftype, _flags, rid, payload in self.frames.frames():
                if ftype != protocol.CONTROL_REQUEST or not payload:
                    log.warn("unexpected frame on the control lane", type=ftype)
                    continue
                self.handle(rid, payload[0], payload[1:])

    def reply(self, rid, status, body):
        data = json.dumps(body, default=str, separators=(",", ":")).encode()
        frame = protocol.frame(protocol.CONTROL_RESPONSE, rid, bytes([status]) + data)
        with self.send_mu:
            self.sock.sendall(frame)

    def handle(self, rid, op, raw):
        try:
            args = json.loads(raw) if raw else {}
            if op == protocol.OP_PING:
                self.reply(rid, protocol.STATUS_OK, {})
            elif op == protocol.OP_SPILL:
                self.worker.spill()
            elif op == protocol.OP_STATS:
                self.reply(rid, protocol.STATUS_OK, self.worker.stats())
            elif op == protocol.OP_SETTINGS:
                self.reply(rid, protocol.STATUS_OK, settings_snapshot(args.get("names", [])))
            elif op == protocol.OP_PROBE:
                # On this thread: one GIL hand-off less for a probe under
                # load. Only user checks can block here (the database check
                # has its own deadline), and a worker whose checks hang is
                # what liveness should catch.
                self.reply(rid, protocol.STATUS_OK, checks.probe(self.worker, **args))
            elif op == protocol.OP_FIND_STATIC:
                self.reply(rid, protocol.STATUS_OK, checks.find_static(**args))
            elif op == protocol.OP_CHECKS:
                self.slow.put((rid, checks.run_checks, args))
            elif op == protocol.OP_DATABASE:
                self.slow.put((rid, checks.check_databases, args))
            elif op == protocol.OP_MIGRATE:
                self.slow.put((rid, checks.pending_migrations, args))
            elif op == protocol.OP_METRICS:
                # App code runs in get(): never on this thread.
                self.slow.put((rid, metrics.collect, {"worker": self.worker}))
            elif op == protocol.OP_HANDLER:
                # Imports project code: never on this thread.
                self.slow.put((rid, consume.describe_handler, args))
            elif op == protocol.OP_SHUTDOWN:
                self.shutdown(rid, float(args.get("timeout", 10)))
            else:
                self.reply(rid, protocol.STATUS_ERROR, {"error": "unknown control operation %d" % op})
        except Exception as exc:
            log.error("control operation failed", op=op, traceback=traceback.format_exc())
            self.reply(rid, protocol.STATUS_ERROR, {"error": str(exc)})

    def shutdown(self, rid, timeout):
        deadline = time.monotonic() + timeout
        while self.worker.stats()["active"] and time.monotonic() < deadline:
            time.sleep(0.01)
        err = self.worker.lifespan("shutdown")
        if err:
            log.error("lifespan shutdown failed", error=err)
        self.reply(rid, protocol.STATUS_OK, {})
        log.debug("worker shut down")
        os._exit(0)


def settings_snapshot(names):
    """The named Django settings that are set, as JSON-safe values."""
    from django.conf import settings

    out = {}
    for name in names:
        if hasattr(settings, name):
            out[name] = _jsonable(getattr(settings, name))
    return out


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
