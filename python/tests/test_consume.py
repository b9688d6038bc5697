"""The consume lane and its control op, driven over a socket pair as Go would."""

import json
import socket
import sys
import threading

import pytest

from hurricane.worker import protocol
from hurricane.worker.consume import ConsumeLane
from lanepeer import LanePeer

AMQP = {"queue": "orders", "exchange": "shop", "host": "rabbit", "port": 5672, "vhost": None, "username": "u", "password": "p"}


def message(sid, tag, body=b"hello", redelivered=False, **properties):
    meta = {
        "delivery_tag": tag,
        "redelivered": redelivered,
        "exchange": "shop",
        "routing_key": "orders.created",
        "consumer_tag": "ctag-1",
        "properties": properties,
    }
    return protocol.encode_meta(protocol.MESSAGE, sid, meta, body)


def handler(name):
    import amqphandlers

    cls = getattr(amqphandlers, name)
    return cls("orders", "shop", "rabbit", 5672, None, "u", "p")


class Go(LanePeer):
    """The Go side of one consume lane: sends messages, collects frames."""

    def __init__(self, handler, threads=1):
        super().__init__(lambda sock: ConsumeLane(sock, handler, threads))

    def until_done(self, count=1):
        """Frames up to and including the count-th MESSAGE_DONE."""
        out = []
        while sum(f[0] == protocol.MESSAGE_DONE for f in out) < count:
            out.extend(self.frames(1))
        return out



@pytest.fixture
def go(django_setup):
    lanes = []

    def start(name, threads=1):
        g = Go(handler(name), threads)
        lanes.append(g)
        return g

    yield start
    for g in lanes:
        g.close()


def decoded(frame):
    ftype, _flags, sid, payload = frame
    if ftype == protocol.PUBLISH:
        return ftype, sid, protocol.decode_meta(payload)
    return ftype, sid, json.loads(payload)


def test_meta_round_trip():
    meta = {"delivery_tag": 7, "properties": {"headers": {"a": [1, "b"]}}}
    data = protocol.encode_meta(protocol.MESSAGE, 3, meta, b"\x00body\xff")
    fb = protocol.FrameBuffer()
    fb.feed(data)
    ((ftype, flags, sid, payload),) = fb.frames()
    assert (ftype, flags, sid) == (protocol.MESSAGE, 0, 3)
    assert protocol.decode_meta(payload) == (meta, b"\x00body\xff")
    assert protocol.decode_meta(protocol.encode_meta(protocol.PUBLISH, 0, {})[protocol.HEADER_SIZE:]) == ({}, b"")


@pytest.mark.parametrize("payload", [b"", b"\x00\x00", b"\x00\x00\x00\x09{}", b"\x00\x00\x00\x02[]", b"\x00\x00\x00\x01{"])
def test_meta_rejects_malformed(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_meta(payload)


def test_sync_handler_acks(go):
    g = go("Acking")
    g.send(message(5, 42))
    assert [decoded(f) for f in g.until_done()] == [
        (protocol.SETTLE, 5, {"delivery_tag": 42, "op": "ack", "requeue": False, "multiple": False}),
        (protocol.MESSAGE_DONE, 5, {}),
    ]


def test_raising_handler_reports_the_traceback(go, log_records):
    g = go("Raising")
    g.send(message(1, 9, b"boom"))
    ((ftype, sid, done),) = [decoded(f) for f in g.until_done()]
    assert (ftype, sid) == (protocol.MESSAGE_DONE, 1)
    assert "Traceback" in done["error"] and "ValueError: cannot handle b'boom'" in done["error"]
    # The lane survives the exception.
    g.send(message(2, 10))
    assert decoded(g.until_done()[0])[:2] == (protocol.MESSAGE_DONE, 2)
    errors = [r for r in log_records() if r["level"] == "error"]
    assert errors[0]["msg"] == "message handler failed" and errors[0]["delivery_tag"] == 9
    assert "ValueError" in errors[0]["traceback"]


def test_unsettled_message_is_only_done(go):
    g = go("Silent")
    g.send(message(3, 1))
    assert [decoded(f) for f in g.until_done()] == [(protocol.MESSAGE_DONE, 3, {})]


def test_async_handler_runs_on_the_loop(go):
    g = go("AsyncAcking", threads=4)
    assert g.lane.is_async
    g.send(message(8, 2))
    assert [decoded(f)[:2] for f in g.until_done()] == [(protocol.SETTLE, 8), (protocol.MESSAGE_DONE, 8)]
    assert g.lane.handler.seen == "hurricane-loop"


def test_publish_from_a_handler(go):
    g = go("Publishing")
    g.send(message(4, 11, b"order 1", reply_to="client.7", correlation_id="c-1"))
    frames = [decoded(f) for f in g.until_done()]
    assert frames == [
        (protocol.PUBLISH, 4, ({
            "exchange": "replies",
            "routing_key": "client.7",
            "mandatory": False,
            "properties": {"headers": {"n": 1}, "delivery_mode": 2, "correlation_id": "c-1"},
        }, b"re: order 1")),
        (protocol.SETTLE, 4, {"delivery_tag": 11, "op": "reject", "requeue": False, "multiple": False}),
        (protocol.MESSAGE_DONE, 4, {}),
    ]


def test_concurrent_messages_settle_on_their_own_stream(go):
    import amqphandlers

    amqphandlers.Rendezvous.barrier.reset()
    g = go("Rendezvous", threads=2)
    g.send(message(1, 101) + message(2, 102))
    # The first handler waits for the second: only Go's spill (sent after
    # 2 ms without progress) lets another thread take the second message.
    stop = threading.Event()

    def spiller():
        while not stop.wait(0.005):
            g.lane.spill()

    t = threading.Thread(target=spiller)
    t.start()
    try:
        frames = [decoded(f) for f in g.until_done(2)]
    finally:
        stop.set()
        t.join()
    settles = sorted((sid, body["delivery_tag"]) for ftype, sid, body in frames if ftype == protocol.SETTLE)
    assert settles == [(1, 101), (2, 102)]
    for sid in (1, 2):
        mine = [ftype for ftype, s, _ in frames if s == sid]
        assert mine == [protocol.SETTLE, protocol.MESSAGE_DONE]


def test_settles_outside_the_handler_context_are_dropped(go, log_records):
    g = go("Detached")
    g.send(message(9, 31))
    frames = [decoded(f) for f in g.until_done()]
    assert frames == [
        (protocol.PUBLISH, 0, ({"exchange": "audit", "routing_key": "seen", "mandatory": False, "properties": {}}, b"x")),
        (protocol.MESSAGE_DONE, 9, {}),
    ]
    (warning,) = [r for r in log_records() if r["level"] == "warn"]
    assert warning["delivery_tag"] == 31 and "copy_context" in warning["msg"]


def test_deliver_and_properties(go):
    g = go("Recording")
    g.send(message(6, 77, b"\x01\x02", redelivered=True, content_type="application/json",
                   headers={"x-death": [{"count": 1}]}, timestamp=1700000000, app_id="shop", priority=3))
    assert decoded(g.until_done()[0]) == (
        protocol.SETTLE, 6, {"delivery_tag": 77, "op": "nack", "requeue": True, "multiple": False},
    )
    deliver, properties, body = g.lane.handler.seen
    assert (deliver.delivery_tag, deliver.redelivered, deliver.exchange, deliver.routing_key, deliver.consumer_tag) == (
        77, True, "shop", "orders.created", "ctag-1",
    )
    assert body == b"\x01\x02"
    assert (properties.content_type, properties.headers, properties.timestamp, properties.app_id, properties.priority) == (
        "application/json", {"x-death": [{"count": 1}]}, 1700000000, "shop", 3,
    )
    for name in ("content_encoding", "delivery_mode", "correlation_id", "reply_to", "expiration",
                 "message_id", "type", "user_id", "cluster_id"):
        assert getattr(properties, name) is None


def test_default_on_message_nacks_and_raises(go):
    g = go("Fanout")
    g.send(message(2, 5, app_id="billing"))
    frames = [decoded(f) for f in g.until_done()]
    assert frames[0] == (protocol.SETTLE, 2, {"delivery_tag": 5, "op": "nack", "requeue": False, "multiple": False})
    assert "NotImplementedError" in frames[1][2]["error"]


def test_handler_attributes_as_1_6_2(django_setup):
    h = handler("Acking")
    assert (h._queue_name, h._exchange_name, h._host, h._port, h._vhost, h._username, h._password) == (
        "orders", "shop", "rabbit", 5672, "/", "u", "p",
    )
    assert h._prefetch_count == 1 and h._channel is None and h.EXCHANGE_TYPE == "topic"
    assert "pika" not in sys.modules


# ---- control op 12


@pytest.fixture
def control(django_setup):
    from hurricane.worker.control import ControlLane
    from hurricane.worker.main import Worker

    go_sock, worker_sock = socket.socketpair()
    lane = ControlLane(worker_sock, Worker(None))
    # Only the slow thread: the reader exits the process when Go goes away.
    threading.Thread(target=lane._run_slow, daemon=True).start()

    def ask(handler_path):
        lane.handle(1, protocol.OP_HANDLER, json.dumps(dict(AMQP, handler=handler_path)).encode())
        go_sock.settimeout(10)
        fb = protocol.FrameBuffer()
        frames = []
        while not frames:
            fb.feed(go_sock.recv(1 << 20))
            frames.extend(fb.frames())
        ftype, _flags, rid, payload = frames[0]
        assert (ftype, rid) == (protocol.CONTROL_RESPONSE, 1)
        return payload[0], json.loads(payload[1:])

    yield ask
    go_sock.close()
    worker_sock.close()


@pytest.mark.parametrize("path, keys, exchange_type", [
    ("amqphandlers.Keyed", ["orders.created", "orders.deleted", "rabbit"], "topic"),
    ("amqphandlers.Fanout", [], "fanout"),
])
def test_handler_op_describes_the_handler(control, path, keys, exchange_type):
    assert control(path) == (protocol.STATUS_OK, {"routing_keys": keys, "exchange_type": exchange_type})


def test_handler_op_rejects_other_classes(control):
    status, body = control("amqphandlers.NotAHandler")
    assert status == protocol.STATUS_ERROR
    assert body["error"] == body["message"] == "The type <class 'amqphandlers.NotAHandler'> is not subclass of _AMQPConsumer"


@pytest.mark.parametrize("path", ["amqphandlers.Missing", "nowhere.Handler", "nodots"])
def test_handler_op_reports_import_errors(control, path):
    status, body = control(path)
    assert status == protocol.STATUS_ERROR
    assert body["message"].startswith("cannot import handler %r: ImportError" % path) or \
        body["message"].startswith("cannot import handler %r: ModuleNotFoundError" % path)
