package worker

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hurricane-run/hurricane/protocol"
)

// testPool starts a pool on testdata/tsite with the real Python worker.
func testPool(t *testing.T, sv Serving, env ...string) *Pool {
	t.Helper()
	python := os.Getenv("HURRICANE_TEST_PYTHON")
	if python == "" {
		if os.Getenv("HURRICANE_E2E_REQUIRED") == "1" {
			t.Fatal("HURRICANE_TEST_PYTHON is required")
		}
		t.Skip("HURRICANE_TEST_PYTHON not set (scripts/test sets it)")
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	pl, err := New(Config{Python: python, Settings: "tsite.settings", Dir: dir, Env: env}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := pl.Start(ctx, sv); err != nil {
		cancel()
		pl.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = pl.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		pl.Shutdown(context.Background(), 5*time.Second)
		pl.Close()
	})
	return pl
}

func get(t *testing.T, pl *Pool, target string) (int, string) {
	t.Helper()
	path, query, _ := strings.Cut(target, "?")
	st, err := pl.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	req := &protocol.Request{HTTPVersion: protocol.HTTP11, Method: []byte("GET"), Path: []byte(path), RawPath: []byte(path), QueryString: []byte(query),
		Headers: []protocol.Header{{Name: []byte("host"), Value: []byte("localhost")}}}
	if err := st.Send(req, false); err != nil {
		t.Fatal(err)
	}
	ev := st.Next()
	switch ev.Kind {
	case EventStart:
	case EventGone:
		return 502, ""
	default:
		t.Fatalf("event %v", ev.Kind)
	}
	body := string(ev.Body)
	for more := ev.More; more; {
		_ = st.Ack(len(ev.Body))
		ev = st.Next()
		if ev.Kind != EventBody {
			t.Fatalf("event %v during body", ev.Kind)
		}
		body += string(ev.Body)
		more = ev.More
		st.Release(ev)
	}
	return ev.Status, body
}

func TestSyncAndAsyncViews(t *testing.T) {
	pl := testPool(t, Serving{Processes: 1, Threads: 2})
	for _, c := range []struct{ path, body string }{{"/hello", "hello"}, {"/ahello", "ahello"}} {
		if status, body := get(t, pl, c.path); status != 200 || body != c.body {
			t.Errorf("%s: %d %q", c.path, status, body)
		}
	}
	if _, body := get(t, pl, "/stream?n=30"); len(body) != 3000000 {
		t.Errorf("stream: %d bytes, want 3000000 (credit must be returned)", len(body))
	}
}

func TestBlockingViewsSpillToOtherThreads(t *testing.T) {
	pl := testPool(t, Serving{Processes: 1, Threads: 4})
	get(t, pl, "/hello")
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { get(t, pl, "/sleep?ms=400") })
	}
	wg.Wait()
	if d := time.Since(start); d > 1200*time.Millisecond {
		t.Fatalf("4 sleeping views took %s with 4 threads; they did not run concurrently", d)
	}
}

func TestQueueLengthCountsRequestsWaitingForAThread(t *testing.T) {
	pl := testPool(t, Serving{Processes: 1, Threads: 1})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { get(t, pl, "/sleep?ms=1500") })
	}
	defer wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := pl.QueueLength(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue length %d, want 2 (one view running on the only thread)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestControlLaneAnswersWhileSaturated(t *testing.T) {
	pl := testPool(t, Serving{Processes: 1, Threads: 2})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { get(t, pl, "/spin?ms=1500") })
	}
	defer wg.Wait()
	p := pl.Workers()[0]
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := p.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Active == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the CPU-bound views did not start: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 5 {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := p.Control(ctx, protocol.OpPing, nil, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("ping took %s while saturated", d)
		}
	}
}

func TestCrashedWorkerIsReplaced(t *testing.T) {
	pl := testPool(t, Serving{Processes: 1, Threads: 2})
	old := pl.Workers()[0]
	result := make(chan int, 1)
	go func() {
		status, _ := get(t, pl, "/sleep?ms=5000")
		result <- status
	}()
	deadline := time.Now().Add(5 * time.Second)
	for old.Inflight() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(old.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case status := <-result:
		if status != 502 {
			t.Fatalf("in-flight request: %d, want 502 (worker gone)", status)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("in-flight request hung after its worker died")
	}
	if status, body := get(t, pl, "/hello"); status != 200 || body != "hello" {
		t.Fatalf("after crash: %d %q", status, body)
	}
	if w := pl.Workers(); len(w) != 1 || w[0].PID() == old.PID() {
		t.Fatalf("workers after crash: %v", w)
	}
}

func TestSnapshotReadsSettings(t *testing.T) {
	pl := testPool(t, Serving{Processes: 1, Threads: 1})
	got, err := pl.Snapshot(context.Background(), []string{"HURRICANE_PORT", "PORT", "NOT_SET", "DEBUG"})
	if err != nil {
		t.Fatal(err)
	}
	if got["HURRICANE_PORT"] != float64(6001) || got["PORT"] != float64(6572) || got["DEBUG"] != false {
		t.Fatalf("snapshot = %v", got)
	}
	if _, ok := got["NOT_SET"]; ok {
		t.Fatalf("snapshot has an unset setting: %v", got)
	}
}

func TestStartErrorNamesTheProblem(t *testing.T) {
	python := os.Getenv("HURRICANE_TEST_PYTHON")
	if python == "" {
		t.Skip("HURRICANE_TEST_PYTHON not set")
	}
	dir, _ := filepath.Abs("testdata")
	pl, err := New(Config{Python: python, Settings: "tsite.nosuchmodule", Dir: dir}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	err = pl.Start(context.Background(), Serving{Processes: 2})
	if err == nil || !strings.Contains(err.Error(), "could not be imported") {
		t.Fatalf("err = %v", err)
	}
}
