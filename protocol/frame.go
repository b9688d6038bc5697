package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version exchanged in the hello handshake. Bump it on
// any incompatible change of the frame layout.
const Version = 1

// HeaderSize is the size of the fixed frame header.
const HeaderSize = 10

// MaxPayload bounds a single frame's payload; larger frames are a protocol error.
const MaxPayload = 16 << 20

// Type identifies what a frame carries.
type Type uint8

// Frame types. Values are part of the wire format.
const (
	TypeHello           Type = 0x01 // worker → Go: JSON handshake
	TypeWelcome         Type = 0x02 // Go → worker: JSON handshake answer
	TypeHTTPRequest     Type = 0x10 // Go → worker: scope + first http.request body
	TypeHTTPBody        Type = 0x11 // Go → worker: http.request body chunk
	TypeHTTPDisconnect  Type = 0x12 // Go → worker: http.disconnect
	TypeBodyRead        Type = 0x13 // worker → Go: the app wants the next body chunk
	TypeBodyShared      Type = 0x14 // Go → worker: http.request body chunk in a request slot of the shared body region
	TypeBodySlotsFree   Type = 0x15 // worker → Go: request slots copied out, free again
	TypeResponseStart   Type = 0x20 // worker → Go: http.response.start (+ first body)
	TypeResponseBody    Type = 0x21 // worker → Go: http.response.body
	TypeBodyAck         Type = 0x22 // Go → worker: bytes written to the client (credit)
	TypeResponseAbort   Type = 0x23 // worker → Go: the app failed after the response started
	TypeResponseShared  Type = 0x24 // worker → Go: http.response.body in a slot of the shared body region
	TypeSlotsFree       Type = 0x25 // Go → worker: shared body slots written to the client, free again
	TypeControlRequest  Type = 0x30 // Go → worker: control lane request
	TypeControlResponse Type = 0x31 // worker → Go: control lane answer
	TypeMessage         Type = 0x40 // Go → worker: an AMQP delivery for the handler
	TypeSettle          Type = 0x41 // worker → Go: the handler acked, nacked or rejected
	TypeMessageDone     Type = 0x42 // worker → Go: the handler returned (or raised)
	TypePublish         Type = 0x43 // worker → Go: the handler publishes a message
)

// Flags modify a frame.
type Flags uint8

// FlagMoreBody is ASGI's more_body: further body frames follow on this stream.
const FlagMoreBody Flags = 0x01

// FlagRoute on http.response.start: the payload carries the URL pattern
// Django resolved the request to, for metric labels.
const FlagRoute Flags = 0x02

// FlagWithRequest on a BODY_SHARED frame: the chunk goes with the request
// (Go read it before sending the request), not in answer to a BODY_READ,
// so a BODY_READ the app sent meanwhile is still to be answered.
const FlagWithRequest Flags = 0x04

// Frame is one decoded frame. Payload aliases the reader's buffer until the
// next call to Reader.Next.
type Frame struct {
	Type    Type
	Flags   Flags
	Stream  uint32
	Payload []byte
}

// MoreBody reports whether FlagMoreBody is set.
func (f Frame) MoreBody() bool { return f.Flags&FlagMoreBody != 0 }

// ErrFrameTooLarge is returned for a frame whose payload exceeds MaxPayload.
var ErrFrameTooLarge = errors.New("frame payload exceeds limit")

// ErrMalformed is returned when a payload does not decode.
var ErrMalformed = errors.New("malformed frame payload")

// AppendHeader appends a frame header for a payload of n bytes.
func AppendHeader(dst []byte, t Type, fl Flags, stream uint32, n int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, byte(t), byte(fl))
	return binary.BigEndian.AppendUint32(dst, stream)
}

// AppendFrame appends a whole frame with the given payload.
func AppendFrame(dst []byte, t Type, fl Flags, stream uint32, payload []byte) []byte {
	dst = AppendHeader(dst, t, fl, stream, len(payload))
	return append(dst, payload...)
}

// beginFrame reserves a header whose length endFrame fills in, so variable
// payloads are encoded in place without a second buffer.
func beginFrame(dst []byte, t Type, fl Flags, stream uint32) ([]byte, int) {
	start := len(dst)
	return AppendHeader(dst, t, fl, stream, 0), start
}

func endFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-HeaderSize))
	return dst
}

// Reader reads frames from a stream, reusing one buffer.
type Reader struct {
	r   io.Reader
	hdr [HeaderSize]byte
	buf []byte

	// Alloc, when set, is offered each frame's type and payload size; a
	// buffer it returns (of that length) receives the payload, which then
	// belongs to the caller instead of aliasing the reader's buffer. It
	// returns nil for frames the reader's own buffer should take.
	Alloc func(t Type, n int) []byte
}

// NewReader returns a Reader on r, which should be buffered.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next reads the next frame. The payload is valid until the next call.
func (rd *Reader) Next() (Frame, error) {
	if _, err := io.ReadFull(rd.r, rd.hdr[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(rd.hdr[0:4])
	if n > MaxPayload {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	var p []byte
	if rd.Alloc != nil {
		p = rd.Alloc(Type(rd.hdr[4]), int(n))
	}
	if p == nil {
		if cap(rd.buf) < int(n) {
			rd.buf = make([]byte, n)
		}
		p = rd.buf[:n]
	}
	if _, err := io.ReadFull(rd.r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return Frame{
		Type:    Type(rd.hdr[4]),
		Flags:   Flags(rd.hdr[5]),
		Stream:  binary.BigEndian.Uint32(rd.hdr[6:10]),
		Payload: p,
	}, nil
}
