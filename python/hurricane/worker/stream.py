"""One HTTP exchange on the data lane, seen from a sync view's thread.

Body chunks, credits and disconnects arrive on the lane's reader and are
handed to the stream; the view's thread waits here when it needs more of
them (Lane.wait_locked: a leader reads the socket itself meanwhile).
"""

from collections import deque

from . import protocol

# Bytes of response body the worker may send ahead of Go's acknowledgements.
INITIAL_CREDIT = 1 << 20


class Disconnected(Exception):
    """The client went away (http.disconnect)."""


class Stream:
    __slots__ = (
        "sid", "req", "lane", "more", "chunks", "reading", "credit",
        "disconnected", "cond", "is_async", "task",  # cond: the async view's state
        "waiter",  # the condition of the sync view's thread waiting on it
    )

    def __init__(self, lane, sid, req, more):
        self.sid = sid
        self.req = req
        self.lane = lane
        self.more = more
        self.chunks = deque()
        self.reading = False
        self.credit = INITIAL_CREDIT
        self.disconnected = False
        self.cond = None
        self.waiter = None
        self.is_async = False
        self.task = None

    # Called on the reader thread, with the lane's mutex held.

    def on_body(self, data, more, answer=True):
        """A body chunk; answer: it answers this stream's BODY_READ (the
        request's first chunk, sent with it, does not)."""
        if data:
            self.chunks.append(data)
        self.more = more
        if answer:
            self.reading = False
        self._wake()

    def on_piece(self, data):
        """A leading piece of a body chunk: the rest of it is on its way."""
        self.chunks.append(data)
        self._wake()

    def on_ack(self, n):
        self.credit += n
        self._wake()

    def on_disconnect(self):
        self.disconnected = True
        self.more = False
        self.reading = False
        self._wake()

    def _wake(self):
        if self.waiter is not None:
            self.waiter.notify()

    # Called on the view's thread.

    def read_chunk(self):
        """The next request body chunk; b"" at the end or after a disconnect.

        Asking Go for a chunk is a round trip through two processes, so the
        next one is asked for as soon as this one is handed out: the view
        works on one chunk while the next is on its way (at most two held).
        """
        lane = self.lane
        with lane.mu:
            if not self.chunks:
                self._ask_locked()
                lane.wait_locked(lambda: self.chunks or not self.more, self)
                if not self.chunks:
                    return b""
            chunk = self.chunks.popleft()
            if not self.chunks:
                self._ask_locked()
            return chunk

    def _ask_locked(self):
        if self.more and not self.reading:
            self.reading = True
            self.lane.send_now(protocol.frame(protocol.BODY_READ, self.sid))

    def take_credit(self, n):
        """Wait until Go accepts more response body, then spend n bytes of
        credit; raise Disconnected if the client is gone."""
        lane = self.lane
        with lane.mu:
            lane.wait_locked(lambda: self.credit > 0 or self.disconnected, self)
            if self.disconnected:
                raise Disconnected()
            self.credit -= n


class BodyInput:
    """wsgi.input over a stream: read(), readline() and iteration, pulling body
    chunks from Go on demand so an upload never sits whole in memory."""

    def __init__(self, stream, first):
        self.stream = stream
        self.buf = first
        self.pos = 0

    def _fill(self):
        while self.pos >= len(self.buf):
            chunk = self.stream.read_chunk()
            if not chunk:
                return False
            self.buf = chunk
            self.pos = 0
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            parts = []
            while self._fill():
                parts.append(self.buf[self.pos:])
                self.pos = len(self.buf)
            return b"".join(parts)
        parts = []
        while size > 0 and self._fill():
            data = self.buf[self.pos:self.pos + size]
            self.pos += len(data)
            size -= len(data)
            parts.append(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readline(self, size=-1):
        parts = []
        while (size < 0 or size > 0) and self._fill():
            end = self.buf.find(b"\n", self.pos)
            stop = len(self.buf) if end < 0 else end + 1
            if size >= 0:
                stop = min(stop, self.pos + size)
                size -= stop - self.pos
            parts.append(self.buf[self.pos:stop])
            self.pos = stop
            if end >= 0 and stop == end + 1:
                break
        return b"".join(parts)

    def readlines(self, hint=-1):
        return list(self)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line
