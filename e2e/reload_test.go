package e2e

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// poller GETs a URL in a loop until stopped, counting every failure.
type poller struct {
	stop     chan struct{}
	done     sync.WaitGroup
	requests atomic.Int64
	failures atomic.Int64
	mu       sync.Mutex
	last     string
	firstErr string
}

func startPoller(url string) *poller {
	p := &poller{stop: make(chan struct{})}
	c := newClient()
	p.done.Go(func() {
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			o := fetch(c, url)
			p.requests.Add(1)
			p.mu.Lock()
			if o.err != nil || o.status != http.StatusOK {
				p.failures.Add(1)
				if p.firstErr == "" {
					p.firstErr = o.body
					if o.err != nil {
						p.firstErr = o.err.Error()
					}
				}
			} else {
				p.last = o.body
			}
			p.mu.Unlock()
		}
	})
	return p
}

func (p *poller) lastBody() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func (p *poller) finish(t *testing.T) {
	t.Helper()
	close(p.stop)
	p.done.Wait()
	if n := p.failures.Load(); n > 0 {
		t.Fatalf("%d of %d polled requests failed (first: %s)", n, p.requests.Load(), p.firstErr)
	}
	t.Logf("%d polled requests, none failed", p.requests.Load())
}

// copyDemo copies the example project, so a test can edit its code.
func copyDemo(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "demo")
	err := filepath.WalkDir(demoDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(demoDir, path)
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestAutoreloadReplacesWorkersWithoutFailedRequests(t *testing.T) {
	requirePython(t)
	dir := copyDemo(t)
	s, err := startServerConfig(serverConfig{dir: dir}, "--autoreload")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stopping hurricane: %v", err)
		}
	})
	s.dumpOnFailure(t)
	p := startPoller(s.url("/hello"))
	deadline := time.Now().Add(10 * time.Second)
	for p.lastBody() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	if got := p.lastBody(); got != "Hello world!" {
		p.finish(t)
		t.Fatalf("before the edit /hello = %q", got)
	}

	views := filepath.Join(dir, "demo", "views.py")
	src, err := os.ReadFile(views)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), `"Hello world!"`, `"Hello again!"`, 1)
	if edited == string(src) {
		t.Fatal(`demo/views.py has no "Hello world!" to edit`)
	}
	edit := time.Now()
	if err := os.WriteFile(views, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for p.lastBody() != "Hello again!" {
		if time.Now().After(deadline) {
			p.finish(t)
			t.Fatalf("/hello still %q 20 s after the edit", p.lastBody())
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	t.Logf("new code answered %s after the edit", time.Since(edit).Round(time.Millisecond))
	// Keep polling through the old worker's exit.
	waitLog(t, s, 10*time.Second, "autoreload performed", func(r record) bool { return r.str("msg") == "autoreload performed" })
	time.Sleep(500 * time.Millisecond) // more traffic after the swap, not synchronisation
	p.finish(t)
	if !s.running() {
		t.Fatal("the server exited")
	}
}

func TestMaxMemoryReplacesTheWorkerGracefully(t *testing.T) {
	s := startDedicated(t, append(siteArgs(t, "observe"), "--max-memory", "200")...)
	c := newClient()
	var pids []string
	for i := 0; ; i++ {
		if i == 60 {
			t.Fatalf("worker never replaced; answers from %v", pids)
		}
		o := fetch(c, s.url("/leak"))
		if o.err != nil || o.status != http.StatusOK {
			t.Fatalf("request %d to /leak failed: %d %v %s", i, o.status, o.err, o.body)
		}
		pid := strings.Fields(o.body)[0]
		if len(pids) == 0 || pids[len(pids)-1] != pid {
			pids = append(pids, pid)
		}
		if len(pids) == 2 {
			break
		}
		time.Sleep(250 * time.Millisecond) // pacing: 160 MB/s of leak, checked every 500 ms
	}
	waitMetric(t, s, "hurricane_worker_restarts_total", map[string]string{"reason": "memory"}, 1, 5*time.Second)
	r := waitLog(t, s, 5*time.Second, "memory warning", func(r record) bool {
		return r.str("msg") == "worker memory above --max-memory; replacing it"
	})
	if mb, _ := r.num("rss_mb"); mb <= 200 {
		t.Fatalf("replaced at rss_mb=%v, not above 200", mb)
	}
}
