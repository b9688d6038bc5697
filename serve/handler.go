package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hurricane-run/hurricane/protocol"
	"github.com/hurricane-run/hurricane/worker"
)

var (
	headerRequestID   = []byte("x-request-id")
	headerTraceparent = []byte("traceparent")
	headerXFF         = []byte("x-forwarded-for")
	headerXFP         = []byte("x-forwarded-proto")
	strHTTPS          = []byte("https")
)

// exchange is the per-request state the handler and the body pump share.
type exchange struct {
	srv       *Server
	st        *worker.Stream
	started   time.Time
	method    string
	path      string
	remote    string
	requestID string
	trace     string
	route     string // the URL pattern, for metrics
	body      io.Reader
	conn      net.Conn
	remaining int64 // declared body bytes not yet sent, -1 when chunked
	sent      int64
	chunk     *[]byte // the pooled buffer of the body chunk being sent
	bodyDone  bool
	tooLarge  bool
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	if s.probes != nil && s.probes.Handle(ctx) {
		return
	}
	x := &exchange{srv: s, started: time.Now(), conn: ctx.Conn()}
	if s.metrics != nil {
		s.metrics.Begin()
	}
	if s.state != nil {
		if !s.state.IsStarted() {
			// Probes share this port and startup has not finished.
			ctx.Response.Header.Set("Retry-After", "1")
			x.reject(ctx, fasthttp.StatusServiceUnavailable, "Service Unavailable")
			return
		}
		if s.state.IsShuttingDown() {
			// Clients reconnect elsewhere while this pod drains.
			ctx.SetConnectionClose()
		}
	}
	if s.files != nil {
		if route, ok := s.files.HandleMount(ctx); ok {
			x.route = route
			s.logFile(ctx, x)
			return
		}
	}
	var r protocol.Request
	hs := make([]protocol.Header, 0, 16)
	var xff []byte
	var proto []byte
	for k, v := range ctx.Request.Header.AllInOrder() {
		hs = append(hs, protocol.Header{Name: k, Value: v})
		switch {
		case equalFoldASCII(k, headerRequestID):
			x.requestID = string(v)
		case equalFoldASCII(k, headerTraceparent):
			x.trace = string(v)
		case equalFoldASCII(k, headerXFF):
			xff = v
		case equalFoldASCII(k, headerXFP):
			proto = v
		}
	}
	if x.requestID == "" {
		x.requestID = newRequestID()
		hs = append(hs, protocol.Header{Name: headerRequestID, Value: []byte(x.requestID)})
	}
	r.Headers = hs
	r.Method = ctx.Method()
	uri := ctx.Request.URI()
	r.RawPath = uri.PathOriginal()
	if i := bytes.IndexByte(r.RawPath, '?'); i >= 0 {
		r.RawPath = r.RawPath[:i]
	}
	r.Path = unescapePath(r.RawPath)
	r.QueryString = uri.QueryString()
	r.HTTPVersion = protocol.HTTP11
	if !ctx.Request.Header.IsHTTP11() {
		r.HTTPVersion = protocol.HTTP10
	}
	x.method = string(r.Method)
	x.path = string(r.RawPath)

	if ta, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		r.ClientHost = []byte(ta.IP.String())
		r.ClientPort = uint16(ta.Port)
		if s.forwarded.trusts(ta.IP) {
			if len(xff) > 0 {
				r.ClientHost = s.forwarded.clientFromForwarded(xff)
				r.ClientPort = 0
			}
			if bytes.EqualFold(bytes.TrimSpace(proto), strHTTPS) {
				r.Scheme = protocol.SchemeHTTPS
			}
		}
	}
	x.remote = string(r.ClientHost)
	if la, ok := ctx.LocalAddr().(*net.TCPAddr); ok {
		r.ServerHost = []byte(la.IP.String())
		r.ServerPort = uint16(la.Port)
	}

	cl := int64(ctx.Request.Header.ContentLength())
	if s.cfg.MaxBodySize > 0 && cl > s.cfg.MaxBodySize {
		x.reject(ctx, fasthttp.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	switch {
	case cl > 0:
		x.remaining = cl
		x.body = ctx.RequestBodyStream()
	case cl == -1: // chunked
		x.remaining = -1
		x.body = ctx.RequestBodyStream()
	default:
		x.bodyDone = true
	}
	st, status := x.dispatch(&r)
	if st == nil {
		x.reject(ctx, status, fasthttp.StatusMessage(status))
		return
	}
	x.st = st
	x.respond(ctx)
}

// dispatch reads the start of the body and sends the request to a worker.
// It returns the stream, or nil and the status to answer with.
//
// A body larger than the first chunk goes into a request slot of the
// worker's shared body region when one comes free within slotWait: Go reads
// the client straight into shared memory, the worker copies it out once,
// and the view finds the body whole instead of asking Go for the rest.
// The slot is taken before any of the body is read, so requests waiting for
// one hold no buffer. Without a slot the first chunk goes with the request
// and the rest through the socket as the app asks for it.
func (x *exchange) dispatch(r *protocol.Request) (*worker.Stream, int) {
	var st *worker.Stream
	if x.remaining > firstChunk {
		var err error
		if st, err = x.srv.pool.Open(); err != nil {
			return nil, fasthttp.StatusServiceUnavailable
		}
		if slot, ok := st.TakeBodySlot(slotWait); ok {
			n, more, err := x.fillSlot(slot)
			if err != nil {
				slot.Drop()
				st.Close()
				return nil, x.bodyErrorStatus()
			}
			if st.SendShared(r, slot, n, more) == nil {
				return st, 0
			}
			// The worker died since it was picked: another one gets the
			// body inline.
			st.Close()
			r.Body = bytes.Clone(slot.Buf[:n])
			slot.Drop()
			return x.send(r, more, nil)
		}
	}
	first, more, err := x.readBody(firstChunk)
	if err != nil {
		x.sentChunk()
		if st != nil {
			st.Close()
		}
		return nil, x.bodyErrorStatus()
	}
	r.Body = first
	return x.send(r, more, st)
}

// send sends the request to st's worker, or to a new stream's when st is
// nil. A worker that died since it was picked has not seen the request:
// another one is tried.
func (x *exchange) send(r *protocol.Request, more bool, st *worker.Stream) (*worker.Stream, int) {
	defer x.sentChunk()
	for range 3 {
		if st == nil {
			var err error
			if st, err = x.srv.pool.Open(); err != nil {
				return nil, fasthttp.StatusServiceUnavailable
			}
		}
		if st.Send(r, more) == nil {
			return st, 0
		}
		st.Close()
		st = nil
	}
	return nil, fasthttp.StatusBadGateway
}

// logFile finishes a static or media answer, which
// never reaches a worker (worker -1).
func (s *Server) logFile(ctx *fasthttp.RequestCtx, x *exchange) {
	x.method = string(ctx.Method())
	x.path = string(ctx.URI().PathOriginal())
	x.remote = ctx.RemoteIP().String()
	x.requestID = string(ctx.Request.Header.Peek("X-Request-ID"))
	if x.requestID == "" {
		x.requestID = newRequestID()
	}
	ctx.Response.Header.Set("X-Request-ID", x.requestID)
	x.trace = string(ctx.Request.Header.Peek("traceparent"))
	// Body() would drain a stream (a large file) into memory: ask the
	// header for those.
	var size int64
	if ctx.Response.IsBodyStream() {
		size = int64(ctx.Response.Header.ContentLength())
	} else {
		size = int64(len(ctx.Response.Body()))
	}
	if ctx.IsHead() || size < 0 {
		size = 0
	}
	s.finish(x, ctx.Response.StatusCode(), size, -1)
}

// respond waits for the worker's answer, feeding it request body on demand.
func (x *exchange) respond(ctx *fasthttp.RequestCtx) {
	st := x.st
	for {
		ev := st.Next()
		switch ev.Kind {
		case worker.EventRead:
			if err := x.sendChunk(st); err != nil {
				// The client went away, stalled or sent too much: the app
				// learns of it as http.disconnect.
				_ = st.Disconnect()
				if x.tooLarge {
					st.Close()
					x.reject(ctx, fasthttp.StatusRequestEntityTooLarge, "Request Entity Too Large")
					return
				}
			}
		case worker.EventStart:
			x.start(ctx, &ev)
			return
		case worker.EventAbort, worker.EventGone:
			st.Close()
			x.reject(ctx, fasthttp.StatusBadGateway, "Bad Gateway")
			return
		}
	}
}

// sendChunk reads the next request body chunk and sends it to st's
// worker: through a request slot when the body's length is known and a
// slot is free at once, else through the socket.
func (x *exchange) sendChunk(st *worker.Stream) error {
	if x.remaining > 0 {
		if slot, ok := st.TakeBodySlot(0); ok {
			n, more, err := x.fillSlot(slot)
			if err != nil {
				slot.Drop()
				return err
			}
			if st.SendShared(nil, slot, n, more) != nil {
				slot.Drop() // the worker is gone: the stream says so next
			}
			return nil
		}
	}
	chunk, more, err := x.readBody(x.srv.chunk)
	if err == nil {
		_ = st.SendBody(chunk, more)
	}
	x.sentChunk()
	return err
}

// fillSlot reads the next body chunk into a request slot. A client whose
// body trickles in holds the slot for about slotFill: what came by then
// goes as the chunk, and the rest follows as the app asks for it.
func (x *exchange) fillSlot(slot worker.BodySlot) (int, bool, error) {
	return x.readBodyInto(slot.Buf[:min(len(slot.Buf), x.srv.chunk)], time.Now().Add(slotFill))
}

// readBody reads up to n bytes of request body into a pooled chunk
// (x.chunk), reporting whether more follows.
func (x *exchange) readBody(n int) ([]byte, bool, error) {
	if x.bodyDone {
		return nil, false, nil
	}
	x.chunk = chunkPool.Get().(*[]byte)
	got, more, err := x.readBodyInto((*x.chunk)[:n], time.Time{})
	return (*x.chunk)[:got], more, err
}

// readBodyInto fills buf with request body, or as much as is left,
// reporting how much it read and whether more follows. After stop (when
// not zero) it returns what it has read instead of waiting for more.
func (x *exchange) readBodyInto(buf []byte, stop time.Time) (int, bool, error) {
	if x.bodyDone {
		return 0, false, nil
	}
	if x.remaining > 0 && int64(len(buf)) > x.remaining {
		buf = buf[:x.remaining]
	}
	got := 0
	var err error
	for got < len(buf) && err == nil {
		now := time.Now()
		if got > 0 && !stop.IsZero() && now.After(stop) {
			break
		}
		// An idle timeout: a slow client that keeps sending is not cut off
		// however long its chunk takes.
		_ = x.conn.SetReadDeadline(now.Add(BodyIdleTimeout))
		var n int
		n, err = x.body.Read(buf[got:])
		got += n
	}
	if err == io.EOF && got == len(buf) && got > 0 {
		err = nil // the body ended exactly here: the accounting below says so
	}
	x.sent += int64(got)
	if max := x.srv.cfg.MaxBodySize; max > 0 && x.sent > max {
		x.tooLarge = true
		x.bodyDone = true
		return 0, false, errBodyTooLarge
	}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		x.bodyDone = true
		if x.remaining > 0 && int64(got) < x.remaining {
			return got, false, io.ErrUnexpectedEOF // the client sent less than it declared
		}
		return got, false, nil
	default:
		x.bodyDone = true
		return got, false, err
	}
	if x.remaining > 0 {
		x.remaining -= int64(got)
		if x.remaining == 0 {
			x.bodyDone = true
			return got, false, nil
		}
	}
	return got, true, nil
}

var errBodyTooLarge = errors.New("request body exceeds --max-body-size")

// chunkPool holds request body chunk buffers: a chunk lives only from its
// read until its frame is queued (the sender copies it), so uploads hold
// few chunks at once however many run.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, bodyChunk); return &b }}

// sentChunk returns the chunk buffer once its frame is queued.
func (x *exchange) sentChunk() {
	if x.chunk != nil {
		chunkPool.Put(x.chunk)
		x.chunk = nil
	}
}

func (x *exchange) bodyErrorStatus() int {
	if x.tooLarge {
		return fasthttp.StatusRequestEntityTooLarge
	}
	return fasthttp.StatusBadRequest
}

// reject answers without the app.
func (x *exchange) reject(ctx *fasthttp.RequestCtx, status int, msg string) {
	retry := ctx.Response.Header.Peek("Retry-After")
	ctx.Response.Reset()
	if len(retry) > 0 {
		ctx.Response.Header.SetBytesV("Retry-After", retry)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(msg)
	ctx.Response.Header.Set("X-Request-ID", x.requestID)
	if status == fasthttp.StatusRequestEntityTooLarge || status == fasthttp.StatusBadRequest {
		ctx.SetConnectionClose()
	}
	x.srv.finish(x, status, int64(len(msg)), -1)
}

// newRequestID returns 32 random hex digits. IDs need to be unique, not
// secret: math/rand/v2's generator (ChaCha8, randomly seeded) avoids a
// system call per request.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

func equalFoldASCII(a, lower []byte) bool {
	if len(a) != len(lower) {
		return false
	}
	for i, c := range a {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// unescapePath percent-decodes a request path ("+" stays "+"), as ASGI's
// "path" wants; invalid escapes are kept as they are.
func unescapePath(raw []byte) []byte {
	i := bytes.IndexByte(raw, '%')
	if i < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	out = append(out, raw[:i]...)
	for ; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) {
			h, ok1 := unhex(raw[i+1])
			l, ok2 := unhex(raw[i+2])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				i += 2
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
