package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// hook is one webhook as received.
type hook struct {
	Info      string  `json:"info"`
	Type      string  `json:"type"`
	Status    string  `json:"status"`
	Timestamp float64 `json:"timestamp"`
	PodName   string  `json:"podname"`
	Version   *string `json:"version"`
	Traceback *string `json:"traceback"`

	raw  map[string]json.RawMessage
	when time.Time
}

func (h hook) String() string { return h.Type + " " + h.Status }

// hookReceiver is a webhook receiver on 127.0.0.1. With hang set, every
// request blocks until hang passes, the client gives up or the test ends.
type hookReceiver struct {
	srv  *httptest.Server
	hang time.Duration
	done chan struct{}

	mu  sync.Mutex
	got []hook
	bad []string
}

func newHookReceiver(t *testing.T, hang time.Duration) *hookReceiver {
	t.Helper()
	h := &hookReceiver{hang: hang, done: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(func() {
		close(h.done)
		h.srv.CloseClientConnections()
		h.srv.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, b := range h.bad {
			t.Errorf("webhook receiver: %s", b)
		}
	})
	return h
}

func (h *hookReceiver) url() string { return h.srv.URL + "/hooks" }

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	h.mu.Lock()
	switch {
	case err != nil:
		h.bad = append(h.bad, fmt.Sprintf("reading a webhook: %v", err))
	case r.Method != http.MethodPost:
		h.bad = append(h.bad, fmt.Sprintf("webhook sent with %s, want POST", r.Method))
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		h.bad = append(h.bad, fmt.Sprintf("webhook Content-Type %q, want application/json", r.Header.Get("Content-Type")))
	}
	var hk hook
	if err := json.Unmarshal(body, &hk); err != nil {
		h.bad = append(h.bad, fmt.Sprintf("webhook body is not JSON: %v: %q", err, body))
	}
	_ = json.Unmarshal(body, &hk.raw)
	hk.when = time.Now()
	h.got = append(h.got, hk)
	h.mu.Unlock()
	if h.hang > 0 {
		select {
		case <-time.After(h.hang):
		case <-r.Context().Done():
		case <-h.done:
		}
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// hooks returns what arrived so far, of the given type ("" for all).
func (h *hookReceiver) hooks(typ string) []hook {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hook
	for _, hk := range h.got {
		if typ == "" || hk.Type == typ {
			out = append(out, hk)
		}
	}
	return out
}

// waitHooks polls until n webhooks of typ arrived.
func (h *hookReceiver) waitHooks(t *testing.T, typ string, n int, timeout time.Duration) []hook {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := h.hooks(typ)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %q webhooks within %s, want %d: %v", len(got), typ, timeout, n, got)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func statuses(hs []hook) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Status
	}
	return out
}

// ---- 14. payloads, and one webhook per flip

func TestWebhooks(t *testing.T) {
	recv := newHookReceiver(t, 0)
	failR := newFlagFile(t, "readiness")
	before := time.Now()
	s := startLC(t, serverConfig{wait: waitStartup, env: []string{"E2E_FAIL_READINESS=" + string(failR)}},
		append(siteArgs(t, "settings"), "--webhook-url", recv.url())...)

	st := recv.waitHooks(t, "startup", 1, 10*time.Second)[0]
	after := time.Now()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if st.Info != "Startup webhook" || st.Status != "succeeded" || st.PodName != host {
		t.Errorf("startup webhook: info %q status %q podname %q, want \"Startup webhook\" succeeded %q", st.Info, st.Status, st.PodName, host)
	}
	if ts := int64(st.Timestamp); ts < before.Unix()-1 || ts > after.Unix()+1 || float64(ts) != st.Timestamp {
		t.Errorf("startup webhook timestamp %v, want whole epoch seconds between %d and %d", st.Timestamp, before.Unix(), after.Unix())
	}
	if v, ok := st.raw["version"]; !ok || string(v) != "null" {
		t.Errorf("startup webhook version %s (present %v), want null without HURRICANE_VERSION", v, ok)
	}
	if _, ok := st.raw["traceback"]; ok {
		t.Errorf("startup webhook that succeeded has a traceback: %s", st.raw["traceback"])
	}
	for _, k := range []string{"info", "type", "status", "timestamp", "podname", "version"} {
		if _, ok := st.raw[k]; !ok {
			t.Errorf("startup webhook lacks %q: %v", k, st.raw)
		}
	}

	// Repeated identical answers send nothing more; each flip sends one.
	for range 3 {
		wantAnswer(t, "GET /alive", s.probe(t, "/alive"), 200, "alive")
	}
	for range 3 {
		wantAnswer(t, "GET /ready", s.probe(t, "/ready"), 200, "")
	}
	failR.create(t)
	// Probes answer from checks at most ~2 s old: wait for the turn.
	pollURL(t, s.probeURL("/ready"), 5*time.Second, "GET /ready turning 500", func(a answer) bool { return a.status == 500 })
	for range 3 {
		wantAnswer(t, "GET /ready with a failing check", s.probe(t, "/ready"), 500, "check error")
	}
	failR.remove(t)
	pollURL(t, s.probeURL("/ready"), 5*time.Second, "GET /ready turning 200", func(a answer) bool { return a.status == 200 })
	for range 3 {
		wantAnswer(t, "GET /ready after recovery", s.probe(t, "/ready"), 200, "")
	}
	recv.waitHooks(t, "readiness", 3, 10*time.Second)

	// Stopping flushes whatever is pending; then nothing more may come.
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if got := statuses(recv.hooks("startup")); strings.Join(got, ",") != "succeeded" {
		t.Errorf("startup webhooks %v, want [succeeded]", got)
	}
	if got := statuses(recv.hooks("liveness")); strings.Join(got, ",") != "succeeded" {
		t.Errorf("liveness webhooks %v, want [succeeded] (first result only)", got)
	}
	if got := statuses(recv.hooks("readiness")); strings.Join(got, ",") != "succeeded,failed,succeeded" {
		t.Errorf("readiness webhooks %v, want [succeeded failed succeeded]", got)
	}
	for _, hk := range recv.hooks("") {
		want := map[string]string{"startup": "Startup webhook", "liveness": "Liveness webhook", "readiness": "Readiness webhook"}[hk.Type]
		if hk.Info != want || hk.PodName != host {
			t.Errorf("%s webhook: info %q podname %q, want %q %q", hk.Type, hk.Info, hk.PodName, want, host)
		}
		if hk.Traceback != nil {
			t.Errorf("%s %s webhook has a traceback %q", hk.Type, hk.Status, *hk.Traceback)
		}
	}
	t.Logf("webhooks in order: %v", recv.hooks(""))
}

// ---- 13. a receiver that hangs slows nothing down

func TestWebhookReceiverHangs(t *testing.T) {
	recv := newHookReceiver(t, 60*time.Second)
	failR := newFlagFile(t, "readiness")
	s := startLC(t, serverConfig{wait: waitNone, env: []string{"E2E_FAIL_READINESS=" + string(failR)}},
		append(siteArgs(t, "settings"), "--webhook-url", recv.url())...)
	waitProbePort(t, s, startTimeout)

	const limit = time.Second
	slow := 0
	check := func(what string, a answer) {
		t.Helper()
		if a.took > limit {
			slow++
			t.Errorf("%s took %s with a hanging webhook receiver", what, a.took)
		}
	}
	// During startup and after it.
	deadline := time.Now().Add(startTimeout)
	for {
		a := s.probe(t, "/startup")
		check("GET /startup", a)
		if a.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("startup not finished within %s", startTimeout)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	recv.waitHooks(t, "startup", 1, 5*time.Second) // it hangs now
	n := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); n++ {
		check("GET /hello", mustCall(t, http.MethodGet, s.url("/hello")))
		check("GET /alive", s.probe(t, "/alive"))
		check("GET /ready", s.probe(t, "/ready"))
		if n%5 == 0 { // flip readiness: more webhooks queue up behind the hung one
			if n%10 == 0 {
				failR.create(t)
			} else {
				failR.remove(t)
			}
		}
	}
	t.Logf("%d rounds of /hello, /alive and /ready; %d slower than %s", n, slow, limit)

	// Exit is not held up for longer than the 5 s flush.
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	took := s.waitExit(t, 20*time.Second)
	t.Logf("exited %s after SIGINT with the receiver hanging", took.Round(time.Millisecond))
	if took > 8*time.Second {
		t.Errorf("exit took %s after SIGINT with a hanging webhook receiver, want the 5 s flush at most (plus shutdown)", took)
	}
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}
