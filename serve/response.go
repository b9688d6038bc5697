package serve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hurricane-run/hurricane/worker"
)

// start applies http.response.start and either sets the whole body or hands
// fasthttp a reader that streams the rest from the worker.
func (x *exchange) start(ctx *fasthttp.RequestCtx, ev *worker.Event) {
	resp := &ctx.Response
	resp.SetStatusCode(ev.Status)
	length := int64(-1)
	hasRequestID := false
	for _, h := range ev.Headers {
		switch {
		case equalFoldASCII(h.Name, []byte("content-length")):
			if n, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil && n >= 0 {
				length = n
			}
		case equalFoldASCII(h.Name, []byte("content-type")):
			resp.Header.SetContentTypeBytes(h.Value)
		case equalFoldASCII(h.Name, []byte("transfer-encoding")):
			// fasthttp frames the body itself.
		case equalFoldASCII(h.Name, []byte("connection")):
			if equalFoldASCII(h.Value, []byte("close")) {
				ctx.SetConnectionClose()
			}
		default:
			if equalFoldASCII(h.Name, headerRequestID) {
				hasRequestID = true
			}
			resp.Header.AddBytesKV(h.Name, h.Value)
		}
	}
	if !hasRequestID {
		resp.Header.Set("X-Request-ID", x.requestID)
	}
	x.route = x.srv.internRoute(ev.Route)
	if !ev.More {
		resp.SetBodyRaw(ev.Body)
		x.st.Close()
		sent := int64(len(ev.Body))
		if ctx.IsHead() {
			sent = 0
		}
		x.srv.finish(x, ev.Status, sent, x.st.Slot())
		return
	}
	b := &responseBody{x: x, status: ev.Status, cur: ev.Body, unacked: len(ev.Body)}
	if length > int64(^uint(0)>>1) {
		length = -1
	}
	if length < 0 && !ctx.Request.Header.IsHTTP11() {
		// HTTP/1.0 has no chunked encoding: the body ends when the
		// connection closes.
		x.streamHTTP10(ctx, b)
		return
	}
	resp.SetBodyStream(b, int(length))
}

// streamHTTP10 writes a response of unknown length to an HTTP/1.0 client
// itself, after the handler returns, and closes the connection at its end.
func (x *exchange) streamHTTP10(ctx *fasthttp.RequestCtx, b *responseBody) {
	ctx.SetConnectionClose()
	ctx.Response.Header.SetProtocol([]byte("HTTP/1.0"))
	head := append([]byte(nil), ctx.Response.Header.Header()...)
	headOnly := ctx.IsHead()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer b.Close()
		if _, err := c.Write(head); err != nil || headOnly {
			return
		}
		_, _ = io.Copy(c, b)
	})
}

var errAborted = errors.New("the app failed while streaming its response")

// responseBody streams a response from the worker to fasthttp, returning
// credit to the worker as fasthttp takes each chunk, so neither side holds
// more than about one window of body in memory.
type responseBody struct {
	x       *exchange
	status  int
	held    worker.Event // the EventBody cur is part of, released when written
	cur     []byte
	unacked int
	done    bool
	failed  bool
	written int64
	closed  bool
}

func (b *responseBody) Read(p []byte) (int, error) {
	st := b.x.st
	for len(b.cur) == 0 {
		if b.unacked > 0 {
			_ = st.Ack(b.unacked)
			b.unacked = 0
		}
		if b.done {
			return 0, io.EOF
		}
		b.release()
		ev := st.Next()
		switch ev.Kind {
		case worker.EventBody:
			b.held = ev
			b.cur = ev.Body
			b.unacked = len(ev.Body)
			b.done = !ev.More
		default:
			b.failed = true
			return 0, errAborted
		}
	}
	_ = b.x.conn.SetWriteDeadline(time.Now().Add(WriteIdleTimeout))
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	b.written += int64(n)
	return n, nil
}

// SupportsBodyWriteTo tells fasthttp to use WriteTo: whole chunks go to the
// connection (one flush per chunk when chunked) instead of 4 KiB reads.
func (b *responseBody) SupportsBodyWriteTo() bool { return true }

// WriteTo writes the rest of the body chunk by chunk as the worker sends it.
func (b *responseBody) WriteTo(w io.Writer) (int64, error) {
	st := b.x.st
	var total int64
	for {
		if len(b.cur) > 0 {
			_ = b.x.conn.SetWriteDeadline(writeDeadline(len(b.cur)))
			n, err := w.Write(b.cur)
			total += int64(n)
			b.written += int64(n)
			b.cur = b.cur[n:]
			if err != nil {
				return total, err
			}
		}
		if b.unacked > 0 {
			_ = st.Ack(b.unacked)
			b.unacked = 0
		}
		if b.done {
			return total, nil
		}
		b.release()
		ev := st.Next()
		if ev.Kind != worker.EventBody {
			b.failed = true
			return total, errAborted
		}
		b.held = ev
		b.cur = ev.Body
		b.unacked = len(ev.Body)
		b.done = !ev.More
	}
}

var _ fasthttp.BodyWriterTo = (*responseBody)(nil)

// writeDeadline is the deadline for writing n bytes to a client: a chunk
// from the shared region can be megabytes, written in one system call, and
// a slow client still taking them must not be cut off.
func writeDeadline(n int) time.Time {
	spans := max(1, (n+writeIdleSpan-1)/writeIdleSpan)
	return time.Now().Add(time.Duration(spans) * WriteIdleTimeout)
}

// release gives the chunk just written back (to the worker's shared body
// region or the worker package's pool).
func (b *responseBody) release() {
	if b.held.Kind != 0 {
		b.x.st.Release(b.held)
		b.held = worker.Event{}
	}
}

// Close is called by fasthttp when it is done with the body, written or not.
func (b *responseBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	b.release()
	b.cur = nil
	x := b.x
	if !b.done && !b.failed {
		// The client went away (or a HEAD response skipped the body): tell
		// the app, so it stops producing.
		_ = x.st.Disconnect()
	}
	x.st.Close()
	x.srv.finish(x, b.status, b.written, x.st.Slot())
	return nil
}

// unmatched labels requests that resolved to no route: Django found no
// view, a middleware answered first, or Go answered without the app.
const unmatched = "<unmatched>"

// finish records one answered request: the probes' request statistics, the
// metrics and the access log line.
func (s *Server) finish(x *exchange, status int, size int64, slot int) {
	d := time.Since(x.started)
	if s.state != nil {
		s.state.Served(d)
	}
	if s.metrics != nil {
		route := x.route
		if route == "" {
			route = unmatched
		}
		s.metrics.Observe(x.method, status, route, d, size)
		s.metrics.End()
	}
	if !s.cfg.AccessLog {
		return
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	}
	s.access.LogAttrs(context.Background(), level, "request",
		slog.String("method", x.method),
		slog.String("path", x.path),
		slog.String("route", x.route),
		slog.Int("status", status),
		slog.Int64("bytes", size),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("remote", x.remote),
		slog.String("request_id", x.requestID),
		slog.String("traceparent", x.trace),
		slog.Int("worker", slot),
	)
}

// internRoute returns the route as a string, allocating once per route.
func (s *Server) internRoute(b []byte) string {
	if b == nil {
		return ""
	}
	s.routesMu.RLock()
	r, ok := s.routes[string(b)]
	s.routesMu.RUnlock()
	if ok {
		return r
	}
	r = string(b)
	s.routesMu.Lock()
	if len(s.routes) < maxRoutes {
		s.routes[r] = r
	}
	s.routesMu.Unlock()
	return r
}

// maxRoutes bounds the interned routes; a URLconf has far fewer.
const maxRoutes = 4096
