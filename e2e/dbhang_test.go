package e2e

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// freezeProxy forwards TCP connections to a target; frozen, it stops
// passing bytes (and holds new connections), like a database server that
// hangs without closing anything.
type freezeProxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
	done  bool
}

func newFreezeProxy(t *testing.T, target string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, target: target}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *freezeProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *freezeProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		c.Close()
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *freezeProxy) close() {
	p.mu.Lock()
	p.done = true
	conns := p.conns
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}

func (p *freezeProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		go func() {
			for p.frozen.Load() { // a hung server does not answer new clients either
				time.Sleep(10 * time.Millisecond)
			}
			up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil || !p.track(up) {
				c.Close()
				return
			}
			go p.pipe(up, c)
			go p.pipe(c, up)
		}()
	}
}

// pipe copies src to dst, holding the bytes while frozen.
func (p *freezeProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.frozen.Load() {
			p.mu.Lock()
			done := p.done
			p.mu.Unlock()
			if done {
				return
			}
			time.Sleep(10 * time.Millisecond) // frozen: hold the bytes
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// A database that hangs (no error, no answer) makes readiness fail with
// "database error" within the probe's deadline; the workers, which are
// healthy and serving, are not killed for it (SPEC §3: SELECT 1 "with a
// timeout"; liveness does not depend on the database).
func TestReadinessHungDatabase(t *testing.T) {
	pg := startPostgres(t)
	proxy := newFreezeProxy(t, "127.0.0.1:"+strconv.Itoa(pg.port))
	env := append(pg.Env(), "DEMO_PG_PORT="+strconv.Itoa(proxy.port()))
	s := startLC(t, serverConfig{wait: waitStartup, env: env}, siteArgs(t, "settings")...)
	wantAnswer(t, "GET /ready with PostgreSQL up", s.probe(t, "/ready"), 200, "")
	pid := onlyWorkerPID(t, s)

	proxy.frozen.Store(true)
	// A request in its view while the database hangs (it does not use it).
	slow := make(chan outcome, 1)
	go func() { slow <- fetch(newClient(), s.url("/sleep?ms=6000")) }()
	waitSleeping(t, pid, 1, 5*time.Second)
	// Probes answer from checks at most ~2 s old (they run in the
	// background while probes come): readiness turns within that.
	turned := time.Now()
	pollURL(t, s.probeURL("/ready"), 5*time.Second, "GET /ready turning 500 \"database error\"",
		func(a answer) bool { return a.status == 500 && a.body == "database error" })
	t.Logf("readiness reported the hung database after %s", time.Since(turned).Round(time.Millisecond))
	// Readiness, liveness, then readiness again, as the kubelet would ask.
	var got []string
	for i, path := range []string{"/ready", "/alive", "/ready", "/ready", "/alive", "/ready"} {
		a := s.probe(t, path)
		got = append(got, path+" "+a.String()+" in "+a.took.Round(time.Millisecond).String())
		switch {
		case path == "/ready" && (a.status != 500 || a.body != "database error"):
			t.Errorf("probe %d: GET /ready with the database hung: %s, want 500 \"database error\"", i+1, a)
		case path == "/alive" && a.status != 200:
			t.Errorf("probe %d: GET /alive with the database hung: %s, want 200 (liveness does not depend on the database)", i+1, a)
		}
		if a.took > 2*time.Second {
			t.Errorf("probe %d: GET %s took %s with --check-timeout 1s", i+1, path, a.took)
		}
	}
	t.Logf("probes with the database hung: %q", got)
	wantAnswer(t, "GET /hello with the database hung", mustCall(t, http.MethodGet, s.url("/hello")), 200, "Hello world!")
	if ks := s.logs.find(msgIs("killing worker")); len(ks) > 0 {
		t.Errorf("a serving worker was killed because the database hangs: %v", ks[0])
	}
	select {
	case o := <-slow:
		if o.err != nil || o.status != 200 {
			t.Errorf("the request in flight while the database hung: status %d body %q error %v, want 200", o.status, o.body, o.err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the request in flight while the database hung did not finish")
	}

	proxy.frozen.Store(false)
	pollURL(t, s.probeURL("/ready"), 20*time.Second, "readiness 200 once the database answers again", statusIs(200))
}
