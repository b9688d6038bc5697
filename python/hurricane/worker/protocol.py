"""Frames of the worker bridge, as documented in docs/protocol.md.

Kept byte-compatible with the Go package ``protocol`` by the golden frames in
``protocol/testdata/golden``.
"""

import json
import struct

VERSION = 1
HEADER = struct.Struct(">IBBI")
HEADER_SIZE = HEADER.size  # 10
MAX_PAYLOAD = 16 << 20

HELLO = 0x01
WELCOME = 0x02
HTTP_REQUEST = 0x10
HTTP_BODY = 0x11
HTTP_DISCONNECT = 0x12
BODY_READ = 0x13
BODY_SHARED = 0x14  # Go → worker: http.request body in a request slot of the shared body region
BODY_SLOTS_FREE = 0x15  # worker → Go: request slots copied out, free again
RESPONSE_START = 0x20
RESPONSE_BODY = 0x21
BODY_ACK = 0x22
RESPONSE_ABORT = 0x23
RESPONSE_SHARED = 0x24  # worker → Go: http.response.body in a shared body slot
SLOTS_FREE = 0x25  # Go → worker: shared body slots free again
CONTROL_REQUEST = 0x30
CONTROL_RESPONSE = 0x31
MESSAGE = 0x40  # Go → worker: an AMQP delivery for the handler
SETTLE = 0x41  # worker → Go: the handler acked, nacked or rejected
MESSAGE_DONE = 0x42  # worker → Go: the handler returned (or raised)
PUBLISH = 0x43  # worker → Go: the handler publishes a message

# Not on the wire: a leading piece of a large frame (FrameBuffer's pieces).
PIECE = 0x100

MORE_BODY = 0x01
ROUTE = 0x02  # http.response.start carries the resolved URL pattern
WITH_REQUEST = 0x04  # BODY_SHARED: the request's first chunk, not the answer to a BODY_READ

OP_PING = 1
OP_STATS = 2
OP_SETTINGS = 3
OP_SHUTDOWN = 4
OP_SPILL = 5
OP_CHECKS = 6
OP_DATABASE = 7
OP_MIGRATE = 8
OP_PROBE = 9
OP_FIND_STATIC = 10
OP_METRICS = 11
OP_HANDLER = 12

STATUS_OK = 0
STATUS_ERROR = 1

HTTP_VERSIONS = {0x10: "1.0", 0x11: "1.1", 0x20: "2"}
SCHEMES = ("http", "https")

_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from
_REQ_FIXED = struct.Struct(">BBHH")
_U16 = struct.Struct(">H")
_unpack_u16 = _U16.unpack_from
_U32 = struct.Struct(">I")


class ProtocolError(Exception):
    """The peer sent something this protocol version does not allow."""


def frame(ftype, stream, payload=b"", flags=0):
    """Return one encoded frame."""
    return _pack_header(len(payload), ftype, flags, stream) + payload


def json_frame(ftype, stream, obj):
    return frame(ftype, stream, json.dumps(obj, separators=(",", ":")).encode())


def encode_meta(ftype, stream, meta, body=b""):
    """A frame whose payload is a JSON header (u32 length first) followed by
    a raw body: MESSAGE and PUBLISH."""
    js = json.dumps(meta, separators=(",", ":")).encode()
    payload = _U32.pack(len(js)) + js + bytes(body)
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError("frame of %d bytes exceeds the limit" % len(payload))
    return frame(ftype, stream, payload)


def decode_meta(p):
    """Split a MESSAGE or PUBLISH payload into (meta dict, body bytes)."""
    if len(p) < 4:
        raise ProtocolError("message frame is truncated")
    (n,) = _U32.unpack_from(p, 0)
    if n > len(p) - 4:
        raise ProtocolError("message frame is truncated")
    try:
        meta = json.loads(bytes(p[4:4 + n]))
    except ValueError as exc:
        raise ProtocolError("message header is not JSON: %s" % exc) from exc
    if not isinstance(meta, dict):
        raise ProtocolError("message header is not a JSON object")
    return meta, bytes(p[4 + n:])


class Request:
    """The ASGI HTTP scope fields of an http.request frame, plus its first body."""

    __slots__ = (
        "http_version", "scheme", "method", "client", "server", "root_path",
        "path", "raw_path", "query_string", "headers", "body",
    )

    def scope(self):
        """The ASGI HTTP connection scope."""
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": self.http_version,
            "method": self.method,
            "scheme": self.scheme,
            "path": self.path.decode("utf-8", "replace"),
            "raw_path": self.raw_path,
            "query_string": self.query_string,
            "root_path": self.root_path.decode("utf-8", "replace"),
            "headers": self.headers,
            "client": self.client,
            "server": self.server,
            "extensions": {},
            "state": {},
        }


def decode_request(p):
    """Decode an http.request payload (bytes or memoryview) into a Request."""
    if type(p) is not bytes:
        p = bytes(p)
    try:
        version, scheme, cport, sport = _REQ_FIXED.unpack_from(p, 0)
        off = 7
        end = off + p[6]
        method = p[off:end].decode("latin-1")
        off = end + 1
        end = off + p[off - 1]
        chost = p[off:end].decode("latin-1")
        off = end + 1
        end = off + p[off - 1]
        shost = p[off:end].decode("latin-1")
        off = end
        fields = []
        for _ in range(4):
            start = off + 2
            off = start + (p[off] << 8 | p[off + 1])
            fields.append(p[start:off])
        count = p[off] << 8 | p[off + 1]
        off += 2
        headers = []
        append = headers.append
        for _ in range(count):
            start = off + 2
            off = start + (p[off] << 8 | p[off + 1])
            name = p[start:off]
            start = off + 2
            off = start + (p[off] << 8 | p[off + 1])
            append((name, p[start:off]))
        if off > len(p):
            raise ProtocolError("http.request frame is truncated")
    except (struct.error, IndexError) as exc:
        raise ProtocolError("http.request frame is truncated") from exc
    r = Request()
    r.http_version = HTTP_VERSIONS.get(version, "1.1")
    r.scheme = SCHEMES[scheme] if scheme < 2 else "http"
    r.method = method
    r.client = (chost, cport) if chost else None
    r.server = (shost, sport) if shost else None
    r.root_path, r.path, r.raw_path, r.query_string = fields
    r.headers = headers
    r.body = p[off:]
    return r


def encode_request(stream, r, more_body=False):
    """Encode a Request (used by tests and tools; Go is the real sender)."""
    def s8(b):
        return bytes([len(b)]) + b

    def s16(b):
        return _U16.pack(len(b)) + b

    codes = {v: k for k, v in HTTP_VERSIONS.items()}
    parts = [
        _REQ_FIXED.pack(codes[r.http_version], SCHEMES.index(r.scheme),
                        r.client[1] if r.client else 0, r.server[1] if r.server else 0),
        s8(r.method.encode("latin-1")),
        s8(r.client[0].encode("latin-1") if r.client else b""),
        s8(r.server[0].encode("latin-1") if r.server else b""),
        s16(r.root_path), s16(r.path), s16(r.raw_path), s16(r.query_string),
        _U16.pack(len(r.headers)),
    ]
    for name, value in r.headers:
        parts.append(s16(name) + s16(value))
    parts.append(r.body)
    return frame(HTTP_REQUEST, stream, b"".join(parts), MORE_BODY if more_body else 0)


def encode_response_start(stream, status, headers, body=b"", more_body=False, route=None):
    """Encode http.response.start with its first body chunk.

    headers is a list of (bytes, bytes) pairs; route, when not None, is the
    URL pattern (str) Django resolved the request to.
    """
    flags = MORE_BODY if more_body else 0
    parts = [_U16.pack(status)]
    if route is not None:
        flags |= ROUTE
        r = route.encode("utf-8")[:0xFFFF]
        parts.append(_U16.pack(len(r)))
        parts.append(r)
    parts.append(_U16.pack(len(headers)))
    for name, value in headers:
        parts.append(_U16.pack(len(name)))
        parts.append(name)
        parts.append(_U16.pack(len(value)))
        parts.append(value)
    parts.append(body)
    payload = b"".join(parts)
    return _pack_header(len(payload), RESPONSE_START, flags, stream) + payload


def decode_response_start(p, flags=0):
    """Decode an http.response.start payload into (status, headers, body, route)."""
    (status,) = _unpack_u16(p, 0)
    off = 2
    route = None
    if flags & ROUTE:
        (n,) = _unpack_u16(p, off)
        route = bytes(p[off + 2:off + 2 + n]).decode("utf-8")
        off += 2 + n
    (count,) = _unpack_u16(p, off)
    off += 2
    headers = []
    for _ in range(count):
        (n,) = _unpack_u16(p, off)
        name = bytes(p[off + 2:off + 2 + n])
        off += 2 + n
        (n,) = _unpack_u16(p, off)
        headers.append((name, bytes(p[off + 2:off + 2 + n])))
        off += 2 + n
    return status, headers, bytes(p[off:]), route


def response_body(stream, body, more_body):
    return response_body_header(stream, len(body), more_body) + body


_SHARED = struct.Struct(">IBBIII")


def response_shared(stream, slot, n, more_body):
    """An http.response.body frame whose n bytes are in shared body slot slot."""
    return _SHARED.pack(8, RESPONSE_SHARED, MORE_BODY if more_body else 0, stream, slot, n)


def decode_shared(payload):
    """(slot, length) of a shared body payload (BODY_SHARED, RESPONSE_SHARED)."""
    return _SLOT_LENGTH.unpack(payload)


_SLOT_LENGTH = struct.Struct(">II")


def decode_slots(payload):
    """The slot numbers of a SLOTS_FREE or BODY_SLOTS_FREE payload."""
    return struct.unpack(">%dI" % (len(payload) // 4), payload)


def body_slots_free(slots):
    """A BODY_SLOTS_FREE frame giving request slots back to Go."""
    return HEADER.pack(4 * len(slots), BODY_SLOTS_FREE, 0, 0) + struct.pack(">%dI" % len(slots), *slots)


def response_body_header(stream, n, more_body):
    """The header of an http.response.body frame of n bytes, for a payload
    written after it without a copy (DataLane.send_now's tail)."""
    return _pack_header(n, RESPONSE_BODY, MORE_BODY if more_body else 0, stream)


class FrameBuffer:
    """Splits a byte stream into frames.

    Payloads are slices of the received bytes (one copy each). A frame
    larger than what has arrived collects its pieces in a list and joins
    them once complete, so a megabyte in 64 KiB reads is not re-copied on
    every read. Frames of the types in ``pieces`` are not joined: what has
    arrived of one comes out at once as a PIECE frame, the rest as it is
    received (the bytes of each read, not copied again), the last piece
    with the frame's own type and flags.
    """

    def __init__(self, pieces=()):
        self.pieces = frozenset(pieces)
        self.buf = b""
        self.parts = None  # pieces of an incomplete large frame
        self.piece = None  # (type, flags, stream) of a frame handed on in pieces
        self.have = 0
        self.need = 0

    def wanted(self, least):
        """How much to ask the socket for: at least least bytes, or the rest
        of a large frame being collected, so it comes in one read."""
        if self.parts is not None or self.piece is not None:
            return max(least, self.need - self.have)
        return least

    def feed(self, data):
        if self.parts is not None:
            self.parts.append(data)
            self.have += len(data)
            if self.have >= self.need:
                self.buf = b"".join(self.parts)
                self.parts = None
        elif self.buf:
            self.buf += data
        else:
            self.buf = bytes(data)

    def frames(self):
        """Every complete frame received, as (type, flags, stream, payload bytes)."""
        if self.parts is not None:
            return []
        out = []
        buf = self.buf
        if self.piece is not None:
            ftype, flags, stream = self.piece
            left = self.need - self.have
            if len(buf) < left:
                self.have += len(buf)
                self.buf = b""
                if buf:
                    out.append((PIECE, 0, stream, buf))
                return out
            out.append((ftype, flags, stream, buf if len(buf) == left else buf[:left]))
            self.piece = None
            buf = buf[left:]
        pos = 0
        end = len(buf)
        while end - pos >= HEADER_SIZE:
            length, ftype, flags, stream = _unpack_header(buf, pos)
            if length > MAX_PAYLOAD:
                raise ProtocolError("frame of %d bytes exceeds the limit" % length)
            stop = pos + HEADER_SIZE + length
            if stop > end:
                break
            out.append((ftype, flags, stream, buf[pos + HEADER_SIZE:stop]))
            pos = stop
        rest = buf[pos:] if pos else buf
        if end - pos >= HEADER_SIZE and stop - pos > 2 * (end - pos):
            # Most of a large frame is still to come: hand on what is here
            # or collect its pieces.
            if ftype in self.pieces:
                if end - pos > HEADER_SIZE:
                    out.append((PIECE, 0, stream, buf[pos + HEADER_SIZE:end]))
                self.piece = (ftype, flags, stream)
                self.have = end - pos - HEADER_SIZE
                self.need = length
            else:
                self.parts = [rest]
                self.have = len(rest)
                self.need = stop - pos
            rest = b""
        self.buf = rest
        return out
