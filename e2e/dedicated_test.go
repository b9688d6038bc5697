package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests here start servers of their own: they change flags, kill workers or
// stop the server.

type outcome struct {
	status int
	body   string
	err    error
	done   time.Time
}

// fetch GETs url and reports what happened, for use in goroutines.
func fetch(c *http.Client, url string) outcome {
	resp, err := c.Get(url)
	if err != nil {
		return outcome{err: err, done: time.Now()}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return outcome{status: resp.StatusCode, body: string(body), err: err, done: time.Now()}
}

func onlyWorkerPID(t *testing.T, s *server) int {
	t.Helper()
	pids := workerPIDs(s)
	if len(pids) != 1 {
		t.Fatalf("want one \"worker ready\" record with a pid, got pids %v", pids)
	}
	return pids[0]
}

func TestConcurrencyDefaults(t *testing.T) {
	s := startDedicated(t) // default --processes and --workers
	c := newClient()
	wantStatus(t, get(t, c, s.url("/hello")), http.StatusOK)
	for _, tc := range []struct {
		path string
		n    int
	}{
		{"/sleep?ms=400", 8},
		{"/asleep?ms=400", 32},
	} {
		t.Run(fmt.Sprintf("%dx%s", tc.n, tc.path), func(t *testing.T) {
			const limit = 1600 * time.Millisecond
			out := make([]outcome, tc.n)
			start := time.Now()
			var wg sync.WaitGroup
			for i := range tc.n {
				wg.Go(func() { out[i] = fetch(c, s.url(tc.path)) })
			}
			wg.Wait()
			elapsed := time.Since(start)
			for i, o := range out {
				if o.err != nil || o.status != http.StatusOK || o.body != "slept 400" {
					t.Errorf("request %d: status %d body %q error %v", i, o.status, o.body, o.err)
				}
			}
			t.Logf("%d requests took %s", tc.n, elapsed)
			if elapsed > limit {
				t.Errorf("%d concurrent %s took %s, want at most %s", tc.n, tc.path, elapsed, limit)
			}
		})
	}
}

func TestWorkerCrash(t *testing.T) {
	s := startDedicated(t)
	pid := onlyWorkerPID(t, s)
	c := newClient()
	wantStatus(t, get(t, c, s.url("/hello")), http.StatusOK)

	const n = 4
	results := make(chan outcome, n)
	for range n {
		go func() { results <- fetch(c, s.url("/sleep?ms=3000")) }()
	}
	// All four views are running in the worker.
	waitSleeping(t, pid, n, 5*time.Second)
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing worker %d: %v", pid, err)
	}
	for i := range n {
		select {
		case o := <-results:
			after := o.done.Sub(killed)
			if o.err != nil || o.status != http.StatusBadGateway {
				t.Errorf("request %d in flight on the killed worker: status %d body %q error %v, want 502", i, o.status, o.body, o.err)
			}
			if after > 1500*time.Millisecond {
				t.Errorf("request %d answered %s after the kill, want well before its 3s sleep would end", i, after)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d in-flight requests answered within 10s of the worker's death", i, n)
		}
	}
	if !s.running() {
		t.Fatalf("hurricane exited after its worker was killed: %v", s.err)
	}

	// A replacement serves within 10 s.
	deadline := time.Now().Add(10 * time.Second)
	short := newClient()
	short.Timeout = 2 * time.Second
	for {
		o := fetch(short, s.url("/hello"))
		if o.err == nil && o.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /hello did not succeed within 10s of the worker's death; last: status %d error %v", o.status, o.err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	rec := waitLog(t, s, 5*time.Second, "saying the worker exited", func(r record) bool {
		p, _ := r.num("pid")
		return r.str("msg") == "worker exited; replacing it" && int(p) == pid
	})
	if lvl := rec.str("level"); lvl != "ERROR" && lvl != "WARN" {
		t.Errorf("worker exit logged at level %q, want ERROR or WARN", lvl)
	}
	if pids := workerPIDs(s); len(pids) != 2 || pids[1] == pid {
		t.Errorf("worker ready pids %v, want the killed %d and one new", pids, pid)
	}
}

func TestMaxBodySize(t *testing.T) {
	s := startDedicated(t, "--max-body-size", "1000")
	for _, tc := range []struct {
		name    string
		path    string
		n       int
		chunked bool
		status  int
	}{
		{"Content-Length 1001", "/echo", 1001, false, http.StatusRequestEntityTooLarge},
		{"chunked 5000", "/echo", 5000, true, http.StatusRequestEntityTooLarge},
		{"async chunked 5000", "/aecho", 5000, true, http.StatusRequestEntityTooLarge},
		{"chunked 65535", "/echo", 64<<10 - 1, true, http.StatusRequestEntityTooLarge},
		{"chunked 65536", "/echo", 64 << 10, true, http.StatusRequestEntityTooLarge},
		{"Content-Length 1000", "/echo", 1000, false, http.StatusOK},
		{"chunked 1000", "/echo", 1000, true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("b"), tc.n)
			var r io.Reader = bytes.NewReader(body)
			if tc.chunked {
				r = unsized{r}
			}
			req, _ := http.NewRequest(http.MethodPost, s.url(tc.path), r)
			req.Header.Set("Content-Type", "application/octet-stream")
			res := do(t, newClient(), req)
			wantStatus(t, res, tc.status)
			if tc.status == http.StatusOK {
				e := decodeEcho(t, res)
				if e.BodyLen != tc.n {
					t.Errorf("app got %d bytes, want %d", e.BodyLen, tc.n)
				}
			}
		})
	}
	wantStatus(t, get(t, newClient(), s.url("/hello")), http.StatusOK)
}

func TestGracefulStop(t *testing.T) {
	t.Run("SIGINT idle", func(t *testing.T) {
		s := startDedicated(t)
		pid := onlyWorkerPID(t, s)
		start := time.Now()
		if err := s.stopWith(os.Interrupt); err != nil {
			t.Fatalf("stop: %v", err)
		}
		took := time.Since(start)
		t.Logf("exited %s after SIGINT", took)
		if took > 5*time.Second {
			t.Errorf("exit took %s after SIGINT, want a few seconds at most", took)
		}
		checkCleanExit(t, s, pid)
	})
	t.Run("SIGTERM with a request in flight", func(t *testing.T) {
		s := startDedicated(t)
		pid := onlyWorkerPID(t, s)
		res := make(chan outcome, 1)
		go func() { res <- fetch(newClient(), s.url("/sleep?ms=1500")) }()
		waitSleeping(t, pid, 1, 5*time.Second)
		if err := s.stopWith(syscall.SIGTERM); err != nil {
			t.Fatalf("stop: %v", err)
		}
		select {
		case o := <-res:
			if o.err != nil || o.status != http.StatusOK || o.body != "slept 1500" {
				t.Errorf("the request in flight at SIGTERM: status %d body %q error %v, want 200 slept 1500", o.status, o.body, o.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the request in flight at SIGTERM did not finish")
		}
		checkCleanExit(t, s, pid)
	})
}

func checkCleanExit(t *testing.T, s *server, workerPID int) {
	t.Helper()
	if s.running() {
		t.Fatal("still running")
	}
	if s.err != nil {
		t.Errorf("exit status: %v, want 0", s.err)
	}
	if len(s.logs.find(func(r record) bool { return r.str("msg") == "shut down" })) == 0 {
		t.Error("no \"shut down\" log record")
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(workerPID) {
		if time.Now().After(deadline) {
			t.Errorf("worker %d still runs 5s after hurricane exited", workerPID)
			_ = syscall.Kill(workerPID, syscall.SIGKILL)
			return
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// More concurrent uploads than threads: every thread ends up inside a view
// waiting for body, and the body frames of many streams batch together in
// Go's writes. Each upload must arrive whole (a deadlock and a corruption of
// large batched writes were found this way).
func TestConcurrentUploadsBeyondThreads(t *testing.T) {
	s := startDedicated(t, "--workers", "2")
	body := payload()[:1<<20]
	want := sha(body)
	const uploads = 16
	errs := make(chan error, uploads)
	var wg sync.WaitGroup
	for range uploads {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, s.url("/upload"), bytes.NewReader(body))
			resp, err := newClient().Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var got struct {
				Size   int    `json:"size"`
				SHA256 string `json:"sha256"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("status %d, decode error %v", resp.StatusCode, err)
				return
			}
			if got.Size != len(body) || got.SHA256 != want {
				errs <- fmt.Errorf("upload arrived as %d bytes sha256 %s, want %d bytes %s", got.Size, got.SHA256, len(body), want)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("uploads still running after 60 s: the worker is stuck")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantAnswer(t, "GET /hello after the uploads", mustCall(t, http.MethodGet, s.url("/hello")), 200, "Hello world!")
}
