"""wsgi.input over a stream whose body arrives in chunks."""

import threading

import pytest

from hurricane.worker.stream import BodyInput, Stream


class FakeLane:
    """Stands in for the data lane: records BODY_READ requests and answers
    them from a list of chunks, as Go would."""

    def __init__(self, chunks):
        self.mu = threading.Lock()
        self.changed = threading.Condition(self.mu)
        self.chunks = list(chunks)
        self.reads = 0
        self.stream = None

    def send_now(self, frame):
        self.reads += 1
        chunk = self.chunks.pop(0)
        more = bool(self.chunks)
        # Deliver on another thread, as the lane's reader does.
        def deliver():
            with self.mu:
                self.stream.on_body(chunk, more)
        threading.Thread(target=deliver).start()

    def wait_locked(self, ready, stream):
        stream.waiter = self.changed
        try:
            while not ready():
                self.changed.wait()
        finally:
            stream.waiter = None


def make(first, rest):
    lane = FakeLane(rest)
    st = Stream(lane, 1, None, bool(rest))
    lane.stream = st
    return BodyInput(st, first), lane


def test_read_all_pulls_every_chunk():
    body, lane = make(b"ab", [b"cd", b"ef"])
    assert body.read() == b"abcdef"
    assert lane.reads == 2


def test_read_size_spans_chunks():
    body, _ = make(b"abc", [b"def", b"ghi"])
    assert body.read(5) == b"abcde"
    assert body.read(100) == b"fghi"
    assert body.read(1) == b""


def test_readline_across_chunks():
    body, _ = make(b"line one\nli", [b"ne two\nlast"])
    assert list(body) == [b"line one\n", b"line two\n", b"last"]


def test_readline_with_limit():
    body, _ = make(b"abcdef\n", [])
    assert body.readline(3) == b"abc"
    assert body.readline() == b"def\n"


@pytest.mark.parametrize("size", [0, -1])
def test_empty_body(size):
    body, lane = make(b"", [])
    assert body.read(size) == b""
    assert lane.reads == 0


def test_disconnect_ends_the_body():
    lane = FakeLane([])
    st = Stream(lane, 1, None, True)
    lane.stream = st
    lane.send_now = lambda frame: None
    body = BodyInput(st, b"x")
    assert body.read(1) == b"x"
    t = threading.Timer(0.05, lambda: (lane.mu.acquire(), st.on_disconnect(), lane.mu.release()))
    t.start()
    assert body.read() == b""
    t.join()
