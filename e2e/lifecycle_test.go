package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Lifecycle tests (SPEC §2 startup and shutdown, §3 probes, §6 webhooks).
// They run the demo project with the test site in testdata/e2esite: its
// liveness and readiness checks fail (or hang) while files named in the
// environment exist, so a test switches them by creating and removing files.

const cacheControl = "no-store, no-cache, must-revalidate, max-age=0"

// siteArgs selects a settings module of testdata/e2esite.
func siteArgs(t *testing.T, module string) []string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--pythonpath", dir, "--settings", "e2esite." + module}
}

// startLC starts a server of the test's own; cleanup stops it if it still
// runs (tests that stop it themselves check the exit on their own).
func startLC(t *testing.T, cfg serverConfig, extra ...string) *server {
	t.Helper()
	requirePython(t)
	s, err := startServerConfig(cfg, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.running() {
			if err := s.stop(); err != nil {
				t.Errorf("stopping hurricane: %v", err)
			}
		}
	})
	s.dumpOnFailure(t)
	return s
}

// flagFile is a path in a fresh directory; create and remove switch it.
type flagFile string

func newFlagFile(t *testing.T, name string) flagFile {
	return flagFile(filepath.Join(t.TempDir(), name))
}

func (f flagFile) create(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(string(f), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f flagFile) remove(t *testing.T) {
	t.Helper()
	if err := os.Remove(string(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// answer is one probe (or app) response.
type answer struct {
	status int
	body   string
	header http.Header
	took   time.Duration
}

func (a answer) String() string { return fmt.Sprintf("%d %q", a.status, a.body) }

// probeClient opens a new connection per request, as the kubelet does.
var probeClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DisableCompression: true},
	Timeout:   20 * time.Second,
}

// call sends one request and reads the whole answer.
func call(method, url string) (answer, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return answer{}, err
	}
	start := time.Now()
	resp, err := probeClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, body: string(body), header: resp.Header, took: took}, nil
}

func mustCall(t *testing.T, method, url string) answer {
	t.Helper()
	a, err := call(method, url)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return a
}

// probe GETs a path on the probe port.
func (s *server) probe(t *testing.T, path string) answer {
	t.Helper()
	return mustCall(t, http.MethodGet, s.probeURL(path))
}

// wantAnswer checks status and body ("*" for any body).
func wantAnswer(t *testing.T, what string, a answer, status int, body string) {
	t.Helper()
	if a.status != status || (body != "*" && a.body != body) {
		t.Errorf("%s: got %s, want %d %q", what, a, status, body)
	}
}

// pollURL GETs url until ok accepts the answer or timeout passes.
func pollURL(t *testing.T, url string, timeout time.Duration, what string, ok func(answer) bool) answer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a, err := call(http.MethodGet, url)
		if err == nil && ok(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last answer %s, error %v", what, timeout, a, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

func statusIs(code int) func(answer) bool {
	return func(a answer) bool { return a.status == code }
}

// waitProbePort polls until something listens on the probe port.
func waitProbePort(t *testing.T, s *server, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.probePort), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if !s.running() {
			t.Fatalf("hurricane exited before its probe port opened: %v", s.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe port %d not open within %s: %v", s.probePort, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// refused reports whether a TCP connection to addr is refused.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// waitExit waits for the process to exit and returns how long that took.
func (s *server) waitExit(t *testing.T, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-s.exited:
		return time.Since(start)
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Fatalf("hurricane still running %s later; killed", timeout)
		return 0
	}
}

// exitCode is the exit status of an exited server (-1: killed by a signal).
func (s *server) exitCode() int {
	if s.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	return -2
}

func msgIs(msg string) func(record) bool {
	return func(r record) bool { return r.str("msg") == msg }
}

// ---- 1. all probes answer 400 before startup finished

func TestProbesBeforeStartup(t *testing.T) {
	release := newFlagFile(t, "release")
	s := startLC(t, serverConfig{wait: waitNone, env: []string{"E2E_RELEASE_FILE=" + string(release)}},
		append(siteArgs(t, "settings"), "--command", "slowcmd")...)
	waitProbePort(t, s, startTimeout)
	// The command is running: startup is held until the file appears.
	waitLog(t, s, startTimeout, "with the slowcmd output", func(r record) bool {
		return r.str("msg") == "command output" && strings.HasPrefix(r.str("line"), "slowcmd waiting")
	})
	for _, path := range []string{"/startup", "/ready", "/alive"} {
		a := s.probe(t, path)
		wantAnswer(t, "GET "+path+" before startup", a, http.StatusBadRequest, "")
	}
	if !refused(s.addr()) {
		t.Errorf("the app port accepts connections before startup finished")
	}
	if !s.running() {
		t.Fatalf("exited while held: %v", s.err)
	}

	release.create(t)
	a := pollURL(t, s.probeURL("/startup"), 30*time.Second, "startup probe 200 after the command finished", statusIs(200))
	if !regexp.MustCompile(`^Startup was finished \d+(\.\d+)?$`).MatchString(a.body) {
		t.Errorf("startup body %q, want \"Startup was finished <seconds>\"", a.body)
	}
	wantAnswer(t, "GET /ready after startup", s.probe(t, "/ready"), 200, "")
	wantAnswer(t, "GET /alive after startup", s.probe(t, "/alive"), 200, "alive")
}

// ---- 2. tagged checks fail the probes, and recover

func TestProbeCheckErrors(t *testing.T) {
	for _, debug := range []bool{false, true} {
		t.Run(fmt.Sprintf("debug=%v", debug), func(t *testing.T) {
			failL, failR := newFlagFile(t, "liveness"), newFlagFile(t, "readiness")
			args := siteArgs(t, "settings")
			if debug {
				args = append(args, "--debug")
			}
			s := startLC(t, serverConfig{wait: waitStartup, env: []string{
				"E2E_FAIL_LIVENESS=" + string(failL), "E2E_FAIL_READINESS=" + string(failR)}}, args...)

			checkFails := func(path, detail string) {
				t.Helper()
				a := s.probe(t, path)
				if a.status != http.StatusInternalServerError {
					t.Errorf("GET %s with a failing check: %s, want 500", path, a)
					return
				}
				if !debug {
					wantAnswer(t, "GET "+path+" with a failing check", a, 500, "check error")
					return
				}
				if !strings.HasPrefix(a.body, "django check error") || !strings.Contains(a.body, detail) {
					t.Errorf("GET %s with a failing check under --debug: body %q, want \"django check error: ...%s...\"", path, a.body, detail)
				}
			}

			wantAnswer(t, "GET /alive", s.probe(t, "/alive"), 200, "alive")
			wantAnswer(t, "GET /ready", s.probe(t, "/ready"), 200, "")

			// Probes answer from checks at most ~2 s old: wait for the turn.
			turned := func(path string, status int) {
				t.Helper()
				pollURL(t, s.probeURL(path), 5*time.Second, fmt.Sprintf("GET %s turning %d", path, status),
					func(a answer) bool { return a.status == status })
			}
			failL.create(t)
			turned("/alive", 500)
			checkFails("/alive", "e2e liveness failure")
			// Readiness runs only the readiness checks.
			wantAnswer(t, "GET /ready while liveness fails", s.probe(t, "/ready"), 200, "")
			failL.remove(t)
			turned("/alive", 200)
			wantAnswer(t, "GET /alive after the liveness check recovered", s.probe(t, "/alive"), 200, "alive")

			failR.create(t)
			turned("/ready", 500)
			checkFails("/ready", "e2e readiness failure")
			wantAnswer(t, "GET /alive while readiness fails", s.probe(t, "/alive"), 200, "alive")
			failR.remove(t)
			turned("/ready", 200)
			wantAnswer(t, "GET /ready after the readiness check recovered", s.probe(t, "/ready"), 200, "")
		})
	}
}

// ---- 3. no tagged checks pass; 5. the queue limit; 6. --max-lifetime

func TestProbesNoTaggedChecks(t *testing.T) {
	s := startLC(t, serverConfig{wait: waitStartup}, siteArgs(t, "nochecks")...)
	wantAnswer(t, "GET /alive", s.probe(t, "/alive"), 200, "alive")
	wantAnswer(t, "GET /ready", s.probe(t, "/ready"), 200, "")
}

func TestReadinessQueueLimit(t *testing.T) {
	s := startLC(t, serverConfig{wait: waitStartup}, append(siteArgs(t, "nochecks"), "--req-queue-len", "0")...)
	// The queue length (0) is never below 0.
	wantAnswer(t, "GET /ready with --req-queue-len 0", s.probe(t, "/ready"), http.StatusBadRequest, "")
	wantAnswer(t, "GET /alive with --req-queue-len 0", s.probe(t, "/alive"), 200, "alive")
}

func TestMaxLifetime(t *testing.T) {
	s := startLC(t, serverConfig{wait: waitStartup}, append(siteArgs(t, "nochecks"), "--max-lifetime", "3")...)
	c := newClient()
	wantAnswer(t, "GET /alive before any request", s.probe(t, "/alive"), 200, "alive")
	stats := regexp.MustCompile(`^Average response time: \d+\.\d\dms Request queue size: \d+ Rx$`)
	for i := 1; i <= 3; i++ {
		wantStatus(t, get(t, c, s.url("/hello")), 200)
		a := s.probe(t, "/alive")
		if a.status != 200 || !stats.MatchString(a.body) {
			t.Errorf("GET /alive after %d of 3 requests: %s, want 200 \"Average response time: X.XXms Request queue size: N Rx\"", i, a)
		}
	}
	wantStatus(t, get(t, c, s.url("/hello")), 200)
	wantAnswer(t, "GET /alive after the 4th request with --max-lifetime 3", s.probe(t, "/alive"), http.StatusBadRequest, "")
	wantAnswer(t, "GET /ready after the 4th request", s.probe(t, "/ready"), 200, "")
}

// ---- 4. readiness follows the database; liveness does not

func TestReadinessDatabase(t *testing.T) {
	pg := startPostgres(t)
	s := startLC(t, serverConfig{wait: waitStartup, env: pg.Env()}, siteArgs(t, "settings")...)
	wantAnswer(t, "GET /ready with PostgreSQL up", s.probe(t, "/ready"), 200, "")

	pg.Stop(t)
	stopped := time.Now()
	a := pollURL(t, s.probeURL("/ready"), 15*time.Second, "readiness 500 with PostgreSQL stopped", statusIs(500))
	t.Logf("readiness failed %s after PostgreSQL stopped", time.Since(stopped).Round(time.Millisecond))
	wantAnswer(t, "GET /ready with PostgreSQL stopped", a, 500, "database error")
	for range 3 {
		wantAnswer(t, "GET /alive with PostgreSQL stopped", s.probe(t, "/alive"), 200, "alive")
	}
	// /hello does not touch the database; the app keeps serving.
	wantStatus(t, get(t, newClient(), s.url("/hello")), 200)

	pg.Start(t)
	started := time.Now()
	pollURL(t, s.probeURL("/ready"), 20*time.Second, "readiness 200 after PostgreSQL started again", statusIs(200))
	t.Logf("readiness recovered %s after PostgreSQL started", time.Since(started).Round(time.Millisecond))
	wantAnswer(t, "GET /alive with PostgreSQL back", s.probe(t, "/alive"), 200, "*")
}

// A project without a database (DATABASES = {}) has nothing for readiness to
// check: it must not stay unready for ever.
func TestReadinessNoDatabase(t *testing.T) {
	s := startLC(t, serverConfig{wait: waitStartup}, append(siteArgs(t, "nodb"), "--debug")...)
	wantAnswer(t, "GET /hello", mustCall(t, http.MethodGet, s.url("/hello")), 200, "Hello world!")
	wantAnswer(t, "GET /ready with DATABASES = {}", s.probe(t, "/ready"), 200, "")
	wantAnswer(t, "GET /alive with DATABASES = {}", s.probe(t, "/alive"), 200, "*")
}

// ---- 7. a hung control lane: check timeout, then the worker is replaced

func TestHungControlLane(t *testing.T) {
	hang := newFlagFile(t, "hang")
	s := startLC(t, serverConfig{wait: waitStartup, env: []string{"E2E_HANG_CHECK=" + string(hang)}},
		append(siteArgs(t, "settings"), "--check-timeout", "500ms")...)
	t.Cleanup(func() { hang.remove(t) })
	wantAnswer(t, "GET /alive", s.probe(t, "/alive"), 200, "alive")
	pids := workerPIDs(s)
	if len(pids) != 1 {
		t.Fatalf("worker ready pids %v, want one", pids)
	}
	old := pids[0]

	hang.create(t)
	// Probes answer from checks at most ~2 s old: wait for the turn, then
	// every answer is a timeout until the worker is replaced (the checks
	// keep running in the background every 0.5 s, each missing).
	pollURL(t, s.probeURL("/alive"), 5*time.Second, "GET /alive turning 500", func(a answer) bool { return a.status == 500 })
	killed := false
	for i := 1; i <= 100 && !killed; i++ {
		time.Sleep(100 * time.Millisecond) // probe spacing
		a := s.probe(t, "/alive")
		t.Logf("probe %d with the check hung: %s in %s", i, a, a.took.Round(time.Millisecond))
		if a.status != 500 || a.body != "check timeout" {
			t.Errorf("GET /alive %d with a hung check: %s, want 500 \"check timeout\"", i, a)
		}
		if a.took > 2*time.Second {
			t.Errorf("GET /alive %d took %s with --check-timeout 500ms", i, a.took)
		}
		killed = len(s.logs.find(func(r record) bool {
			p, _ := r.num("pid")
			return r.str("msg") == "killing worker" && int(p) == old
		})) > 0
	}
	if !killed {
		t.Fatalf("no \"killing worker\" record for pid %d after 10 s of timed-out probes", old)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids = workerPIDs(s)
		if len(pids) >= 2 && pids[len(pids)-1] != old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new \"worker ready\" within 15s of the kill; pids %v", pids)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	for deadline := time.Now().Add(5 * time.Second); alive(old); {
		if time.Now().After(deadline) {
			t.Fatalf("the hung worker %d still runs 5s after it was killed", old)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}

	hang.remove(t)
	a := pollURL(t, s.probeURL("/alive"), 15*time.Second, "liveness 200 after the hang ended", statusIs(200))
	wantAnswer(t, "GET /alive after the hang", a, 200, "alive")
	wantStatus(t, get(t, newClient(), s.url("/hello")), 200)
}

// ---- 9. paths, methods and headers

func TestProbePaths(t *testing.T) {
	t.Run("default paths", func(t *testing.T) {
		s := startLC(t, serverConfig{wait: waitStartup}, siteArgs(t, "settings")...)
		for _, p := range []struct{ path, body string }{
			{"/startup", "Startup was finished "}, {"/ready", ""}, {"/alive", "alive"},
		} {
			for _, path := range []string{p.path, p.path + "/"} {
				a := s.probe(t, path)
				if a.status != 200 || !strings.HasPrefix(a.body, p.body) {
					t.Errorf("GET %s: %s, want 200 %q...", path, a, p.body)
				}
				if cc := a.header.Get("Cache-Control"); cc != cacheControl {
					t.Errorf("GET %s: Cache-Control %q, want %q", path, cc, cacheControl)
				}
				for _, m := range []string{http.MethodHead, http.MethodPost} {
					b := mustCall(t, m, s.probeURL(path))
					if b.status != 200 {
						t.Errorf("%s %s: %s, want 200", m, path, b)
					}
					if m == http.MethodHead && b.body != "" {
						t.Errorf("HEAD %s: body %q, want none", path, b.body)
					}
					if cc := b.header.Get("Cache-Control"); cc != cacheControl {
						t.Errorf("%s %s: Cache-Control %q, want %q", m, path, cc, cacheControl)
					}
				}
				b := mustCall(t, http.MethodPut, s.probeURL(path))
				if b.status != http.StatusMethodNotAllowed {
					t.Errorf("PUT %s: %s, want 405", path, b)
				}
			}
		}
		if a := s.probe(t, "/nosuchprobe"); a.status != http.StatusNotFound {
			t.Errorf("GET /nosuchprobe on the probe port: %s, want 404", a)
		}
		if a := s.probe(t, "/alive//"); a.status == 200 {
			t.Logf("note: /alive// answers %s", a)
		}
	})

	t.Run("custom paths", func(t *testing.T) {
		s := startLC(t, serverConfig{wait: waitStartup, startupPath: "/probe"}, append(siteArgs(t, "settings"),
			"--startup-probe", "probe", "--readiness-probe", "/r/", "--liveness-probe", "l")...)
		for _, p := range []struct{ path, body string }{
			{"/probe", "Startup was finished "}, {"/r", ""}, {"/l", "alive"},
		} {
			for _, path := range []string{p.path, p.path + "/"} {
				a := s.probe(t, path)
				if a.status != 200 || !strings.HasPrefix(a.body, p.body) {
					t.Errorf("GET %s: %s, want 200 %q...", path, a, p.body)
				}
			}
		}
		for _, path := range []string{"/startup", "/ready", "/alive"} {
			if a := s.probe(t, path); a.status != http.StatusNotFound {
				t.Errorf("GET %s with custom probe paths: %s, want 404", path, a)
			}
		}
	})

	t.Run("probes on the app port", func(t *testing.T) {
		release := newFlagFile(t, "release")
		s := startLC(t, serverConfig{wait: waitNone, env: []string{"E2E_RELEASE_FILE=" + string(release)}},
			append(siteArgs(t, "settings"), "--probe-port", "{port}", "--command", "slowcmd")...)
		if s.probePort != s.port {
			t.Fatalf("probe port %d, want the app port %d", s.probePort, s.port)
		}
		waitProbePort(t, s, startTimeout)
		waitLog(t, s, startTimeout, "with the slowcmd output", func(r record) bool {
			return r.str("msg") == "command output" && strings.HasPrefix(r.str("line"), "slowcmd waiting")
		})
		for _, path := range []string{"/startup", "/ready", "/alive"} {
			wantAnswer(t, "GET "+path+" on the app port before startup", s.probe(t, path), 400, "")
		}
		a := mustCall(t, http.MethodGet, s.url("/hello"))
		if a.status != http.StatusServiceUnavailable {
			t.Errorf("GET /hello on the app port before startup: %s, want 503", a)
		}

		release.create(t)
		a = pollURL(t, s.url("/startup"), 30*time.Second, "startup 200 on the app port", statusIs(200))
		if !strings.HasPrefix(a.body, "Startup was finished ") || a.header.Get("Cache-Control") != cacheControl {
			t.Errorf("GET /startup on the app port: %s Cache-Control %q", a, a.header.Get("Cache-Control"))
		}
		wantAnswer(t, "GET /startup/ on the app port", mustCall(t, http.MethodGet, s.url("/startup/")), 200, "*")
		wantAnswer(t, "GET /hello on the app port", mustCall(t, http.MethodGet, s.url("/hello")), 200, "Hello world!")
		wantAnswer(t, "GET /ready on the app port", mustCall(t, http.MethodGet, s.url("/ready")), 200, "")
		wantAnswer(t, "GET /alive on the app port", mustCall(t, http.MethodGet, s.url("/alive")), 200, "*")
		wantAnswer(t, "PUT /alive on the app port", mustCall(t, http.MethodPut, s.url("/alive")), 405, "*")
	})
}

// ---- 8. probes stay fast while the app is saturated

func TestProbeLatencyUnderLoad(t *testing.T) {
	s := startLC(t, serverConfig{wait: waitStartup}, siteArgs(t, "settings")...)
	// Probes answer from checks that run in the background (at most ~2 s
	// old), so neither views that wait nor views that keep the worker's CPU
	// and GIL busy slow them down: 95% must answer within 10 ms (the p99 is
	// reported; bench/run measures it over more probes).
	for _, tc := range []struct {
		name, path string
		p95        bool
	}{
		{"hello", "/hello", true},
		{"sleep 50ms, all threads busy", "/sleep?ms=50", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const clients = 64
			const probes = 50 // of each
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var answered atomic.Int64
			served, failed := 0, 0
			for range clients {
				wg.Go(func() {
					n, f := hammer(s.addr(), tc.path, stop, &answered)
					mu.Lock()
					served += n
					failed += f
					mu.Unlock()
				})
			}
			// The load is on: every client has had about one answer.
			rampUp := time.Now()
			for answered.Load() < clients {
				if time.Since(rampUp) > 10*time.Second {
					close(stop)
					wg.Wait()
					t.Fatalf("only %d answers in 10s from %d clients", answered.Load(), clients)
				}
				time.Sleep(10 * time.Millisecond) // polling interval
			}
			// /alive and /ready are what Kubernetes asks; /startup (answered in
			// Go alone) shows what the machine's load adds by itself.
			var lat []time.Duration
			byPath := map[string][]time.Duration{}
			statuses := map[string]int{}
			paths := []string{"/alive", "/ready", "/startup"}
			for i := range 3 * probes {
				path := paths[i%3]
				a, err := call(http.MethodGet, s.probeURL(path))
				if err != nil {
					t.Errorf("GET %s under load: %v", path, err)
					continue
				}
				if path != "/startup" {
					lat = append(lat, a.took)
				}
				byPath[path] = append(byPath[path], a.took)
				statuses[fmt.Sprintf("%s %d", path, a.status)]++
				time.Sleep(20 * time.Millisecond) // probe spacing
			}
			close(stop)
			wg.Wait()
			p := percentiles(lat)
			t.Logf("%d clients on %s: %d requests served (%d failed) in ~%s; probe statuses %v",
				clients, tc.path, served, failed, time.Since(rampUp).Round(time.Millisecond), statuses)
			for _, path := range paths {
				q := percentiles(byPath[path])
				t.Logf("%-8s latency over %d probes: p50 %s p95 %s p99 %s max %s",
					path, len(byPath[path]), q.p50.Round(10*time.Microsecond), q.p95.Round(10*time.Microsecond), q.p99.Round(10*time.Microsecond), q.max.Round(10*time.Microsecond))
			}
			t.Logf("/alive+/ready latency over %d probes: p50 %s p90 %s p95 %s p99 %s max %s (2nd largest %s)",
				len(lat), p.p50, p.p90, p.p95, p.p99, p.max, p.second)
			if failed > 0 {
				t.Errorf("%d app requests failed under load", failed)
			}
			if served == 0 {
				t.Errorf("no app request was served: the app was not loaded")
			}
			if tc.p95 && p.p95 >= 10*time.Millisecond {
				t.Errorf("probe p95 latency %s under load, want < 10ms", p.p95)
			}
			if p.p50 >= 10*time.Millisecond {
				t.Errorf("probe median latency %s under load, want < 10ms", p.p50)
			}
			if p.second >= 100*time.Millisecond {
				t.Errorf("probe latency (max minus one outlier) %s under load, want < 100ms", p.second)
			}
		})
	}
}

type latencies struct{ p50, p90, p95, p99, max, second time.Duration }

func percentiles(d []time.Duration) latencies {
	if len(d) == 0 {
		return latencies{}
	}
	s := append([]time.Duration(nil), d...)
	for i := 1; i < len(s); i++ { // insertion sort: a hundred values
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.5) - 1
		return s[max(0, min(len(s)-1, i))]
	}
	l := latencies{p50: at(0.50), p90: at(0.90), p95: at(0.95), p99: at(0.99), max: s[len(s)-1], second: s[max(0, len(s)-2)]}
	return l
}

// hammer sends GET path on one keep-alive connection after the other until
// stop closes; it counts 200 answers and failures. It parses as little as it
// can, so that the load costs this (race-instrumented) process little CPU.
func hammer(addr, path string, stop <-chan struct{}, answered *atomic.Int64) (ok, failed int) {
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		select {
		case <-stop:
			return ok, failed
		default:
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				failed++
				time.Sleep(10 * time.Millisecond) // back off before redialling
				continue
			}
			conn, br = c, bufio.NewReaderSize(c, 4096)
		}
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		status, closing, err := roundTrip(conn, br, req)
		if err != nil || status != 200 {
			failed++
		} else {
			ok++
			answered.Add(1)
		}
		if err != nil || closing {
			conn.Close()
			conn = nil
		}
	}
}

// roundTrip writes req and reads one response with a Content-Length body.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (status int, closing bool, err error) {
	if _, err = conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		if len(h) <= 2 {
			break
		}
		k, v, _ := strings.Cut(string(h), ":")
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "content-length":
			length, _ = strconv.Atoi(v)
		case "connection":
			closing = strings.EqualFold(v, "close")
		}
	}
	if length < 0 {
		return status, closing, fmt.Errorf("response without Content-Length")
	}
	_, err = br.Discard(length)
	return status, closing, err
}
