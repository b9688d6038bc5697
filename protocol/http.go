package protocol

import (
	"encoding/binary"
	"fmt"
)

// Scheme codes on the wire.
const (
	SchemeHTTP  = 0
	SchemeHTTPS = 1
)

// HTTP version codes on the wire: the major version in the high nibble.
const (
	HTTP10 = 0x10
	HTTP11 = 0x11
	HTTP2  = 0x20
)

// Header is one header line. Request header names are lower-cased on the wire.
type Header struct {
	Name, Value []byte
}

// Request is the ASGI HTTP connection scope plus the first http.request body
// chunk. Its byte slices may alias the caller's memory.
type Request struct {
	HTTPVersion uint8
	Scheme      uint8
	Method      []byte
	ClientHost  []byte
	ClientPort  uint16
	ServerHost  []byte
	ServerPort  uint16
	RootPath    []byte
	Path        []byte // percent-decoded, UTF-8 bytes
	RawPath     []byte // as received, without the query
	QueryString []byte
	Headers     []Header
	Body        []byte
}

// AppendRequest appends an http.request frame. more says whether body chunks
// follow (ASGI more_body).
func AppendRequest(dst []byte, stream uint32, more bool, r *Request) ([]byte, error) {
	var fl Flags
	if more {
		fl = FlagMoreBody
	}
	dst, start := beginFrame(dst, TypeHTTPRequest, fl, stream)
	dst = append(dst, r.HTTPVersion, r.Scheme)
	dst = binary.BigEndian.AppendUint16(dst, r.ClientPort)
	dst = binary.BigEndian.AppendUint16(dst, r.ServerPort)
	var err error
	if dst, err = appendStr8(dst, r.Method); err != nil {
		return nil, fmt.Errorf("method: %w", err)
	}
	if dst, err = appendStr8(dst, r.ClientHost); err != nil {
		return nil, fmt.Errorf("client host: %w", err)
	}
	if dst, err = appendStr8(dst, r.ServerHost); err != nil {
		return nil, fmt.Errorf("server host: %w", err)
	}
	for _, f := range [...][]byte{r.RootPath, r.Path, r.RawPath, r.QueryString} {
		if dst, err = appendStr16(dst, f); err != nil {
			return nil, fmt.Errorf("path or query: %w", err)
		}
	}
	if dst, err = appendHeaders(dst, r.Headers, true); err != nil {
		return nil, err
	}
	dst = append(dst, r.Body...)
	if len(dst)-start-HeaderSize > MaxPayload {
		return nil, ErrFrameTooLarge
	}
	return endFrame(dst, start), nil
}

// DecodeRequest decodes an http.request frame payload. The result aliases p.
func DecodeRequest(p []byte) (*Request, error) {
	d := decoder{p: p}
	r := &Request{}
	r.HTTPVersion = d.u8()
	r.Scheme = d.u8()
	r.ClientPort = d.u16()
	r.ServerPort = d.u16()
	r.Method = d.str8()
	r.ClientHost = d.str8()
	r.ServerHost = d.str8()
	r.RootPath = d.str16()
	r.Path = d.str16()
	r.RawPath = d.str16()
	r.QueryString = d.str16()
	r.Headers = d.headers()
	r.Body = d.rest()
	if d.err {
		return nil, ErrMalformed
	}
	return r, nil
}

// ResponseStart is http.response.start, with the first body chunk.
type ResponseStart struct {
	Status int
	// Route is the URL pattern the request resolved to ("/items/<int:pk>"),
	// nil when it resolved to none.
	Route   []byte
	Headers []Header
	Body    []byte
}

// AppendResponseStart appends an http.response.start frame carrying the first
// body chunk; more says whether http.response.body frames follow.
func AppendResponseStart(dst []byte, stream uint32, more bool, r *ResponseStart) ([]byte, error) {
	var fl Flags
	if more {
		fl = FlagMoreBody
	}
	if r.Route != nil {
		fl |= FlagRoute
	}
	dst, start := beginFrame(dst, TypeResponseStart, fl, stream)
	dst = binary.BigEndian.AppendUint16(dst, uint16(r.Status))
	if r.Route != nil {
		if len(r.Route) > 0xffff {
			return nil, ErrFrameTooLarge
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Route)))
		dst = append(dst, r.Route...)
	}
	dst, err := appendHeaders(dst, r.Headers, false)
	if err != nil {
		return nil, err
	}
	dst = append(dst, r.Body...)
	return endFrame(dst, start), nil
}

// DecodeResponseStart decodes an http.response.start payload sent with
// flags fl. The result aliases p.
func DecodeResponseStart(p []byte, fl Flags) (*ResponseStart, error) {
	d := decoder{p: p}
	r := &ResponseStart{Status: int(d.u16())}
	if fl&FlagRoute != 0 {
		r.Route = d.str16()
	}
	r.Headers = d.headers()
	r.Body = d.rest()
	if d.err || r.Status < 100 || r.Status > 999 {
		return nil, ErrMalformed
	}
	return r, nil
}

// AppendBodyAck appends a credit of n bytes for the stream's response body.
func AppendBodyAck(dst []byte, stream uint32, n uint32) []byte {
	dst = AppendHeader(dst, TypeBodyAck, 0, stream, 4)
	return binary.BigEndian.AppendUint32(dst, n)
}

// SharedBody locates a body chunk in the shared body region: Length bytes
// from the start of slot Slot (a response slot, which the worker fills, or
// a request slot, which Go fills).
type SharedBody struct {
	Slot   uint32
	Length uint32
}

// AppendShared appends a body frame of type t (TypeResponseShared or
// TypeBodyShared) whose bytes are in the shared body region; fl has
// FlagMoreBody unless it is the last, and FlagWithRequest for a request's
// first chunk.
func AppendShared(dst []byte, t Type, stream uint32, fl Flags, b SharedBody) []byte {
	dst = AppendHeader(dst, t, fl, stream, 8)
	dst = binary.BigEndian.AppendUint32(dst, b.Slot)
	return binary.BigEndian.AppendUint32(dst, b.Length)
}

// DecodeShared decodes a shared body payload.
func DecodeShared(p []byte) (SharedBody, error) {
	if len(p) != 8 {
		return SharedBody{}, ErrMalformed
	}
	return SharedBody{Slot: binary.BigEndian.Uint32(p), Length: binary.BigEndian.Uint32(p[4:])}, nil
}

// AppendSlots appends a frame of type t (TypeSlotsFree or
// TypeBodySlotsFree) giving shared body slots back.
func AppendSlots(dst []byte, t Type, slots ...uint32) []byte {
	dst = AppendHeader(dst, t, 0, 0, 4*len(slots))
	for _, s := range slots {
		dst = binary.BigEndian.AppendUint32(dst, s)
	}
	return dst
}

// DecodeSlots decodes the slot numbers of a slots-free payload.
func DecodeSlots(p []byte) ([]uint32, error) {
	if len(p)%4 != 0 {
		return nil, ErrMalformed
	}
	slots := make([]uint32, len(p)/4)
	for i := range slots {
		slots[i] = binary.BigEndian.Uint32(p[4*i:])
	}
	return slots, nil
}

// DecodeBodyAck decodes a body ack payload.
func DecodeBodyAck(p []byte) (uint32, error) {
	if len(p) != 4 {
		return 0, ErrMalformed
	}
	return binary.BigEndian.Uint32(p), nil
}

func appendHeaders(dst []byte, hs []Header, lower bool) ([]byte, error) {
	if len(hs) > 0xffff {
		return nil, fmt.Errorf("%d headers: %w", len(hs), ErrFrameTooLarge)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(hs)))
	for _, h := range hs {
		if len(h.Name) > 0xffff || len(h.Value) > 0xffff {
			return nil, fmt.Errorf("header %.40q: %w", h.Name, ErrFrameTooLarge)
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.Name)))
		if lower {
			for _, c := range h.Name {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				dst = append(dst, c)
			}
		} else {
			dst = append(dst, h.Name...)
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	return dst, nil
}

func appendStr8(dst, s []byte) ([]byte, error) {
	if len(s) > 0xff {
		return nil, fmt.Errorf("%d bytes: %w", len(s), ErrFrameTooLarge)
	}
	return append(append(dst, byte(len(s))), s...), nil
}

func appendStr16(dst, s []byte) ([]byte, error) {
	if len(s) > 0xffff {
		return nil, fmt.Errorf("%d bytes: %w", len(s), ErrFrameTooLarge)
	}
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(s))), s...), nil
}

// decoder reads fields sequentially and remembers the first overrun.
type decoder struct {
	p   []byte
	off int
	err bool
}

func (d *decoder) take(n int) []byte {
	if d.err || d.off+n > len(d.p) {
		d.err = true
		return nil
	}
	b := d.p[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

func (d *decoder) u8() uint8 {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) u16() uint16 {
	b := d.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (d *decoder) str8() []byte  { return d.take(int(d.u8())) }
func (d *decoder) str16() []byte { return d.take(int(d.u16())) }

func (d *decoder) headers() []Header {
	n := int(d.u16())
	if d.err {
		return nil
	}
	hs := make([]Header, 0, n)
	for range n {
		name := d.str16()
		value := d.str16()
		if d.err {
			return nil
		}
		hs = append(hs, Header{Name: name, Value: value})
	}
	return hs
}

func (d *decoder) rest() []byte {
	if d.err {
		return nil
	}
	b := d.p[d.off:]
	d.off = len(d.p)
	return b
}
