package probe

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

type fakeChecker struct {
	mu       sync.Mutex
	checkErr map[string]error
	dbErrs   map[string]string
	queue    int
}

func (f *fakeChecker) Probe(_ context.Context, tag string, databases bool, _ []string) (Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := Report{Queue: f.queue}
	if err := f.checkErr[tag]; err != nil {
		var cf *CheckFailure
		if !errors.As(err, &cf) {
			return Report{}, err
		}
		r.Failure = cf.Detail
	}
	if databases {
		r.DBErrors = f.dbErrs
	}
	return r, nil
}

func call(s *Server, method, path string) (int, string, *fasthttp.Response) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	if !s.Handle(&ctx) {
		return 404, "", nil
	}
	return ctx.Response.StatusCode(), string(ctx.Response.Body()), &ctx.Response
}

func newTestServer(cfg Config, ck *fakeChecker) (*Server, *State, *[]string) {
	var flips []string
	var mu sync.Mutex
	if cfg.StartupPath == "" {
		cfg.StartupPath, cfg.ReadinessPath, cfg.LivenessPath = "/startup", "/ready", "/alive"
	}
	st := NewState()
	s := newServerForTest(cfg, st, ck, func(p string, healthy bool) {
		mu.Lock()
		defer mu.Unlock()
		flips = append(flips, p+map[bool]string{true: "+", false: "-"}[healthy])
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return s, st, &flips
}

func TestProbeTable(t *testing.T) {
	cases := []struct {
		name       string
		started    bool
		shutdown   bool
		cfg        Config
		ck         *fakeChecker
		served     int
		path       string
		wantStatus int
		wantBody   string
	}{
		{name: "startup before start", path: "/startup", wantStatus: 400},
		{name: "ready before start", path: "/ready", wantStatus: 400},
		{name: "alive before start", path: "/alive", wantStatus: 400},
		{name: "startup", started: true, path: "/startup", wantStatus: 200, wantBody: "Startup was finished "},
		{name: "ready", started: true, path: "/ready", wantStatus: 200},
		{name: "alive", started: true, path: "/alive", wantStatus: 200, wantBody: "alive"},
		{name: "alive with requests", started: true, served: 2, path: "/alive", wantStatus: 200, wantBody: "Average response time: "},
		{name: "liveness check error", started: true, ck: &fakeChecker{checkErr: map[string]error{"liveness": &CheckFailure{"boom"}}}, path: "/alive", wantStatus: 500, wantBody: "check error"},
		{name: "liveness check error debug", started: true, cfg: Config{Debug: true}, ck: &fakeChecker{checkErr: map[string]error{"liveness": &CheckFailure{"boom"}}}, path: "/alive", wantStatus: 500, wantBody: "django check error: boom"},
		{name: "readiness check error", started: true, ck: &fakeChecker{checkErr: map[string]error{"readiness": &CheckFailure{"boom"}}}, path: "/ready", wantStatus: 500, wantBody: "check error"},
		{name: "check timeout", started: true, ck: &fakeChecker{checkErr: map[string]error{"liveness": ErrCheckTimeout}}, path: "/alive", wantStatus: 500, wantBody: "check timeout"},
		{name: "database error", started: true, ck: &fakeChecker{dbErrs: map[string]string{"default": "down"}}, path: "/ready", wantStatus: 500, wantBody: "database error"},
		{name: "liveness ignores databases", started: true, ck: &fakeChecker{dbErrs: map[string]string{"default": "down"}}, path: "/alive", wantStatus: 200},
		{name: "queue full", started: true, ck: &fakeChecker{queue: 10}, path: "/ready", wantStatus: 400},
		{name: "queue len 0", started: true, cfg: Config{ReqQueueLen: -1}, path: "/ready", wantStatus: 200},
		{name: "max lifetime not yet", started: true, cfg: Config{MaxLifetime: 3}, served: 3, path: "/alive", wantStatus: 200},
		{name: "max lifetime exceeded", started: true, cfg: Config{MaxLifetime: 3}, served: 4, path: "/alive", wantStatus: 400},
		{name: "shutting down ready", started: true, shutdown: true, path: "/ready", wantStatus: 503},
		{name: "shutting down alive", started: true, shutdown: true, path: "/alive", wantStatus: 200},
		{name: "shutting down startup", started: true, shutdown: true, path: "/startup", wantStatus: 200},
		{name: "trailing slash", started: true, path: "/alive/", wantStatus: 200},
		{name: "double slash is not a probe", started: true, path: "/alive//", wantStatus: 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			switch c.cfg.ReqQueueLen {
			case 0:
				c.cfg.ReqQueueLen = 10
			case -1:
				c.cfg.ReqQueueLen = 0
				c.wantStatus = 400 // 0 >= 0: --req-queue-len 0 always sheds
			}
			ck := c.ck
			if ck == nil {
				ck = &fakeChecker{}
			}
			s, st, _ := newTestServer(c.cfg, ck)
			if c.started {
				st.Started()
			}
			for range c.served {
				st.Served(time.Millisecond)
			}
			if c.shutdown {
				st.ShutDown()
			}
			status, body, resp := call(s, "GET", c.path)
			if status != c.wantStatus || !strings.HasPrefix(body, c.wantBody) {
				t.Fatalf("%s: %d %q, want %d %q", c.path, status, body, c.wantStatus, c.wantBody)
			}
			if resp != nil && string(resp.Header.Peek("Cache-Control")) != "no-store, no-cache, must-revalidate, max-age=0" {
				t.Fatalf("Cache-Control = %q", resp.Header.Peek("Cache-Control"))
			}
		})
	}
}

func TestProbeMethods(t *testing.T) {
	s, st, _ := newTestServer(Config{ReqQueueLen: 10}, &fakeChecker{})
	st.Started()
	for method, want := range map[string]int{"GET": 200, "HEAD": 200, "POST": 200, "PUT": 405, "DELETE": 405} {
		if status, _, _ := call(s, method, "/alive"); status != want {
			t.Errorf("%s: %d, want %d", method, status, want)
		}
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{"probe": "/probe", "/probe/": "/probe", "//x": "/x", " /a b": "/ab", "": "/"} {
		if got := CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFlipsNotifyOncePerChange(t *testing.T) {
	ck := &fakeChecker{}
	s, st, flips := newTestServer(Config{ReqQueueLen: 10}, ck)
	st.Started()
	call(s, "GET", "/ready")
	call(s, "GET", "/ready")
	ck.mu.Lock()
	ck.checkErr = map[string]error{"readiness": &CheckFailure{"x"}}
	ck.mu.Unlock()
	call(s, "GET", "/ready")
	call(s, "GET", "/ready")
	ck.mu.Lock()
	ck.checkErr = nil
	ck.mu.Unlock()
	call(s, "GET", "/ready")
	call(s, "GET", "/alive")
	got := strings.Join(*flips, " ")
	if got != "readiness+ readiness- readiness+ liveness+" {
		t.Fatalf("flips = %q", got)
	}
}

// newServerForTest is New with the checks run for every probe, so a test
// sees the effect of changing its fake checker at once.
func newServerForTest(cfg Config, st *State, ck Checker, n Notifier, log *slog.Logger) *Server {
	s := New(cfg, st, ck, n, log)
	s.refresh.always = true
	return s
}

// countingChecker counts check runs.
type countingChecker struct {
	fakeChecker
	n map[string]int
}

func (c *countingChecker) Probe(ctx context.Context, tag string, databases bool, aliases []string) (Report, error) {
	c.mu.Lock()
	c.n[tag]++
	c.mu.Unlock()
	return c.fakeChecker.Probe(ctx, tag, databases, aliases)
}

func (c *countingChecker) count(tag string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[tag]
}

func TestProbesAnswerFromBackgroundChecks(t *testing.T) {
	ck := &countingChecker{n: map[string]int{}}
	st := NewState()
	s := New(Config{ReqQueueLen: 10, StartupPath: "/startup", ReadinessPath: "/ready", LivenessPath: "/alive"},
		st, ck, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer s.Close()
	st.Started()
	if code, _, _ := call(s, "GET", "/ready"); code != 200 {
		t.Fatalf("first /ready = %d", code)
	}
	if n := ck.count("readiness"); n != 1 {
		t.Fatalf("the first probe ran the checks %d times, want 1", n)
	}
	// Later probes answer from that result, without a check of their own.
	for range 5 {
		call(s, "GET", "/ready")
	}
	if n := ck.count("readiness"); n > 2 {
		t.Fatalf("probes ran the checks %d times in a row; want them answered from the newest result", n)
	}
	// The checks go on in the background, and a failure shows.
	ck.mu.Lock()
	ck.checkErr = map[string]error{"readiness": &CheckFailure{"broken"}}
	ck.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body, _ := call(s, "GET", "/ready")
		if code == 500 && body == "check error" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/ready still %d %q 5 s after the checks failed", code, body)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	if n := ck.count("liveness"); n != 0 {
		t.Fatalf("liveness checks ran %d times without a liveness probe", n)
	}
}
