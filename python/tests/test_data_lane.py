"""The data lane with real Django, driven over a socket pair as Go would."""

import contextlib
import hashlib
import mmap
import os
import socket
import threading
import time

import pytest

from hurricane.worker import data, protocol
from hurricane.worker.data import DataLane
from hurricane.worker.region import BodyRegion
import djangoapp
from lanepeer import LanePeer


def request(sid, path, query=b"", headers=(), body=b"", more=False):
    r = protocol.Request()
    r.http_version = "1.1"
    r.scheme = "http"
    r.method = "POST" if body or more else "GET"
    r.client = ("127.0.0.1", 5000)
    r.server = ("127.0.0.1", 8000)
    r.root_path = b""
    r.path = path
    r.raw_path = path
    r.query_string = query
    r.headers = [(b"host", b"localhost")] + list(headers)
    r.body = body
    return protocol.encode_request(sid, r, more)


class Go(LanePeer):
    """The Go side of one data lane: sends frames, collects responses."""

    def __init__(self, threads=4, async_app=None, region=None):
        from hurricane.worker.sync import SyncApp

        super().__init__(lambda sock: DataLane(sock, SyncApp(1 << 20), async_app, threads, region))


@pytest.fixture
def go(django_setup):
    g = Go()
    yield g
    g.close()


def test_batched_requests_each_get_one_frame(go):
    go.send(b"".join(request(i, b"/hello") for i in range(1, 21)))
    frames = go.frames(20)
    assert sorted(f[2] for f in frames) == list(range(1, 21))
    for ftype, flags, _sid, payload in frames:
        assert ftype == protocol.RESPONSE_START and not flags & protocol.MORE_BODY
        status, _headers, body, _route = protocol.decode_response_start(payload, flags)
        assert (status, body) == (200, b"hello")


def test_environ_from_scope(go):
    go.send(request(1, b"/meta", b"a=1&a=2", [(b"x-multi", b"one"), (b"x-multi", b"two"), (b"x_sneaky", b"no")], b"abc"))
    (_, flags, _, payload), = go.frames(1)
    _, _, body, _ = protocol.decode_response_start(payload, flags)
    assert body == b"/meta|a=1&a=2|127.0.0.1|8000|one,two|3|abc"


def test_body_is_pulled_in_chunks(go):
    go.send(request(1, b"/meta", headers=[(b"content-length", b"9")], body=b"abc", more=True))
    (ftype, _, sid, _), = go.frames(1)
    assert (ftype, sid) == (protocol.BODY_READ, 1)
    go.send(protocol.frame(protocol.HTTP_BODY, 1, b"def", protocol.MORE_BODY))
    (ftype, _, _, _), = go.frames(1)
    assert ftype == protocol.BODY_READ
    go.send(protocol.frame(protocol.HTTP_BODY, 1, b"ghi", 0))
    (ftype, flags, _, payload), = go.frames(1)
    assert ftype == protocol.RESPONSE_START
    assert protocol.decode_response_start(payload, flags)[2].endswith(b"|9|abcdefghi")


@contextlib.contextmanager
def async_go(**settings):
    """A Go peer whose lane has an AsyncApp, with asgi's admission settings
    (FAIR_SHARE, BUSY, MAX_WAIT) changed for the test."""
    from hurricane.worker import asgi

    saved = {k: getattr(asgi, k) for k in settings}
    for k, v in settings.items():
        setattr(asgi, k, v)
    app = asgi.AsyncApp(1000)
    g = Go(async_app=app)
    try:
        yield g, app
    finally:
        g.close()
        for k, v in saved.items():
            setattr(asgi, k, v)


@pytest.mark.parametrize("path", [b"/digest", b"/adigest"])
def test_a_large_body_reaches_sync_and_async_views_whole(django_setup, path):
    """A body chunk far larger than one read of the socket reaches the view
    in pieces (FrameBuffer's pieces) and whole."""
    body = os.urandom(1 << 20)
    first, rest = body[:65536], body[65536:]
    with async_go() as (g, _):
        g.send(request(1, path, headers=[(b"content-length", b"%d" % len(body))], body=first, more=True))
        (ftype, _, sid, _), = g.frames(1)
        assert (ftype, sid) == (protocol.BODY_READ, 1)
        g.send(protocol.frame(protocol.HTTP_BODY, 1, rest, 0))
        (ftype, flags, _, payload), = g.frames(1)
        assert ftype == protocol.RESPONSE_START
        assert protocol.decode_response_start(payload, flags)[2] == b"%d|%s" % (len(body), hashlib.sha256(body).hexdigest().encode())


def test_a_busy_worker_starts_async_requests_in_arrival_order_a_fair_share_at_once(django_setup):
    from hurricane.worker import asgi

    # BUSY=0: the worker always counts as busy; MAX_WAIT: nobody jumps the queue.
    with async_go(BUSY=0.0, MAX_WAIT=60.0) as (g, app):
        started = []
        handle = app._handle

        async def record(st):
            started.append((st.sid, app.active))
            return await handle(st)

        app._handle = record
        n = 3 * asgi.FAIR_SHARE
        g.send(b"".join(request(sid, b"/aspin", b"ms=2") for sid in range(1, n + 1)))
        frames = g.frames(n, timeout=30)
        assert sorted(f[2] for f in frames) == list(range(1, n + 1))
        assert [sid for sid, _ in started] == list(range(1, n + 1))
        assert max(active for _, active in started) == asgi.FAIR_SHARE


def test_long_polls_beyond_the_fair_share_do_not_hold_up_an_idle_worker(django_setup):
    """FAIR_SHARE + 4 long polls, then the request that ends them: an idle
    worker starts it although the fair share is taken (MAX_WAIT is out of
    reach), so every poll is answered."""
    from hurricane.worker import asgi

    djangoapp.RELEASE = None
    with async_go(MAX_WAIT=60.0) as (g, app):
        n = asgi.FAIR_SHARE + 4
        g.send(b"".join(request(sid, b"/hold") for sid in range(1, n + 1)))
        g.send(request(n + 1, b"/release"))
        frames = g.frames(n + 1, timeout=10)
        bodies = {f[2]: protocol.decode_response_start(f[3], f[1])[2] for f in frames}
        assert bodies == {**{sid: b"held" for sid in range(1, n + 1)}, n + 1: b"released"}


def test_a_leader_waiting_for_body_keeps_the_lane(go):
    # The body comes within a round trip: the leader reads it itself rather
    # than starting a thread to lead meanwhile (a wake-up per wait).
    for sid in (1, 2):
        go.send(request(sid, b"/meta", headers=[(b"content-length", b"6")], body=b"abc", more=True))
        (ftype, _, got, _), = go.frames(1)
        assert (ftype, got) == (protocol.BODY_READ, sid)
        go.send(protocol.frame(protocol.HTTP_BODY, sid, b"def", 0))
        (ftype, flags, _, payload), = go.frames(1)
        assert ftype == protocol.RESPONSE_START
        assert protocol.decode_response_start(payload, flags)[2].endswith(b"|6|abcdef")
    assert go.lane.nthreads == 1


def test_spill_leaves_a_leader_waiting_for_body_with_nothing_queued(go):
    # The leader waits for the bridge and reads meanwhile: a second thread
    # would have nothing to run.
    go.send(request(1, b"/meta", headers=[(b"content-length", b"6")], body=b"abc", more=True))
    (ftype, _, _, _), = go.frames(1)
    assert ftype == protocol.BODY_READ
    time.sleep(2 * data.WAIT_LEAD)  # it has waited, not computed: blocked
    go.lane.spill()
    go.send(protocol.frame(protocol.HTTP_BODY, 1, b"def", 0))
    (ftype, _, sid, _), = go.frames(1)
    assert (ftype, sid) == (protocol.RESPONSE_START, 1)
    assert go.lane.nthreads == 1


def test_a_view_waiting_long_for_body_hands_queued_requests_on(go):
    go.send(request(1, b"/meta", headers=[(b"content-length", b"6")], body=b"abc", more=True))
    (ftype, _, _, _), = go.frames(1)
    assert ftype == protocol.BODY_READ
    time.sleep(2 * data.WAIT_LEAD)  # the upload's view has now run longer than WAIT_LEAD
    go.send(request(2, b"/hello"))
    (ftype, flags, sid, payload), = go.frames(1)
    assert (ftype, sid) == (protocol.RESPONSE_START, 2), "the queued request waited for the upload"
    go.send(protocol.frame(protocol.HTTP_BODY, 1, b"def", 0))
    (ftype, flags, sid, payload), = go.frames(1)
    assert (ftype, sid) == (protocol.RESPONSE_START, 1)
    assert protocol.decode_response_start(payload, flags)[2].endswith(b"|6|abcdef")


def test_a_request_whose_body_is_on_its_way_hands_the_queue_on_at_once(go, monkeypatch):
    # Its view will wait for Go: the request queued behind it starts on
    # another thread now, not after WAIT_LEAD, so uploads overlap.
    monkeypatch.setattr(data, "WAIT_LEAD", 60.0)
    go.send(request(1, b"/meta", headers=[(b"content-length", b"6")], body=b"abc", more=True) + request(2, b"/hello"))
    got = sorted((f[0], f[2]) for f in go.frames(2))
    assert got == sorted([(protocol.BODY_READ, 1), (protocol.RESPONSE_START, 2)])
    go.send(protocol.frame(protocol.HTTP_BODY, 1, b"def", 0))
    (ftype, flags, sid, payload), = go.frames(1)
    assert (ftype, sid) == (protocol.RESPONSE_START, 1)
    assert protocol.decode_response_start(payload, flags)[2].endswith(b"|6|abcdef")


def test_streaming_response_frames(go):
    go.send(request(1, b"/stream"))
    frames = go.frames(5)
    assert [f[0] for f in frames] == [protocol.RESPONSE_START] + [protocol.RESPONSE_BODY] * 4
    assert frames[0][1] & protocol.MORE_BODY
    assert [f[3] for f in frames[1:]] == [b"chunk0", b"chunk1", b"chunk2", b""]
    assert not frames[-1][1] & protocol.MORE_BODY


def test_spill_runs_blocking_views_concurrently(go):
    start = time.monotonic()
    go.send(b"".join(request(i, b"/sleep") for i in range(1, 5)))
    # Go would send spill on the control lane after 2 ms without progress.
    def spiller():
        while time.monotonic() - start < 1.0:
            go.lane.spill()
            time.sleep(0.01)
    t = threading.Thread(target=spiller)
    t.start()
    frames = go.frames(4)
    elapsed = time.monotonic() - start
    t.join()
    assert len(frames) == 4
    assert elapsed < 0.9, "four 0.3 s views on four threads took %.2f s" % elapsed


def test_without_spill_blocking_views_run_one_after_another(go):
    start = time.monotonic()
    go.send(b"".join(request(i, b"/sleep") for i in range(1, 3)))
    go.frames(2)
    assert time.monotonic() - start >= 0.6


def test_stats_count_pending_and_active(django_setup):
    g = Go(threads=1)
    try:
        g.send(b"".join(request(i, b"/sleep") for i in range(1, 4)))
        deadline = time.monotonic() + 2
        while g.lane.stats()["active"] != 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        st = g.lane.stats()
        assert st["active"] == 1 and st["pending"] == 2
        g.frames(3)
    finally:
        g.close()


def test_disconnect_stops_a_stream(go):
    go.send(request(1, b"/stream") + protocol.frame(protocol.HTTP_DISCONNECT, 1))
    frames = go.frames(1)
    assert frames[0][0] == protocol.RESPONSE_START


@pytest.mark.parametrize("path, want", [(b"/hello", "/hello"), (b"/ahello", "/ahello"), (b"/stream", "/stream"), (b"/missing", None)])
def test_response_names_the_resolved_route(go, path, want):
    go.send(request(1, path))
    ftype, flags, _, payload = go.frames(1)[0]
    assert ftype == protocol.RESPONSE_START
    status, _, _, route = protocol.decode_response_start(payload, flags)
    assert route == want
    assert status == (404 if want is None else 200)


def test_uploads_on_every_thread_still_get_their_bodies(django_setup):
    # Four uploads on two threads: both threads end up inside views waiting
    # for body, with no thread left to lead. They must read the socket
    # themselves, or every upload waits for ever (a deadlock seen with six
    # concurrent 1 MiB uploads on six threads).
    g = Go(threads=2)
    try:
        g.send(b"".join(
            request(sid, b"/meta", headers=[(b"content-length", b"6")], body=b"abc", more=True)
            for sid in range(1, 5)
        ))
        done = {}
        deadline = time.monotonic() + 10
        while len(done) < 4:
            assert time.monotonic() < deadline, "uploads stuck; done: %r" % sorted(done)
            for ftype, flags, sid, payload in g.frames(1):
                if ftype == protocol.BODY_READ:
                    g.send(protocol.frame(protocol.HTTP_BODY, sid, b"def", 0))
                elif ftype == protocol.RESPONSE_START:
                    done[sid] = protocol.decode_response_start(payload, flags)[2]
        assert all(body.endswith(b"|6|abcdef") for body in done.values()), done
    finally:
        g.close()


SLOT = 64 << 10  # the slot size of the test regions


REQUEST_SLOT = 256 << 10  # the request slot size of the test regions


@contextlib.contextmanager
def region_lane(slots, threads=4, request_slots=0, async_app=None):
    """A data lane with a shared body region of slots slots (and
    request_slots request slots after them) as Go makes one, and Go's view
    of the region's memory."""
    size = slots * SLOT + request_slots * REQUEST_SLOT
    fd = os.memfd_create("test-bodies")
    try:
        os.ftruncate(fd, size)
        go_view = mmap.mmap(fd, size)
        region = BodyRegion(os.dup(fd), slots, SLOT, request_slots, REQUEST_SLOT)
    finally:
        os.close(fd)
    g = Go(threads=threads, region=region, async_app=async_app)
    try:
        yield g, go_view
    finally:
        g.close()


def shared_chunks(frames, go_view):
    """(slot, bytes, more) of each RESPONSE_SHARED frame, read as Go reads
    them: a chunk longer than a slot continues in the slots after it."""
    out = []
    for ftype, flags, _, payload in frames:
        assert ftype == protocol.RESPONSE_SHARED
        slot, n = int.from_bytes(payload[:4], "big"), int.from_bytes(payload[4:], "big")
        out.append((slot, go_view[slot * SLOT:slot * SLOT + n], bool(flags & protocol.MORE_BODY)))
    return out


def covered(slot, chunk):
    """The slots a chunk starting in slot fills, as Go gives them back."""
    return range(slot, slot + max(1, -(-len(chunk) // SLOT)))


def slots_free(*slots):
    return protocol.HEADER.pack(4 * len(slots), protocol.SLOTS_FREE, 0, 0) + b"".join(s.to_bytes(4, "big") for s in slots)


def test_large_chunks_cross_in_shared_slots(django_setup):
    with region_lane(8) as (g, go_view):
        g.send(request(1, b"/big", b"n=2&kb=100"))
        start, *shared, end = g.frames(4)
        assert start[0] == protocol.RESPONSE_START and start[1] & protocol.MORE_BODY
        got = shared_chunks(shared, go_view)
        # Each 100 KiB chunk fills two consecutive slots, named by one frame.
        assert [(slot, len(b), more) for slot, b, more in got] == [(0, 102400, True), (2, 102400, True)]
        assert got[0][1] == b"\0" * 102400
        assert got[1][1] == b"\1" * 102400
        assert (end[0], end[1], end[3]) == (protocol.RESPONSE_BODY, 0, b"")


def test_a_chunk_splits_over_free_slots_that_are_not_consecutive(django_setup):
    with region_lane(4) as (g, go_view):
        g.send(request(1, b"/big", b"n=3&kb=100"))
        _start, *first = g.frames(3)
        assert [(slot, len(b)) for slot, b, _ in shared_chunks(first, go_view)] == [(0, 102400), (2, 102400)]
        # Slots 0 and 3 come back: enough for chunk 2, but not side by side.
        g.send(slots_free(0, 3))
        *last, end = g.frames(3)
        got = shared_chunks(last, go_view)
        assert [(slot, len(b), more) for slot, b, more in got] == [(0, 65536, True), (3, 36864, True)]
        assert got[0][1] + got[1][1] == b"\2" * 102400
        assert (end[0], end[3]) == (protocol.RESPONSE_BODY, b"")


def test_a_sync_view_waits_for_free_slots(django_setup):
    with region_lane(2) as (g, go_view):
        g.send(request(1, b"/big", b"n=2&kb=100"))
        _start, *first = g.frames(2)
        first = shared_chunks(first, go_view)
        assert b"".join(b for _, b, _ in first) == b"\0" * 102400
        # Both slots hold chunk 0: the view waits for them, and does not
        # send chunk 1 through the socket meanwhile.
        g.sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            g.sock.recv(1)
        g.send(slots_free(*(s for slot, chunk, _ in first for s in covered(slot, chunk))))
        *second, end = g.frames(2)
        assert b"".join(b for _, b, _ in shared_chunks(second, go_view)) == b"\1" * 102400
        assert (end[0], end[3]) == (protocol.RESPONSE_BODY, b"")


def test_mixed_waits_on_two_threads_all_finish(django_setup):
    # Large responses waiting for slots, uploads waiting for body and plain
    # views, interleaved on two threads: every wait for the bridge is served
    # by whichever thread reads, and nothing is left unread.
    with region_lane(4, threads=2) as (g, go_view):
        kinds = {}
        out = []
        for i in range(6):
            sid = 3 * i + 1
            kinds[sid], kinds[sid + 1], kinds[sid + 2] = "big", "upload", "hello"
            out.append(request(sid, b"/big", b"n=2&kb=100"))
            out.append(request(sid + 1, b"/meta", headers=[(b"content-length", b"6")], body=b"abc", more=True))
            out.append(request(sid + 2, b"/hello"))
        g.send(b"".join(out))
        big = {sid: b"" for sid, kind in kinds.items() if kind == "big"}
        done = {}
        deadline = time.monotonic() + 20
        while len(done) < len(kinds):
            assert time.monotonic() < deadline, "stuck; done: %r" % sorted(done)
            for ftype, flags, sid, payload in g.frames(1):
                more = flags & protocol.MORE_BODY
                if ftype == protocol.BODY_READ:
                    g.send(protocol.frame(protocol.HTTP_BODY, sid, b"def", 0))
                elif ftype == protocol.RESPONSE_SHARED:
                    (slot, chunk, _), = shared_chunks([(ftype, flags, sid, payload)], go_view)
                    big[sid] += chunk
                    g.send(slots_free(*covered(slot, chunk)))
                elif ftype == protocol.RESPONSE_BODY and not more:
                    done[sid] = big[sid]
                elif ftype == protocol.RESPONSE_START and not more:
                    done[sid] = protocol.decode_response_start(payload, flags)[2]
        for sid, body in done.items():
            if kinds[sid] == "big":
                assert body == b"\0" * 102400 + b"\1" * 102400, sid
            elif kinds[sid] == "upload":
                assert body.endswith(b"|6|abcdef"), (sid, body)
            else:
                assert body == b"hello", (sid, body)


def test_a_chunk_larger_than_the_region_takes_the_socket(django_setup):
    with region_lane(2) as (g, _):
        g.send(request(1, b"/big", b"n=1&kb=200"))
        _start, body, end = g.frames(3)
        assert (body[0], body[3]) == (protocol.RESPONSE_BODY, b"\0" * 204800)
        assert (end[0], end[3]) == (protocol.RESPONSE_BODY, b"")


def body_shared(sid, slot, n, more, with_request=False):
    """A BODY_SHARED frame, as Go sends one: with_request for the request's
    first chunk, sent right after it."""
    flags = (protocol.MORE_BODY if more else 0) | (protocol.WITH_REQUEST if with_request else 0)
    return protocol.HEADER.pack(8, protocol.BODY_SHARED, flags, sid) + slot.to_bytes(4, "big") + n.to_bytes(4, "big")


@pytest.mark.parametrize("split", [False, True], ids=["one slot", "two slots"])
@pytest.mark.parametrize("path", [b"/digest", b"/adigest"])
def test_request_bodies_in_request_slots_reach_the_view_and_free_their_slots(django_setup, path, split):
    """Go reads a large body into request slots: the view gets it whole, and
    every slot goes back as soon as the lane has read the frame naming it,
    before the view is done."""
    from hurricane.worker import asgi

    body = os.urandom(REQUEST_SLOT + 50000 if split else 200000)
    head = body[:REQUEST_SLOT]
    want = b"%d|%s" % (len(body), hashlib.sha256(body).hexdigest().encode())
    start = 2 * SLOT  # the request slots follow the response slots
    with region_lane(2, request_slots=2, async_app=asgi.AsyncApp(1000)) as (g, go_view):
        go_view[start + REQUEST_SLOT:start + REQUEST_SLOT + len(head)] = head
        g.send(request(1, path, headers=[(b"content-length", b"%d" % len(body))], more=True) + body_shared(1, 1, len(head), split, True))

        def collect(*types):
            got = {}
            while not all(t in got for t in types):
                for ftype, flags, sid, payload in g.frames(1):
                    assert ftype not in got and sid in (0, 1), (ftype, sid)
                    got[ftype] = payload if ftype != protocol.RESPONSE_START else (payload, flags)
            return got

        if split:
            got = collect(protocol.BODY_SLOTS_FREE, protocol.BODY_READ)
            # The slot is back before the view asks for more, so Go can
            # answer with a slot again.
            assert list(got) == [protocol.BODY_SLOTS_FREE, protocol.BODY_READ]
            assert protocol.decode_slots(got[protocol.BODY_SLOTS_FREE]) == (1,)
            go_view[start:start + len(body) - len(head)] = body[len(head):]
            g.send(body_shared(1, 0, len(body) - len(head), False))
        got = collect(protocol.BODY_SLOTS_FREE, protocol.RESPONSE_START)
        assert protocol.decode_slots(got[protocol.BODY_SLOTS_FREE]) == ((0,) if split else (1,))
        assert protocol.BODY_READ not in got
        payload, flags = got[protocol.RESPONSE_START]
        assert protocol.decode_response_start(payload, flags)[2] == want


@pytest.mark.parametrize("path", [b"/digest", b"/adigest"])
def test_a_read_asked_before_the_first_shared_chunk_is_answered_once(django_setup, path):
    """A view may ask for body before the request's first chunk, which Go
    read into a request slot and sent right after the request, has reached
    the lane. That chunk does not answer the view's BODY_READ: the view must
    not ask again, or Go would send the next chunk twice."""
    from hurricane.worker import asgi

    body = os.urandom(200000)
    head, rest = body[:150000], body[150000:]
    want = b"%d|%s" % (len(body), hashlib.sha256(body).hexdigest().encode())
    start = 2 * SLOT  # the request slots follow the response slots
    with region_lane(2, request_slots=2, async_app=asgi.AsyncApp(1000)) as (g, go_view):
        g.send(request(1, path, headers=[(b"content-length", b"%d" % len(body))], more=True))
        (ftype, _, sid, _), = g.frames(1)
        assert (ftype, sid) == (protocol.BODY_READ, 1)  # asked before any body came
        go_view[start + REQUEST_SLOT:start + REQUEST_SLOT + len(head)] = head
        g.send(body_shared(1, 1, len(head), True, True))
        (ftype, _, _, payload), = g.frames(1)
        assert (ftype, protocol.decode_slots(payload)) == (protocol.BODY_SLOTS_FREE, (1,))
        g.sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            g.sock.recv(1)  # no second BODY_READ: the first is still open
        g.sock.settimeout(None)
        g.send(protocol.frame(protocol.HTTP_BODY, 1, rest, 0))
        (ftype, flags, _, payload), = g.frames(1)
        assert ftype == protocol.RESPONSE_START
        assert protocol.decode_response_start(payload, flags)[2] == want


def test_a_request_slot_outside_the_region_is_a_protocol_error(django_setup):
    with region_lane(2, request_slots=2) as (g, _):
        lane = g.lane
        with pytest.raises(protocol.ProtocolError):
            lane._dispatch(protocol.BODY_SHARED, 0, 1, (2).to_bytes(4, "big") + (10).to_bytes(4, "big"))
        with pytest.raises(protocol.ProtocolError):
            lane._dispatch(protocol.BODY_SHARED, 0, 1, (0).to_bytes(4, "big") + (REQUEST_SLOT + 1).to_bytes(4, "big"))


def test_a_slot_given_back_twice_is_a_protocol_error(django_setup):
    with region_lane(4) as (g, go_view):
        g.send(request(1, b"/big", b"n=1&kb=100"))
        _start, shared, _end = g.frames(3)
        (slot, _, _), = shared_chunks([shared], go_view)
        lane = g.lane
        lane._dispatch(protocol.SLOTS_FREE, 0, 0, slots_free(slot, slot + 1)[protocol.HEADER.size:])
        assert lane.region.nfree == 4
        for slots in ((slot,), (4,)):  # free already; past the region
            with pytest.raises(protocol.ProtocolError):
                lane._dispatch(protocol.SLOTS_FREE, 0, 0, slots_free(*slots)[protocol.HEADER.size:])
        assert lane.region.nfree == 4


def _view_thread(view):
    """Run view(t) on a new thread, t its data._Thread; view calls
    t.started() as the lane does when a view starts."""
    t = data._Thread()
    done = []

    def run():
        view(t)
        done.append(True)

    th = threading.Thread(target=run)
    th.start()
    th.join(10)
    assert done
    return t


def test_a_view_that_sleeps_is_blocked():
    def view(t):
        t.started()
        time.sleep(0.02)
        assert t.blocked()

    _view_thread(view)


def test_a_view_computing_on_a_crowded_cpu_is_not_blocked():
    # Two busy processes share the view's one CPU: it computes for a third
    # of the wall time. Waiting for the CPU is not waiting for I/O, and a
    # spill would only add a thread to the queue for the CPU.
    import subprocess
    import sys

    cpu = min(os.sched_getaffinity(0))
    hogs = []
    try:
        def view(t):
            os.sched_setaffinity(0, {cpu})
            for _ in range(2):
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                hogs.append(hog)
                os.sched_setaffinity(hog.pid, {cpu})
            t.started()  # the view starts once the CPU is crowded
            deadline = time.monotonic() + 0.03
            while time.monotonic() < deadline:
                pass
            ran, queued = t._times()
            assert queued - t.queued > 0.005, "the CPU was not crowded"
            assert not t.blocked()

        _view_thread(view)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
