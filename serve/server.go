package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hurricane-run/hurricane/metrics"
	"github.com/hurricane-run/hurricane/probe"
	"github.com/hurricane-run/hurricane/static"
	"github.com/hurricane-run/hurricane/worker"
)

// HTTP limits and timeouts that are not flags.
const (
	// MaxHeaderBytes bounds the request line and headers; larger gets 431.
	MaxHeaderBytes = 64 << 10
	// HeadTimeout bounds reading a request's line and headers.
	HeadTimeout = 30 * time.Second
	// BodyIdleTimeout bounds the wait for each read of a request body, never
	// the whole body, so long uploads keep going while data flows.
	BodyIdleTimeout = 60 * time.Second
	// KeepAliveTimeout is longer than common load balancers' idle timeouts
	// (AWS ALB and nginx 60 s), so the balancer closes idle connections first.
	KeepAliveTimeout = 90 * time.Second
	// WriteIdleTimeout bounds each write to a client that stopped reading:
	// a client must take writeIdleSpan bytes of a response per
	// WriteIdleTimeout (a longer write gets a deadline for each span).
	WriteIdleTimeout = 60 * time.Second
	writeIdleSpan    = 256 << 10
	// bodyChunk is the largest request body chunk sent to a worker at once:
	// a 1 MiB upload then crosses in one round trip after the first chunk
	// (docs/protocol.md, "Flow control and streaming").
	bodyChunk = 1 << 20
	// firstChunk is the part of a body sent along with the request scope.
	firstChunk = 64 << 10
	// slotWait bounds how long a larger body waits for a request slot of
	// the shared body region before it takes the socket instead. Slots come
	// back as soon as the worker reads the frames naming them, between its
	// views, so a request waits here about as long as it would have queued
	// in the worker, holding no buffer; meanwhile its body waits in the
	// client's socket. With a 10 ms bound most of 64 uploading connections
	// fell back to the socket: 1 MiB uploads ran at 560-575 req/s instead
	// of 645-670 (two interleaved pairs).
	slotWait = time.Second
	// slotFill bounds how long a body that trickles in holds a request slot
	// (a client that pauses holds it until it sends again, at most
	// BodyIdleTimeout).
	slotFill = 100 * time.Millisecond
	// writeBufferSize is each connection's response buffer, held for the
	// connection's life: it gathers headers and small bodies, while large
	// bodies go to the socket past it. 4 KiB instead of 64 KiB keeps 60 KiB
	// less per keep-alive connection; with 64 uploading connections that is
	// 4 MB less live heap, and the collector, which the memory limit had
	// running back to back, ran 12 times instead of 80 in 6 s of 1 MiB
	// uploads (Go's CPU per upload 0.79 -> 0.74 ms, medians of 5 runs).
	writeBufferSize = 4 << 10
)

// Config is what the front end needs.
type Config struct {
	Port              int
	Interface         string
	MaxBodySize       int64 // 0: no limit
	MaxBufferSize     int
	ForwardedAllowIPs []string
	ShutdownTimeout   time.Duration
	AccessLog         bool // one log line per app request
}

// Dispatcher opens exchanges with workers.
type Dispatcher interface {
	Open() (*worker.Stream, error)
}

var _ Dispatcher = (*worker.Pool)(nil)

// ErrShutdownTimeout means in-flight requests were cut off at shutdown.
var ErrShutdownTimeout = errors.New("in-flight requests did not finish within the shutdown timeout")

// Server is the app server.
type Server struct {
	cfg       Config
	log       *slog.Logger
	access    *slog.Logger
	pool      Dispatcher
	forwarded *trustedPeers
	srv       *fasthttp.Server
	chunk     int
	state     *probe.State     // may be nil in tests
	probes    *probe.Server    // set when probes share the app port
	files     *static.Handler  // --static / --media
	metrics   *metrics.Metrics // nil with --no-metrics

	routesMu sync.RWMutex
	routes   map[string]string
}

// New builds the server; Run starts it.
func New(cfg Config, pool Dispatcher, log *slog.Logger) (*Server, error) {
	trusted, err := parseTrusted(cfg.ForwardedAllowIPs)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		log:       log.With("component", "serve"),
		access:    log.With("component", "access"),
		pool:      pool,
		forwarded: trusted,
		chunk:     bodyChunk,
		routes:    map[string]string{},
	}
	if cfg.MaxBufferSize > 0 && cfg.MaxBufferSize < s.chunk {
		s.chunk = cfg.MaxBufferSize
	}
	s.srv = &fasthttp.Server{
		Handler:                      s.handle,
		ErrorHandler:                 s.handleError,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		ReadBufferSize:               MaxHeaderBytes,
		WriteBufferSize:              writeBufferSize,
		ReadTimeout:                  HeadTimeout,
		IdleTimeout:                  KeepAliveTimeout,
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		MaxRequestBodySize:           firstChunk,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{s.log},
	}
	return s, nil
}

// Addr is the address the server binds.
func (s *Server) Addr() string {
	return net.JoinHostPort(s.cfg.Interface, strconv.Itoa(s.cfg.Port))
}

// Listen binds the app port.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.Addr())
	if err != nil {
		return nil, fmt.Errorf("listen on %s (is another server using the port? pass --port): %w", s.Addr(), err)
	}
	return ln, nil
}

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("serving", "address", ln.Addr().String())
	return s.srv.Serve(ln)
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends; it returns ErrShutdownTimeout if some were cut off.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.ShutdownWithContext(ctx); err != nil {
		if ctx.Err() != nil {
			return ErrShutdownTimeout
		}
		return err
	}
	return nil
}

// Run serves until ctx ends, then shuts down within the shutdown timeout.
// It is the whole life of a server without the startup sequence (tests).
func (s *Server) Run(ctx context.Context) error {
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return err
	}
	return <-errc
}

func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		ctx.Error("Request Header Fields Too Large", fasthttp.StatusRequestHeaderFieldsTooLarge)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.Error("Request Entity Too Large", fasthttp.StatusRequestEntityTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		ctx.Error("Request Timeout", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error("Bad Request", fasthttp.StatusBadRequest)
	}
	s.log.Debug("malformed request", "remote", ctx.RemoteAddr().String(), "error", err)
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp", "message", fmt.Sprintf(format, args...))
}
