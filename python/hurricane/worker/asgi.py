"""Async views: Django's ASGI handler on an event loop of their own.

The loop runs in one thread; the data lane's reader hands requests, body
chunks, credits and disconnects over with ``call_soon_threadsafe``. At most
``limit`` requests run at once, and while the worker is busy at most
FAIR_SHARE, started in arrival order; the rest wait and count as queued.
"""

import asyncio
import threading
import time
import traceback
from collections import deque

from . import log, protocol, routes
from .loop import new_loop
from .stream import INITIAL_CREDIT


# While the worker is busy, FAIR_SHARE async requests run at once and the
# rest start in arrival order as they finish. Django's ASGI handler hops
# between the loop and its sync thread several times per request; with
# every request admitted at once, the hops of all of them interleave and
# some finish far later than others (/ahello under 64 connections: p99 more
# than twice the median; with the fair share 143 -> 106 ms at the same
# req/s). A worker that is not busy (less than BUSY of a CPU over the last
# RECHECK) admits more at once: its running requests wait on I/O, a long
# poll or a stream, and holding new ones back would only idle it. A request
# that has waited MAX_WAIT starts anyway.
FAIR_SHARE = 16
BUSY = 0.8
RECHECK = 0.01
MAX_WAIT = 1.0


class AsyncApp:
    def __init__(self, limit):
        self.handler = routes.asgi_handler_class()()
        self.limit = max(1, limit)
        # Each counter has one writer thread: submitted the lane's reader,
        # the others the loop.
        self.submitted = 0
        self.started = 0
        self.active = 0
        self.loop = new_loop()
        self.queue = deque()  # (arrival time, stream) not started yet
        self.recheck = None  # the pending RECHECK timer
        self.mark = (0.0, 0.0)  # (monotonic, process CPU time) at the last look
        self.idle = False  # whether the worker was not busy then
        self.lifespan_supported = None
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), name="hurricane-loop", daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def call(self, coro, timeout=None):
        """Run a coroutine on the loop from another thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # ---- lifespan

    async def lifespan(self, phase):
        """Send lifespan.<phase>; an app that rejects the scope is served
        without lifespan, as the ASGI spec says. Returns an error text or None."""
        if self.lifespan_supported is False:
            return None
        sent = False
        result = {}

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "lifespan." + phase}
            await asyncio.Future()  # never: the app finishes after answering

        async def send(message):
            result["type"] = message["type"]
            result["message"] = message.get("message", "")

        try:
            await self.handler({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
        except Exception as exc:
            if not result:
                self.lifespan_supported = False
                log.debug("app does not support lifespan; serving without it", reason=str(exc))
                return None
            return "lifespan %s failed: %s" % (phase, exc)
        self.lifespan_supported = True
        if result.get("type", "").endswith(".failed"):
            return result["message"] or ("lifespan %s failed" % phase)
        return None

    @property
    def waiting(self):
        """Async requests received whose view has not started."""
        return max(0, self.submitted - self.started)

    # ---- requests (called on the data lane's reader thread)

    def submit(self, st):
        st.credit = INITIAL_CREDIT
        st.cond = _AsyncState()
        self.submitted += 1
        self.loop.call_soon_threadsafe(self._start, st)

    def route(self, st, ftype, flags, payload):
        self.loop.call_soon_threadsafe(self._on_frame, st, ftype, flags, payload)

    # ---- on the loop

    def _start(self, st):
        self.queue.append((time.monotonic(), st))
        self._admit()

    def _admit(self):
        """Start waiting requests: up to FAIR_SHARE at once, more while the
        worker has room (_has_room), never more than limit."""
        queue = self.queue
        while queue and self.active < self.limit:
            if self.active >= FAIR_SHARE and not self._has_room(queue[0][0]):
                if self.recheck is None:
                    self.recheck = self.loop.call_later(RECHECK, self._recheck)
                return
            st = queue.popleft()[1]
            self.active += 1
            st.task = self.loop.create_task(self._serve(st))

    def _recheck(self):
        self.recheck = None
        self._admit()

    def _has_room(self, since):
        """Whether a request that arrived at since may start beyond the fair
        share: the worker was not busy over the last RECHECK (a look after
        a longer pause has no recent window and starts one), or it waited
        MAX_WAIT."""
        now = time.monotonic()
        then, cpu_then = self.mark
        if now - then >= RECHECK:
            cpu = time.process_time()
            self.idle = now - then < 2 * RECHECK and cpu - cpu_then < (now - then) * BUSY
            self.mark = (now, cpu)
        return self.idle or now - since >= MAX_WAIT

    def _on_frame(self, st, ftype, flags, payload):
        state = st.cond
        if ftype == protocol.HTTP_BODY:
            if payload:
                st.chunks.append(payload)
            st.more = bool(flags & protocol.MORE_BODY)
            if not flags & protocol.WITH_REQUEST:
                st.reading = False  # it answers the BODY_READ
        elif ftype == protocol.PIECE:
            st.chunks.append(payload)  # the rest of the chunk follows
        elif ftype == protocol.BODY_ACK:
            st.credit += int.from_bytes(payload, "big")
        elif ftype == protocol.HTTP_DISCONNECT:
            st.disconnected = True
            st.more = False
        state.wake()

    async def _serve(self, st):
        self.started += 1
        try:
            await self._handle(st)
        finally:
            self.active -= 1
            st.lane.streams.pop(st.sid, None)
            self._admit()

    async def _handle(self, st):
        lane = st.lane
        sid = st.sid
        state = st.cond
        first = [True]
        started = {}

        def ask():
            # The next chunk is asked for as soon as the last one is handed
            # out (see stream.Stream.read_chunk).
            if st.more and not st.reading and not st.chunks:
                st.reading = True
                lane.send_now(protocol.frame(protocol.BODY_READ, sid))

        async def receive():
            if first[0]:
                first[0] = False
                ask()
                # A body in a request slot may have come already.
                return {"type": "http.request", "body": st.req.body, "more_body": st.more or bool(st.chunks)}
            while True:
                if st.chunks:
                    body = st.chunks.popleft()
                    more = st.more or bool(st.chunks)
                    ask()
                    return {"type": "http.request", "body": body, "more_body": more}
                if st.disconnected:
                    return {"type": "http.disconnect"}
                ask()
                await state.wait()

        async def send(message):
            kind = message["type"]
            if kind == "http.response.start":
                if started:
                    raise RuntimeError("http.response.start sent twice")
                started["status"] = message["status"]
                started["headers"] = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
                return
            if kind != "http.response.body":
                return
            if st.disconnected:
                raise OSError("client disconnected")
            body = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if "sent" not in started:
                if "status" not in started:
                    raise RuntimeError("http.response.body before http.response.start")
                started["sent"] = True
                st.credit -= len(body)
                route = scope.get(routes.ROUTE_KEY)
                lane.send_now(protocol.encode_response_start(sid, started["status"], started["headers"], body, more, route))
                return
            while st.credit <= 0 and not st.disconnected:
                await state.wait()
            if st.disconnected:
                raise OSError("client disconnected")
            st.credit -= len(body)
            lane.send_body(sid, body, more)

        def finish(status, headers, body):
            # A complete response in one message, from any thread.
            started["status"] = status
            started["sent"] = True
            if not st.disconnected:
                route = scope.get(routes.ROUTE_KEY)
                lane.send_now(protocol.encode_response_start(sid, status, headers, body, False, route))

        scope = st.req.scope()
        scope[routes.FINISH_KEY] = finish
        try:
            await self.handler(scope, receive, send)
        except Exception:
            log.error("request failed in the worker", traceback=traceback.format_exc())
            if "sent" in started:
                lane.send_now(protocol.frame(protocol.RESPONSE_ABORT, sid, b"response failed"))
            else:
                lane.send_now(protocol.encode_response_start(sid, 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"))
            return
        if "sent" not in started and not st.disconnected:
            # The app returned without a complete response.
            lane.send_now(protocol.encode_response_start(sid, 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"))


class _AsyncState:
    """A reusable wake-up for one stream's coroutine."""

    __slots__ = ("futs",)

    def __init__(self):
        self.futs = []

    async def wait(self):
        fut = asyncio.get_running_loop().create_future()
        self.futs.append(fut)
        try:
            await fut
        finally:
            if fut in self.futs:
                self.futs.remove(fut)

    def wake(self):
        futs, self.futs = self.futs, []
        for fut in futs:
            if not fut.done():
                fut.set_result(None)
