"""The Python codec against the golden frames the Go tests also read."""

import json

import pytest

from conftest import GOLDEN
from hurricane.worker import protocol

CASES = sorted(p.stem for p in GOLDEN.glob("*.bin"))


def load(name):
    return (GOLDEN / (name + ".bin")).read_bytes(), json.loads((GOLDEN / (name + ".json")).read_text())


def only_frame(data):
    fb = protocol.FrameBuffer()
    fb.feed(data)
    frames = fb.frames()
    assert len(frames) == 1
    return frames[0]


def test_golden_frames_exist():
    assert "request_get" in CASES and "response_start" in CASES


@pytest.mark.parametrize("name", CASES)
def test_header(name):
    data, want = load(name)
    ftype, flags, stream, _ = only_frame(data)
    assert (ftype, flags, stream) == (want["type"], want["flags"], want["stream"])


@pytest.mark.parametrize("name", [c for c in CASES if c.startswith("request_")])
def test_request_decodes_and_reencodes(name):
    data, want = load(name)
    _, flags, stream, payload = only_frame(data)
    r = protocol.decode_request(payload)
    w = want["request"]
    assert r.method == w["method"]
    assert r.http_version == w["http_version"]
    assert r.scheme == w["scheme"]
    assert r.path.decode() == w["path"]
    assert r.raw_path.decode() == w["raw_path"]
    assert r.root_path.decode() == w["root_path"]
    assert r.query_string.decode() == w["query_string"]
    assert [[k.decode(), v.decode()] for k, v in r.headers] == w["headers"]
    assert r.body.decode() == w["body"]
    assert (list(r.client) if r.client else None) == w["client"]
    assert (list(r.server) if r.server else None) == w["server"]
    assert protocol.encode_request(stream, r, bool(flags & protocol.MORE_BODY)) == data
    scope = r.scope()
    assert scope["type"] == "http" and scope["path"] == w["path"]
    assert all(k == k.lower() for k, _ in scope["headers"])


@pytest.mark.parametrize("name", [c for c in CASES if c.startswith("response_start")])
def test_response_start_encodes_like_go(name):
    data, want = load(name)
    _, flags, stream, payload = only_frame(data)
    w = want["response"]
    headers = [(k.encode(), v.encode()) for k, v in w["headers"]]
    route = w.get("route")
    assert protocol.encode_response_start(stream, w["status"], headers, w["body"].encode(), bool(flags & protocol.MORE_BODY), route) == data
    assert protocol.decode_response_start(payload, flags) == (w["status"], headers, w["body"].encode(), route)


def test_response_body_encodes_like_go():
    data, want = load("response_body")
    assert protocol.response_body(want["stream"], want["body"].encode(), True) == data


def test_shared_body_payloads_decode_like_go():
    for name in ("body_shared", "body_shared_with_request", "response_shared"):
        data, want = load(name)
        _, flags, _, payload = only_frame(data)
        assert protocol.decode_shared(payload) == (want["shared"]["slot"], want["shared"]["length"])
        assert flags == want.get("flags", 0)
    assert load("body_shared_with_request")[1]["flags"] == protocol.MORE_BODY | protocol.WITH_REQUEST


def test_body_slots_free_encodes_like_go():
    data, want = load("body_slots_free")
    assert protocol.body_slots_free(want["slots"]) == data
    assert protocol.decode_slots(only_frame(data)[3]) == tuple(want["slots"])


def test_body_ack_payload():
    data, want = load("body_ack")
    _, _, _, payload = only_frame(data)
    assert int.from_bytes(payload, "big") == want["ack"]


def test_control_request_payload():
    data, want = load("control_settings")
    _, _, _, payload = only_frame(data)
    assert payload[0] == want["control"]["op"]
    assert json.loads(payload[1:]) == want["control"]["args"]


def test_frame_buffer_handles_split_and_batched_input():
    data = b"".join(load(n)[0] for n in CASES)
    fb = protocol.FrameBuffer()
    got = []
    for i in range(0, len(data), 7):
        fb.feed(data[i:i + 7])
        got.extend(fb.frames())
    assert len(got) == len(CASES)


def test_truncated_request_is_a_protocol_error():
    data, _ = load("request_get")
    payload = data[protocol.HEADER_SIZE:]
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_request(payload[:20])


def test_oversized_frame_is_refused():
    fb = protocol.FrameBuffer()
    fb.feed(protocol.HEADER.pack(protocol.MAX_PAYLOAD + 1, protocol.HTTP_BODY, 0, 1))
    with pytest.raises(protocol.ProtocolError):
        fb.frames()


BIG = bytes(range(256)) * 2048  # 512 KiB
# Two large frames among small ones.
LARGE_AND_SMALL = (
    protocol.frame(protocol.HTTP_BODY, 1, b"before")
    + protocol.frame(protocol.HTTP_BODY, 2, BIG, protocol.MORE_BODY)
    + protocol.frame(protocol.HTTP_BODY, 3, b"after")
    + protocol.frame(protocol.HTTP_BODY, 4, BIG[:300_000])
)


def feed_in_pieces(fb, data, piece):
    """The frames fb gives for data fed piece bytes at a time."""
    got = []
    for i in range(0, len(data), piece):
        fb.feed(data[i:i + piece])
        got.extend(fb.frames())
    return got


@pytest.mark.parametrize("piece", [1, 7, 4096, 65536, 1 << 20])
def test_frame_buffer_large_frames_in_pieces(piece):
    """A frame much larger than what has arrived is collected piece by piece
    and comes out whole, with the small frames around it in order."""
    big = BIG
    got = feed_in_pieces(protocol.FrameBuffer(), LARGE_AND_SMALL, piece)
    assert [(f[2], f[1], f[3]) for f in got] == [
        (1, 0, b"before"), (2, protocol.MORE_BODY, big), (3, 0, b"after"), (4, 0, big[:300_000])
    ]
    assert all(type(f[3]) is bytes for f in got)


@pytest.mark.parametrize("piece", [1, 7, 4096, 65536, 1 << 20])
def test_frame_buffer_hands_large_body_frames_on_in_pieces(piece):
    """With pieces=(HTTP_BODY,), what has arrived of a large body frame comes
    out at once as PIECE frames and the frame's own type and flags end it;
    the pieces add up to the payload, in order among the frames around it."""
    big = BIG
    got = feed_in_pieces(protocol.FrameBuffer(pieces=(protocol.HTTP_BODY,)), LARGE_AND_SMALL, piece)
    whole = []
    for ftype, flags, sid, payload in got:
        assert type(payload) is bytes
        if whole and whole[-1][0] == protocol.PIECE:
            assert whole[-1][2] == sid  # a piece is followed by more of its own frame
            whole[-1] = (ftype, flags, sid, whole[-1][3] + payload)
        else:
            whole.append((ftype, flags, sid, payload))
    assert [(f[0], f[2], f[1], f[3]) for f in whole] == [
        (protocol.HTTP_BODY, 1, 0, b"before"),
        (protocol.HTTP_BODY, 2, protocol.MORE_BODY, big),
        (protocol.HTTP_BODY, 3, 0, b"after"),
        (protocol.HTTP_BODY, 4, 0, big[:300_000]),
    ]
    if piece < len(LARGE_AND_SMALL):
        assert any(f[0] == protocol.PIECE for f in got)


def test_frame_buffer_hands_the_rest_of_a_body_frame_on_as_received():
    big = protocol.frame(protocol.HTTP_BODY, 1, b"x" * 600_000, protocol.MORE_BODY)
    fb = protocol.FrameBuffer(pieces=(protocol.HTTP_BODY,))
    fb.feed(big[:100_000])
    assert fb.frames() == [(protocol.PIECE, 0, 1, big[protocol.HEADER_SIZE:100_000])]
    assert fb.wanted(65536) == len(big) - 100_000
    rest = big[100_000:]
    fb.feed(rest)
    (frame,) = fb.frames()
    assert frame[:3] == (protocol.HTTP_BODY, protocol.MORE_BODY, 1)
    assert frame[3] is rest  # the bytes of the read, not a copy
    assert fb.wanted(65536) == 65536


def test_frame_buffer_asks_for_the_rest_of_a_large_frame():
    big = protocol.frame(protocol.HTTP_BODY, 1, b"x" * 600_000)
    fb = protocol.FrameBuffer()
    assert fb.wanted(65536) == 65536
    fb.feed(big[:100_000])
    assert fb.frames() == []
    # The rest comes in one read rather than in 64 KiB pieces.
    assert fb.wanted(65536) == len(big) - 100_000
    fb.feed(big[100_000:])
    assert [f[3] for f in fb.frames()] == [b"x" * 600_000]
    assert fb.wanted(65536) == 65536
