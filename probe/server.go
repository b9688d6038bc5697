package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Config is the probe server's configuration.
type Config struct {
	Port          int
	Interface     string
	StartupPath   string
	ReadinessPath string
	LivenessPath  string
	ReqQueueLen   int
	MaxLifetime   int // requests; 0: no limit
	CheckTimeout  time.Duration
	Debug         bool
	Databases     []string // aliases readiness checks; empty: all
	MetricsPath   string   // where Metrics is served
	// Metrics serves the Prometheus exposition; nil with --no-metrics.
	Metrics fasthttp.RequestHandler
	// LogProbes writes an access log line for each probe request.
	LogProbes bool
}

// Checker runs a probe's checks on a worker.
type Checker interface {
	// Probe runs the Django checks tagged tag (deployment checks included)
	// and, with databases, SELECT 1 on the aliases (all if empty), and
	// measures the request queue. An unanswered control lane is
	// ErrCheckTimeout.
	Probe(ctx context.Context, tag string, databases bool, aliases []string) (Report, error)
}

// Report is what one probe learned.
type Report struct {
	Failure  string            // the serious check findings; empty when the checks pass
	DBErrors map[string]string // failing database aliases
	Queue    int               // request queue length
	NotReady string            // a reason readiness fails (400) although the checks pass
}

// CheckFailure is a tagged check that reported an error.
type CheckFailure struct{ Detail string }

func (e *CheckFailure) Error() string { return e.Detail }

// ErrCheckTimeout means no worker answered within --check-timeout.
var ErrCheckTimeout = errors.New("no worker answered the checks in time")

// Notifier hears about each flip of the liveness and readiness results.
type Notifier func(probe string, healthy bool)

// Server answers the probes.
type Server struct {
	cfg    Config
	state  *State
	check  Checker
	notify Notifier
	log    *slog.Logger
	access *slog.Logger
	srv    *fasthttp.Server

	mu      sync.Mutex
	last    map[string]bool
	refresh *refresher
}

// New builds a probe server; Handle answers probe requests on any fasthttp
// server, Run serves them on the probe port.
func New(cfg Config, state *State, check Checker, notify Notifier, log *slog.Logger) *Server {
	cfg.StartupPath = CleanPath(cfg.StartupPath)
	cfg.ReadinessPath = CleanPath(cfg.ReadinessPath)
	cfg.LivenessPath = CleanPath(cfg.LivenessPath)
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = time.Second
	}
	if cfg.MetricsPath != "" {
		cfg.MetricsPath = CleanPath(cfg.MetricsPath)
	}
	s := &Server{cfg: cfg, state: state, check: check, notify: notify, log: log.With("component", "probe"),
		access: log.With("component", "access"), last: map[string]bool{}, refresh: newRefresher()}
	s.srv = &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if !s.Handle(ctx) {
				ctx.Error("Not Found", fasthttp.StatusNotFound)
			}
		},
		NoDefaultServerHeader: true,
		ReadTimeout:           10 * time.Second,
		IdleTimeout:           90 * time.Second,
		CloseOnShutdown:       true,
	}
	return s
}

// CleanPath adds a missing leading slash and drops trailing ones and spaces.
func CleanPath(p string) string {
	p = strings.ReplaceAll(p, " ", "")
	p = "/" + strings.Trim(p, "/")
	return p
}

// Paths returns the startup, readiness and liveness paths.
func (s *Server) Paths() (string, string, string) {
	return s.cfg.StartupPath, s.cfg.ReadinessPath, s.cfg.LivenessPath
}

// Listen binds the probe port, so a busy port fails startup at once.
func (s *Server) Listen() (net.Listener, error) {
	addr := net.JoinHostPort(s.cfg.Interface, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for probes on %s (pass --probe-port): %w", addr, err)
	}
	return ln, nil
}

// Serve answers probes on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.ShutdownWithContext(sctx)
	return nil
}

// match reports which probe a path asks for ("" for none); a trailing slash
// matches too.
func (s *Server) match(path []byte) string {
	p := string(path)
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	switch p {
	case s.cfg.StartupPath:
		return "startup"
	case s.cfg.ReadinessPath:
		return "readiness"
	case s.cfg.LivenessPath:
		return "liveness"
	case s.cfg.MetricsPath:
		if s.cfg.Metrics != nil {
			return "metrics"
		}
	}
	return ""
}

// Handle answers the request if it is a probe and reports whether it was.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) bool {
	path := ctx.URI().PathOriginal() // unnormalised: "/alive//" is not "/alive"
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	which := s.match(path)
	if which == "" {
		return false
	}
	if s.cfg.LogProbes {
		defer s.logRequest(ctx, time.Now())
	}
	if which == "metrics" {
		s.cfg.Metrics(ctx)
		return true
	}
	ctx.Response.Header.Set("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0")
	if !ctx.IsGet() && !ctx.IsHead() && !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "GET, HEAD, POST")
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return true
	}
	status, body := s.answer(which)
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(body)
	return true
}

func (s *Server) answer(which string) (int, string) {
	if !s.state.IsStarted() {
		return fasthttp.StatusBadRequest, ""
	}
	switch which {
	case "startup":
		return fasthttp.StatusOK, "Startup was finished " + strconv.FormatFloat(s.state.StartupDuration().Seconds(), 'f', -1, 64)
	case "readiness":
		if s.state.IsShuttingDown() {
			return fasthttp.StatusServiceUnavailable, ""
		}
		status, body := s.readiness()
		s.flip("readiness", status < 300)
		return status, body
	default:
		status, body := s.liveness()
		s.flip("liveness", status < 300)
		return status, body
	}
}

func (s *Server) withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.CheckTimeout)
}

func (s *Server) readiness() (int, string) {
	r, err := s.report("readiness")
	switch {
	case err != nil:
		return s.checkError(err)
	case r.Failure != "":
		return s.detail("check error", "django check error: "+r.Failure)
	case len(r.DBErrors) > 0:
		aliases := make([]string, 0, len(r.DBErrors))
		for alias, e := range r.DBErrors {
			aliases = append(aliases, alias+": "+e)
		}
		sort.Strings(aliases)
		return s.detail("database error", "django database error: "+strings.Join(aliases, "; "))
	case r.NotReady != "":
		if s.cfg.Debug {
			return fasthttp.StatusBadRequest, r.NotReady
		}
		return fasthttp.StatusBadRequest, ""
	case r.Queue >= s.cfg.ReqQueueLen:
		return fasthttp.StatusBadRequest, ""
	}
	return fasthttp.StatusOK, ""
}

func (s *Server) liveness() (int, string) {
	r, err := s.report("liveness")
	switch {
	case err != nil:
		return s.checkError(err)
	case r.Failure != "":
		return s.detail("check error", "django check error: "+r.Failure)
	}
	served, avg := s.state.Requests()
	if s.cfg.MaxLifetime > 0 && served > int64(s.cfg.MaxLifetime) {
		return fasthttp.StatusBadRequest, ""
	}
	if served == 0 {
		return fasthttp.StatusOK, "alive"
	}
	return fasthttp.StatusOK, fmt.Sprintf("Average response time: %.2fms Request queue size: %d Rx", float64(avg.Microseconds())/1000, r.Queue)
}

func (s *Server) checkError(err error) (int, string) {
	var cf *CheckFailure
	if errors.As(err, &cf) {
		return s.detail("check error", "django check error: "+cf.Detail)
	}
	s.log.Warn("probe check did not complete", "error", err)
	return s.detail("check timeout", "check timeout: "+err.Error())
}

// detail answers 500 with the short body, or with detail under --debug.
func (s *Server) detail(short, long string) (int, string) {
	if s.cfg.Debug {
		return fasthttp.StatusInternalServerError, long
	}
	return fasthttp.StatusInternalServerError, short
}

// logRequest writes a probe request's access log line (--log-probes).
func (s *Server) logRequest(ctx *fasthttp.RequestCtx, started time.Time) {
	s.access.LogAttrs(context.Background(), slog.LevelInfo, "probe request",
		slog.String("method", string(ctx.Method())),
		slog.String("path", string(ctx.Path())),
		slog.Int("status", ctx.Response.StatusCode()),
		slog.Float64("duration_ms", float64(time.Since(started).Microseconds())/1000),
		slog.String("remote", ctx.RemoteIP().String()),
	)
}

// Healthy is the last result of the liveness or readiness probe; known is
// false before the first.
func (s *Server) Healthy(probe string) (healthy, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	healthy, known = s.last[probe]
	return healthy, known
}

// flip notifies the first result of a probe and every change after it.
func (s *Server) flip(probe string, healthy bool) {
	s.mu.Lock()
	prev, seen := s.last[probe]
	s.last[probe] = healthy
	s.mu.Unlock()
	if seen && prev == healthy {
		return
	}
	s.log.Info("probe result changed", "probe", probe, "healthy", healthy)
	if s.notify != nil {
		s.notify(probe, healthy)
	}
}
