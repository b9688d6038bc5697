"""The data lane: HTTP requests from Go, run by a leader/follower thread set.

One thread at a time is the *leader*: it reads every queued frame from the
socket, runs sync views inline one after the other and sends all their
responses with one write. That removes the per-request thread hand-offs that
dominate the cost of a small view (see docs/protocol.md, "Threading"). When a
view blocks, leadership passes to another thread, up to ``threads`` of them,
so I/O-bound sync views still run concurrently: on Go's ``spill`` control
message when Go has seen no progress from this worker for a moment although
requests are outstanding, and when a view that waits for the bridge (more
body, response credit, region slots) has run for WAIT_LEAD with requests
queued; until then the waiting leader reads the socket itself. A request
whose body is still on its way hands the queue on before its view starts, so
the bodies of queued uploads travel at the same time. Nothing in Python
polls. Async views are handed to the event loop.
"""

import os
import socket
import threading
import time
from collections import deque

from . import log, protocol
from .stream import Stream

# A leader working through a long batch sends what it has at least this often.
FLUSH_EVERY = 0.001


# A view that has run this long may be joined by another thread even while
# it computes, so one slow view does not hold up every other request.
LONG_VIEW = 0.05


# A leader waiting on its stream (request body, credit, region slots) hands
# queued requests to another thread once its view has run this long.
WAIT_LEAD = 0.005


class _Thread:
    """A thread of the lane: its wake-up lock and what it is running."""

    __slots__ = ("wake", "busy", "clock", "stat", "since", "ran", "queued", "waiting", "bridged")

    def __init__(self):
        self.wake = threading.Lock()
        self.wake.acquire()
        self.busy = 0  # sequence number of the view it runs, 0 when idle
        self.clock = None  # its CPU-time clock, once it runs
        self.stat = None  # its /proc schedstat, open once it runs (Linux)
        self.since = 0.0  # when the current view started (monotonic)
        self.ran = 0.0  # its CPU time then
        self.queued = 0.0  # its time runnable but waiting for a CPU then
        self.waiting = None  # its condition while it waits in wait_locked
        self.bridged = False  # whether it is in wait_locked

    def started(self):
        """Called by the thread itself as it starts a view."""
        if self.clock is None:
            try:
                self.clock = time.pthread_getcpuclockid(threading.get_ident())
            except (AttributeError, OSError):
                self.clock = False  # no per-thread clocks: assume blocked
            try:
                self.stat = os.open("/proc/thread-self/schedstat", os.O_RDONLY | os.O_CLOEXEC)
            except (AttributeError, OSError):
                self.stat = None  # CPU time alone, then
        self.since = time.monotonic()
        self.ran, self.queued = self._times()

    def _times(self):
        """Its CPU time and the time it was runnable but waited for a CPU,
        in seconds (the second 0 where the kernel does not tell)."""
        if self.stat is not None:
            try:
                ran, queued, _ = os.pread(self.stat, 64, 0).split()
                return int(ran) / 1e9, int(queued) / 1e9
            except (OSError, ValueError):
                pass
        if self.clock:
            return time.clock_gettime(self.clock), 0.0
        return 0.0, 0.0

    def blocked(self):
        """Whether the view it runs is waiting (on I/O, a sleep, a lock)
        rather than computing, or has run long enough to be joined anyway.
        A second thread joining a view that computes only fights it for the
        GIL: each hand-over costs a wake-up, and both finish later. Time the
        thread was runnable but had no CPU counts as computing: on a busy
        machine (Go, the client, other workers) a view that computes gets
        half a CPU or less, and counting that as waiting spilled requests to
        threads that only made the queue for the CPU longer."""
        wall = time.monotonic() - self.since
        if wall >= LONG_VIEW or not (self.clock or self.stat is not None):
            return True
        try:
            ran, queued = self._times()
        except OSError:
            return True
        slept = wall - (ran - self.ran) - (queued - self.queued)
        return slept > wall / 2


class Lane:
    """The leader/follower machinery, for HTTP requests (DataLane) and AMQP
    messages (consume.ConsumeLane). A subclass queues work items in
    ``pending`` from ``_dispatch`` and runs one in ``run_item``."""

    def __init__(self, sock, threads):
        self.sock = sock
        self.max_threads = max(1, threads)
        self.frames = protocol.FrameBuffer()
        self.pending = deque()
        self.mu = threading.Lock()
        # Notified when the socket is free to read. A view waiting for its
        # stream (body, credit, a disconnect) waits on its own thread's
        # condition instead, so one frame wakes one thread: a wake-up costs
        # ~150 µs on some machines, and waking every waiter for every frame
        # cost more than the frames.
        self.changed = threading.Condition(self.mu)
        self.waiting = []  # conditions of the threads in wait_locked
        self.reading = False  # a thread is reading the socket; guarded by mu
        self.send_mu = threading.Lock()
        self.out = []
        self.region = None  # a region.BodyRegion for large response bodies
        self.leader = None
        self.idle = []
        self.nthreads = 0
        self.seq = 0
        self.active = 0  # sync views running, guarded by mu
        self.closed = threading.Event()
        self.local = threading.local()

    # ---- sending

    def defer(self, data):
        """Queue a frame for the leader's next batched write."""
        with self.send_mu:
            self.out.append(data)

    def send_now(self, data, tail=b""):
        """Write a frame now, after anything queued before it. tail, a large
        payload whose header ends data, is written without being copied."""
        with self.send_mu:
            if self.out:
                self.out.append(data)
                data = b"".join(self.out)
                self.out.clear()
            try:
                if tail:
                    _send_parts(self.sock, data, tail)
                else:
                    self.sock.sendall(data)
            except OSError:
                self.closed.set()

    def send_body(self, sid, body, more, wait=False):
        """Write an http.response.body frame now. A large body goes into the
        shared body region: wait: a sync view's thread, which waits for
        free slots rather than sending through the socket. Otherwise a large
        body is written after its header rather than copied into the frame."""
        if len(body) >= SCATTER_MIN:
            region = self.region
            if region is not None and len(body) <= region.capacity:
                frames = region.put(sid, body, more)
                while frames is None and wait and not self.closed.is_set():
                    with self.mu:
                        region.wait_locked(self, region.slots_for(len(body)))
                    frames = region.put(sid, body, more)
                if frames is not None:
                    self.send_now(frames)
                    return
            self.send_now(protocol.response_body_header(sid, len(body), more), body)
        else:
            self.send_now(protocol.response_body(sid, bytes(body), more))

    def flush(self):
        with self.send_mu:
            if not self.out:
                return
            data = b"".join(self.out)
            self.out.clear()
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed.set()

    # ---- leadership

    def run(self):
        """Run the lane on the calling thread until the connection closes."""
        me = self._register()
        with self.mu:
            self.leader = me
        self._serve(me)

    def _register(self):
        t = _Thread()
        self.local.thread = t
        self.nthreads += 1
        return t

    def _spawn_leader_locked(self):
        t = _Thread()
        self.nthreads += 1
        self.leader = t
        th = threading.Thread(target=self._adopt, args=(t,), name="hurricane-sync-%d" % self.nthreads, daemon=True)
        th.start()

    def _adopt(self, t):
        self.local.thread = t
        self._serve(t)

    def _promote_locked(self):
        """Hand leadership to an idle thread, a new one, or nobody for now."""
        if self.idle:
            t = self.idle.pop()
            self.leader = t
            t.wake.release()
        elif self.nthreads < self.max_threads:
            self._spawn_leader_locked()
        else:
            self.leader = None  # the next thread to finish a view takes over
            self._wake_reader_locked()

    def wait_locked(self, ready, stream):
        """Called with mu held by a view waiting on its stream (request body,
        response credit, body region slots) until ready().

        A leader keeps leading while it waits, reading the socket itself: the
        frame it waits for usually comes within a round trip to Go, and
        handing the lane to another thread for that long cost more than the
        wait (every hand-over is a wake-up, and the threads then fight for
        the GIL). Requests that arrive meanwhile queue until the view is
        done, or until it has run for WAIT_LEAD, when the leader hands them
        on; a wait with no frames at all is Go's spill to break. Threads
        that are not leading wait for their stream's frame, and while no
        thread leads, they take turns reading the socket themselves."""
        me = getattr(self.local, "thread", None) or _Thread()  # not a lane thread: never leads
        cond = getattr(self.local, "cond", None)
        if cond is None:
            cond = self.local.cond = threading.Condition(self.mu)
        me.bridged = True
        try:
            while not ready() and not self.closed.is_set():
                leading = self.leader is me
                if leading and self._hand_on_locked(me):
                    self._promote_locked()
                    leading = False
                if (leading or self.leader is None) and not self.reading:
                    self.reading = True
                    self.mu.release()
                    try:
                        self._read_frames()
                    finally:
                        self.mu.acquire()
                        self._read_done_locked()
                else:
                    stream.waiter = me.waiting = cond
                    self.waiting.append(cond)
                    try:
                        cond.wait()
                    finally:
                        self.waiting.remove(cond)
                        stream.waiter = me.waiting = None
        finally:
            me.bridged = False

    def awaits_go(self, item):
        """Whether running item will wait for frames from Go."""
        return False

    def _hand_on_locked(self, t):
        """Whether the leader t, waiting for the bridge, should hand queued
        requests to another thread: its view has run for WAIT_LEAD."""
        return bool(self.pending) and time.monotonic() - t.since >= WAIT_LEAD

    def _read_done_locked(self):
        self.reading = False
        self.changed.notify_all()  # a leader waiting in _read
        self._wake_reader_locked()

    def _wake_reader_locked(self):
        """A view thread waiting while nobody reads must read next: the
        leader if it waits, else the first waiter while nobody leads."""
        if self.reading:
            return
        leader = self.leader
        if leader is not None:
            if leader.waiting is not None:
                leader.waiting.notify()
        elif self.waiting:
            self.waiting[0].notify()

    def _serve(self, me):
        while not self.closed.is_set():
            if self.leader is not me:
                me.wake.acquire()
                continue
            self._lead(me)
            if not self.closed.is_set() and self.leader is not me:
                with self.mu:
                    leader = self.leader
                    if leader is None or leader.busy:
                        # The leader is inside a view, so nobody reads or
                        # starts queued requests: this thread, free now,
                        # takes over at once rather than waiting for Go's
                        # next spill. (A second thread runs at all only
                        # because a spill found the leader waiting.)
                        self.leader = me
                    else:
                        self.idle.append(me)

    def _lead(self, me):
        """Run queued requests and read the socket while this thread leads."""
        pending = self.pending
        clock = time.monotonic
        while True:
            flushed = clock()
            while pending:
                try:
                    st = pending.popleft()
                except IndexError:
                    break
                self.seq += 1
                me.started()
                with self.mu:
                    me.busy = self.seq
                    self.active += 1
                    if pending and self.leader is me and self.awaits_go(st):
                        # The view will wait for Go (its body is still on the
                        # way): the next requests start now on another
                        # thread, so their bodies travel while this one's does.
                        self._promote_locked()
                try:
                    self.run_item(st)
                finally:
                    with self.mu:
                        me.busy = 0
                        self.active -= 1
                        still = self.leader is me
                if not still:
                    self.flush()
                    return
                now = clock()
                if now - flushed > FLUSH_EVERY:
                    # A long batch still shows progress to Go, which would
                    # otherwise think this thread is stuck and spill.
                    self.flush()
                    flushed = now
            self.batch_done()
            self.flush()
            if not self._read():
                return

    def batch_done(self):
        """Called when the queued items are done, before reading more."""

    def _read(self):
        """Read and dispatch what the socket has, once no other thread reads."""
        with self.mu:
            while self.reading:
                self.changed.wait()
            self.reading = True
        try:
            return self._read_frames()
        finally:
            with self.mu:
                self._read_done_locked()

    def _read_frames(self):
        """Called by the one thread that reads (``reading`` set)."""
        try:
            data = self.sock.recv(self.frames.wanted(262144))
        except OSError:
            data = b""
        if not data:
            self._close()
            return False
        self.frames.feed(data)
        for ftype, flags, sid, payload in self.frames.frames():
            self._dispatch(ftype, flags, sid, payload)
        return True

    def _close(self):
        self.closed.set()
        self.sock.close()
        with self.mu:
            self.on_close_locked()
            for t in self.idle:
                t.wake.release()
            self.idle.clear()
            self.changed.notify_all()
            for cond in self.waiting:
                cond.notify()

    def on_close_locked(self):
        """Called with mu held once Go closed the connection."""

    def spill(self):
        """Go saw no progress for a while although requests are outstanding:
        if the leader is stuck inside a view, hand leadership on."""
        with self.mu:
            t = self.leader
            if t is None or not t.busy:
                return
            if t.bridged:
                # It waits for the bridge and reads meanwhile: queued
                # requests go on after WAIT_LEAD, as they would had a frame
                # come. (A second thread would only wait for the same slots
                # or the same Go.)
                if self._hand_on_locked(t):
                    self._promote_locked()
            elif t.blocked() or self.waiting:
                # A computing leader keeps the lane, unless views wait for
                # frames (request body, credit) that only a reader delivers.
                self._promote_locked()


class DataLane(Lane):
    """HTTP requests: sync views run inline by the leader, async views on the
    event loop."""

    def __init__(self, sock, sync_app, async_app, threads, region=None):
        super().__init__(sock, threads)
        # Large request body frames come out in pieces, not joined: the
        # view joins them anyway (one 1 MiB read of an upload: 1 copy of
        # it in user space instead of 3).
        self.frames = protocol.FrameBuffer(pieces=(protocol.HTTP_BODY,))
        self.region = region
        self.sync_app = sync_app
        self.async_app = async_app
        self.streams = {}
        self.copied = False  # a request slot was copied out during this read

    def stats(self):
        app = self.async_app
        return {
            "pending": len(self.pending) + (app.waiting if app else 0),
            "active": self.active + (app.active if app else 0),
            "threads": self.nthreads,
        }

    def awaits_go(self, st):
        return st.more  # request body still to come

    def run_item(self, st):
        try:
            self.sync_app.run(st, True)
        finally:
            self.streams.pop(st.sid, None)

    def _dispatch(self, ftype, flags, sid, payload):
        if ftype == protocol.HTTP_REQUEST:
            req = protocol.decode_request(payload)
            st = Stream(self, sid, req, bool(flags & protocol.MORE_BODY))
            self.streams[sid] = st
            if self.async_app is not None and self.sync_app.view_is_async(req.path):
                st.is_async = True
                self.async_app.submit(st)
            else:
                self.pending.append(st)
            return
        if ftype == protocol.SLOTS_FREE:
            with self.mu:
                self.region.give_locked(payload)
            return
        if ftype == protocol.BODY_SHARED:
            if self.region is None:
                raise protocol.ProtocolError("request slot without a shared body region")
            slot, payload = self.region.request_body(payload)
            # Queued before the view can see the chunk, so the slot is
            # back in Go before the view's next BODY_READ, which Go would
            # otherwise answer through the socket for want of a free slot.
            self.defer(protocol.body_slots_free((slot,)))
            self.copied = True
            ftype = protocol.HTTP_BODY
        st = self.streams.get(sid)
        if st is None:
            return  # the exchange already ended; late acks and disconnects are harmless
        if st.is_async:
            self.async_app.route(st, ftype, flags, payload)
            return
        with self.mu:
            if ftype == protocol.HTTP_BODY:
                st.on_body(payload, bool(flags & protocol.MORE_BODY), not flags & protocol.WITH_REQUEST)
            elif ftype == protocol.PIECE:
                st.on_piece(payload)
            elif ftype == protocol.BODY_ACK:
                st.on_ack(int.from_bytes(payload, "big"))
            elif ftype == protocol.HTTP_DISCONNECT:
                st.on_disconnect()
            else:
                log.warn("unexpected frame on the data lane", type=ftype)

    def _read_frames(self):
        alive = super()._read_frames()
        if self.copied:
            # Go may be waiting for a slot to read the next upload into.
            self.copied = False
            self.flush()
        return alive

    def on_close_locked(self):
        for st in list(self.streams.values()):
            if not st.is_async:
                st.on_disconnect()


# Response chunks from this size on are written after their frame header
# instead of being copied into one frame.
SCATTER_MIN = 64 << 10

# A Unix socket's send buffer bounds how much one sendall writes before the
# thread waits for Go to read: 2 MiB lets a 1 MiB response chunk go in one
# write instead of five wake-ups (the kernel caps it at net.core.wmem_max).
SEND_BUFFER = 2 << 20


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    except OSError:
        pass  # the default buffer works, only slower
    s.connect(path)
    return s


def _send_parts(sock, head, tail):
    """sendall(head + tail) without building head + tail."""
    sent = sock.sendmsg([head, tail])
    if sent < len(head):
        sock.sendall(memoryview(head)[sent:])
        sent = len(head)
    if sent - len(head) < len(tail):
        sock.sendall(memoryview(tail)[sent - len(head):])
