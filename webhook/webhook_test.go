package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a slog.Handler that keeps records, so tests can wait for
// "webhook delivered" instead of sleeping.
type recorder struct {
	mu      sync.Mutex
	recs    []record
	changed chan struct{}
}

type record struct {
	level slog.Level
	msg   string
	attrs map[string]any
}

type recordHandler struct {
	r     *recorder
	attrs []slog.Attr
}

func newRecorder() (*recorder, *slog.Logger) {
	r := &recorder{changed: make(chan struct{}, 1)}
	return r, slog.New(recordHandler{r: r})
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) WithGroup(string) slog.Handler            { return h }
func (h recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return recordHandler{r: h.r, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h recordHandler) Handle(_ context.Context, rec slog.Record) error {
	attrs := map[string]any{}
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value.Any()
	}
	rec.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.Any()
		return true
	})
	h.r.mu.Lock()
	h.r.recs = append(h.r.recs, record{rec.Level, rec.Message, attrs})
	h.r.mu.Unlock()
	select {
	case h.r.changed <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) find(msg string) []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []record
	for _, rec := range r.recs {
		if rec.msg == msg {
			out = append(out, rec)
		}
	}
	return out
}

// wait blocks until n records with msg were logged.
func (r *recorder) wait(t *testing.T, msg string, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for len(r.find(msg)) < n {
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %d %q records", n, msg)
		}
	}
}

// receiver is a webhook endpoint answering with the codes of answer in turn
// (the last one repeats) and keeping the bodies it got.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	types  []string
}

func newReceiver(t *testing.T, answer ...int) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.bodies)
		rc.bodies = append(rc.bodies, body)
		rc.types = append(rc.types, r.Method+" "+r.Header.Get("Content-Type"))
		rc.mu.Unlock()
		w.WriteHeader(answer[min(n, len(answer)-1)])
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies)
}

// tracebacks returns the traceback field of each received body, to check
// which webhooks arrived in which order.
func tracebacks(t *testing.T, bodies [][]byte) []string {
	t.Helper()
	var out []string
	for _, b := range bodies {
		var p payload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		out = append(out, p.Traceback)
	}
	return out
}

func flush(t *testing.T, s *Sender) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// fast is a configuration whose retries do not slow the tests down.
func fast(url string) Config {
	return Config{URL: url, PodName: "pod-1", Attempts: 3, Backoff: time.Millisecond, Timeout: 2 * time.Second}
}

// keys returns the object's keys in wire order.
func keys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestPayload(t *testing.T) {
	cases := []struct {
		name      string
		typ       Type
		status    Status
		version   string
		traceback string
		info      string
		keys      []string
	}{
		{"startup with everything", TypeStartup, StatusFailed, "1.2.3", "Traceback (most recent call last):\n  boom",
			"Startup webhook", []string{"info", "type", "status", "timestamp", "podname", "version", "traceback"}},
		{"liveness without version", TypeLiveness, StatusSucceeded, "", "",
			"Liveness webhook", []string{"info", "type", "status", "timestamp", "podname", "version"}},
		{"readiness warning", TypeReadiness, StatusWarning, "v9", "",
			"Readiness webhook", []string{"info", "type", "status", "timestamp", "podname", "version"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, http.StatusOK)
			_, log := newRecorder()
			cfg := fast(rc.srv.URL)
			cfg.Version = c.version
			s := New(cfg, log)
			before := time.Now().Unix()
			s.Send(c.typ, c.status, c.traceback)
			after := time.Now().Unix()
			flush(t, s)

			bodies := rc.got()
			if len(bodies) != 1 {
				t.Fatalf("got %d requests, want 1", len(bodies))
			}
			if rc.types[0] != "POST application/json" {
				t.Errorf("request is %q, want a JSON POST", rc.types[0])
			}
			if got := keys(t, bodies[0]); !slices.Equal(got, c.keys) {
				t.Errorf("keys %v, want %v", got, c.keys)
			}
			var m map[string]any
			if err := json.Unmarshal(bodies[0], &m); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"info": c.info, "type": string(c.typ), "status": string(c.status), "podname": "pod-1"}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v", k, m[k], v)
				}
			}
			if ts, _ := m["timestamp"].(float64); int64(ts) < before || int64(ts) > after {
				t.Errorf("timestamp %v not within [%d, %d]", m["timestamp"], before, after)
			}
			if c.version == "" {
				if v, ok := m["version"]; !ok || v != nil {
					t.Errorf("version = %#v (present %v), want null", v, ok)
				}
			} else if m["version"] != c.version {
				t.Errorf("version = %v, want %q", m["version"], c.version)
			}
			if c.traceback != "" && m["traceback"] != c.traceback {
				t.Errorf("traceback = %v, want %q", m["traceback"], c.traceback)
			}
			if got := s.Outcomes(); got[Outcome{c.typ, ResultDelivered}] != 1 || len(got) != 1 {
				t.Errorf("outcomes %v, want one delivered", got)
			}
		})
	}
}

func TestRetriesThenSuccess(t *testing.T) {
	rc := newReceiver(t, 500, 503, 200)
	rec, log := newRecorder()
	cfg := fast(rc.srv.URL)
	cfg.Attempts = 4
	s := New(cfg, log)
	s.Send(TypeStartup, StatusSucceeded, "")
	flush(t, s)

	if n := len(rc.got()); n != 3 {
		t.Errorf("receiver got %d attempts, want 3", n)
	}
	if got := s.Outcomes(); got[Outcome{TypeStartup, ResultDelivered}] != 1 || len(got) != 1 {
		t.Errorf("outcomes %v, want one delivered", got)
	}
	warns := rec.find("webhook attempt failed")
	if len(warns) != 2 {
		t.Fatalf("%d failed-attempt records, want 2", len(warns))
	}
	for i, w := range warns {
		if w.level != slog.LevelWarn || w.attrs["attempt"] != int64(i+1) || w.attrs["url"] != rc.srv.URL ||
			w.attrs["component"] != "webhook" || w.attrs["error"] == nil {
			t.Errorf("attempt record %d: %v %v", i, w.level, w.attrs)
		}
	}
	ok := rec.find("webhook delivered")
	if len(ok) != 1 || ok[0].level != slog.LevelInfo || ok[0].attrs["attempts"] != int64(3) {
		t.Errorf("delivered records: %+v", ok)
	}
}

func TestAllAttemptsFail(t *testing.T) {
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
	}
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	cases := []struct {
		name    string
		handler http.HandlerFunc // nil: nothing listens
	}{
		{"server error", status(500)},
		{"not found", status(404)},
		{"3xx answer", status(300)},
		{"no answer in time", hang},
		{"connection refused", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				// Read the body to its end: only then does the server notice
				// the client hanging up and cancel r.Context().
				_, _ = io.ReadAll(r.Body)
				c.handler(w, r)
			}))
			wantHits := int32(3)
			if c.handler == nil {
				srv.Close()
				wantHits = 0
			} else {
				t.Cleanup(srv.Close)
			}
			rec, log := newRecorder()
			cfg := fast(srv.URL)
			cfg.Timeout = 50 * time.Millisecond
			s := New(cfg, log)
			s.Send(TypeReadiness, StatusFailed, "tb")
			flush(t, s) // failed is not abandoned: no error

			if n := hits.Load(); n != wantHits {
				t.Errorf("receiver got %d attempts, want %d", n, wantHits)
			}
			if got := s.Outcomes(); got[Outcome{TypeReadiness, ResultFailed}] != 1 || len(got) != 1 {
				t.Errorf("outcomes %v, want one failed", got)
			}
			if n := len(rec.find("webhook attempt failed")); n != 3 {
				t.Errorf("%d failed-attempt records, want 3", n)
			}
			final := rec.find("webhook failed")
			if len(final) != 1 || final[0].level != slog.LevelError || final[0].attrs["error"] == nil {
				t.Errorf("final records: %+v", final)
			}
		})
	}
}

func TestHangingReceiver(t *testing.T) {
	got := make(chan struct{}, 16)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		got <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	_, log := newRecorder()
	cfg := fast(srv.URL)
	cfg.Timeout = time.Minute
	cfg.QueueSize = 4
	s := New(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	s.Send(TypeStartup, StatusSucceeded, "")
	<-got // Run is now stuck in the first attempt
	for i := range 10 {
		start := time.Now()
		s.Send(TypeLiveness, StatusFailed, "")
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Fatalf("Send %d took %v while the receiver hangs", i, d)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// 6 of the 10 liveness webhooks overflowed; the interrupted startup one
	// went back to a full queue, so it was the oldest and dropped too.
	want := map[Outcome]int64{{TypeLiveness, ResultDropped}: 6, {TypeStartup, ResultDropped}: 1}
	if got := s.Outcomes(); !equal(got, want) {
		t.Fatalf("outcomes after Run %v, want %v", got, want)
	}

	fctx, fcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer fcancel()
	start := time.Now()
	err := s.Flush(fctx)
	if !errors.Is(err, ErrAbandoned) {
		t.Fatalf("Flush = %v, want ErrAbandoned", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Flush took %v with a 100ms context", d)
	}
	want[Outcome{TypeLiveness, ResultDropped}] = 10
	if got := s.Outcomes(); !equal(got, want) {
		t.Errorf("outcomes after Flush %v, want %v", got, want)
	}
}

func TestFlushStopsRetriesAtDeadline(t *testing.T) {
	rc := newReceiver(t, 500)
	_, log := newRecorder()
	cfg := fast(rc.srv.URL)
	cfg.Backoff = time.Minute
	s := New(cfg, log)
	s.Send(TypeStartup, StatusFailed, "")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Flush(ctx); !errors.Is(err, ErrAbandoned) {
		t.Fatalf("Flush = %v, want ErrAbandoned", err)
	}
	if got := s.Outcomes(); got[Outcome{TypeStartup, ResultDropped}] != 1 || len(got) != 1 {
		t.Errorf("outcomes %v, want one dropped", got)
	}
}

func TestQueueOverflowDropsOldest(t *testing.T) {
	rc := newReceiver(t, 200)
	rec, log := newRecorder()
	cfg := fast(rc.srv.URL)
	cfg.QueueSize = 2
	s := New(cfg, log)
	for _, tb := range []string{"1", "2", "3", "4"} {
		s.Send(TypeLiveness, StatusSucceeded, tb)
	}
	flush(t, s)

	if got := tracebacks(t, rc.got()); !slices.Equal(got, []string{"3", "4"}) {
		t.Errorf("receiver got %v, want [3 4]", got)
	}
	want := map[Outcome]int64{{TypeLiveness, ResultDropped}: 2, {TypeLiveness, ResultDelivered}: 2}
	if got := s.Outcomes(); !equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if n := len(rec.find("webhook queue full; dropped the oldest")); n != 2 {
		t.Errorf("%d queue-full records, want 2", n)
	}
}

func TestNoURL(t *testing.T) {
	rec, log := newRecorder()
	s := New(Config{}, log)
	s.Send(TypeStartup, StatusSucceeded, "")
	s.Send(TypeLiveness, StatusFailed, "tb")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Errorf("Run: %v", err)
	}
	flush(t, s)
	if got := s.Outcomes(); len(got) != 0 {
		t.Errorf("outcomes %v, want none", got)
	}
	if n := len(rec.find("webhooks off; no webhook url")); n != 1 {
		t.Errorf("%d disabled records, want 1", n)
	}
}

func TestRunKeepsOrder(t *testing.T) {
	rc := newReceiver(t, 200)
	rec, log := newRecorder()
	s := New(fast(rc.srv.URL), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	var want []string
	for i := range 20 {
		tb := string(rune('a' + i))
		want = append(want, tb)
		s.Send(TypeReadiness, StatusSucceeded, tb)
	}
	rec.wait(t, "webhook delivered", len(want))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := tracebacks(t, rc.got()); !slices.Equal(got, want) {
		t.Errorf("receiver got %v, want %v", got, want)
	}
}

func TestFlushAfterRunDeliversLeftovers(t *testing.T) {
	var calls atomic.Int32
	first := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p payload
		_ = json.Unmarshal(body, &p)
		mu.Lock()
		seen = append(seen, p.Traceback)
		mu.Unlock()
		if calls.Add(1) == 1 {
			close(first)
			<-r.Context().Done() // hang until Run gives up on it
		}
	}))
	t.Cleanup(srv.Close)

	rec, log := newRecorder()
	cfg := fast(srv.URL)
	cfg.Timeout = time.Minute
	s := New(cfg, log)
	for _, tb := range []string{"a", "b", "c"} {
		s.Send(TypeStartup, StatusSucceeded, tb)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	<-first
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := s.Outcomes(); len(got) != 0 {
		t.Fatalf("outcomes after an interrupted Run %v, want none", got)
	}
	flush(t, s)

	mu.Lock()
	defer mu.Unlock()
	// The interrupted attempt at "a" is made again, then the rest in order.
	if want := []string{"a", "a", "b", "c"}; !slices.Equal(seen, want) {
		t.Errorf("receiver got %v, want %v", seen, want)
	}
	if got := s.Outcomes(); got[Outcome{TypeStartup, ResultDelivered}] != 3 || len(got) != 1 {
		t.Errorf("outcomes %v, want three delivered", got)
	}
	if n := len(rec.find("webhook attempt failed")); n != 0 {
		t.Errorf("an interrupted attempt was logged as failed %d times", n)
	}
}

func TestConcurrentSendAccountsForEveryWebhook(t *testing.T) {
	rc := newReceiver(t, 200)
	_, log := newRecorder()
	cfg := fast(rc.srv.URL)
	cfg.QueueSize = 8
	s := New(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	const senders, each = 8, 25
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range each {
				s.Send(TypeLiveness, StatusWarning, "")
			}
		})
	}
	wg.Wait()
	cancel()
	<-done
	flush(t, s)
	got := s.Outcomes()
	total := got[Outcome{TypeLiveness, ResultDelivered}] + got[Outcome{TypeLiveness, ResultDropped}]
	if total != senders*each || len(got) > 2 {
		t.Errorf("outcomes %v account for %d webhooks, want %d", got, total, senders*each)
	}
	if n := int64(len(rc.got())); n < got[Outcome{TypeLiveness, ResultDelivered}] {
		t.Errorf("receiver got %d, fewer than the %d counted delivered", n, got[Outcome{TypeLiveness, ResultDelivered}])
	}
}

func equal(a, b map[Outcome]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A shutdown that begins while the receiver is answering does not make
// Flush send the webhook a second time.
func TestAttemptUnderWayWhenRunEndsIsNotSentTwice(t *testing.T) {
	var calls atomic.Int32
	got := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		if calls.Add(1) == 1 {
			close(got)
			time.Sleep(200 * time.Millisecond) // a receiver that takes a moment to answer
		}
	}))
	t.Cleanup(srv.Close)
	_, log := newRecorder()
	s := New(fast(srv.URL), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	s.Send(TypeStartup, StatusWarning, "boom")
	<-got
	cancel() // shutdown begins while the attempt is out
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	flush(t, s)
	if n := calls.Load(); n != 1 {
		t.Errorf("the receiver got the webhook %d times, want once", n)
	}
	if got := s.Outcomes(); got[Outcome{TypeStartup, ResultDelivered}] != 1 || len(got) != 1 {
		t.Errorf("outcomes %v, want one delivered", got)
	}
}
