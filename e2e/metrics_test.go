package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches the server's /metrics and parses it with Prometheus' own
// text parser.
func scrape(t *testing.T, s *server) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	r := get(t, newClient(), s.probeURL("/metrics"))
	wantStatus(t, r, http.StatusOK)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(r.body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, clip(r.body))
	}
	return fams, r.body
}

// sample is the sum of a family's samples whose labels include want.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	var sum float64
	found := false
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			if labels[k] != v {
				ok = false
			}
		}
		if !ok {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

// waitMetric scrapes until name{labels} reads want or timeout passes.
func waitMetric(t *testing.T, s *server, name string, labels map[string]string, want float64, timeout time.Duration) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		fams, _ := scrape(t, s)
		got, _ := sample(fams, name, labels)
		if got == want {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v within %s", name, labels, got, want, timeout)
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

func TestMetrics(t *testing.T) {
	requirePython(t)
	s, err := startServerConfig(serverConfig{wait: waitStartup}, append(siteArgs(t, "observe"), "--processes", "2")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stopping hurricane: %v", err)
		}
	})
	s.dumpOnFailure(t)
	c := newClient()

	// After N requests the request counter reads N.
	const n = 25
	for range n {
		wantStatus(t, get(t, c, s.url("/hello")), http.StatusOK)
	}
	fams, body := scrape(t, s)
	if got, _ := sample(fams, "hurricane_http_requests_total", map[string]string{"route": "/hello", "method": "GET", "status": "200"}); got != n {
		t.Fatalf("hurricane_http_requests_total{route=/hello} = %v, want %d", got, n)
	}
	if got, _ := sample(fams, "hurricane_http_request_duration_seconds", map[string]string{"route": "/hello"}); got != n {
		t.Fatalf("request duration histogram counted %v, want %d", got, n)
	}
	info := map[string]string{"version": "dev", "port": strconv.Itoa(s.port), "probe_port": strconv.Itoa(s.probePort)}
	if got, ok := sample(fams, "hurricane_info", info); !ok || got != 1 {
		t.Fatalf("hurricane_info%v missing", info)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "hurricane_worker_resident_memory_bytes", "hurricane_worker_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("family %s missing", name)
		}
	}
	if got, _ := sample(fams, "hurricane_worker_processes", nil); got != 2 {
		t.Errorf("hurricane_worker_processes = %v, want 2", got)
	}
	for _, name := range []string{"python_gc_objects_collected_total", "process_virtual_memory_bytes_created"} {
		if fams[name] != nil {
			t.Errorf("family %s forwarded from the workers", name)
		}
	}
	// The 1.6.2-style async custom metric ran before the scrape, in each worker.
	if got, _ := sample(fams, "e2e_async_value", map[string]string{"worker": "1"}); got != 42 {
		t.Errorf("e2e_async_value{worker=1} = %v, want 42", got)
	}

	// promtool finds nothing at all.
	checkPromtool(t, body)

	// The app's own counter, summed over both processes: visit until both
	// workers counted some.
	pids := map[string]int{}
	visits := 0
	for visits < 400 && len(pids) < 2 {
		var wg sync.WaitGroup
		out := make([]outcome, 4)
		for i := range out {
			wg.Go(func() { out[i] = fetch(c, s.url("/visit")) })
		}
		wg.Wait()
		for _, o := range out {
			if o.err != nil || o.status != http.StatusOK {
				t.Fatalf("/visit: %d %v", o.status, o.err)
			}
			pids[o.body]++
			visits++
		}
	}
	if len(pids) < 2 {
		t.Fatalf("after %d visits only workers %v answered", visits, pids)
	}
	waitMetric(t, s, "e2e_visits_total", nil, float64(visits), 5*time.Second)

	// Kill one worker: the sum must not go back.
	var victim int
	for p := range pids {
		victim, _ = strconv.Atoi(p)
		break
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, s, "hurricane_worker_restarts_total", map[string]string{"reason": "exit"}, 1, 15*time.Second)
	waitMetric(t, s, "hurricane_worker_processes", nil, 2, 15*time.Second)
	fams, _ = scrape(t, s)
	if got, _ := sample(fams, "e2e_visits_total", nil); got != float64(visits) {
		t.Fatalf("e2e_visits_total = %v after a worker was replaced, want %d (monotonic)", got, visits)
	}
	for range 3 {
		wantStatus(t, get(t, c, s.url("/visit")), http.StatusOK)
	}
	waitMetric(t, s, "e2e_visits_total", nil, float64(visits+3), 5*time.Second)

	// A real Prometheus server scrapes the endpoint and answers a query.
	queryPrometheus(t, s, `sum(hurricane_http_requests_total{route="/hello"})`, n)
}

// checkPromtool runs "promtool check metrics" on an exposition and fails on
// any finding.
func checkPromtool(t *testing.T, body []byte) {
	t.Helper()
	promtool := requireTool(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// requireTool finds a program the test scripts install, skipping (or
// failing, with HURRICANE_E2E_REQUIRED=1) without it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("HURRICANE_E2E_REQUIRED") == "1" {
		t.Fatalf("%s not found (scripts/test installs it): %v", name, err)
	}
	t.Skipf("%s not found; run ./scripts/test to install it", name)
	return ""
}

// queryPrometheus starts a Prometheus server scraping s every 500 ms and
// waits until query returns want.
func queryPrometheus(t *testing.T, s *server, query string, want float64) {
	t.Helper()
	bin := requireTool(t, "prometheus")
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("global:\n  scrape_interval: 500ms\nscrape_configs:\n  - job_name: hurricane\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n", s.probePort)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address=127.0.0.1:"+strconv.Itoa(port))
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	api := "http://127.0.0.1:" + strconv.Itoa(port) + "/api/v1/query?query=" + url.QueryEscape(query)
	c := newClient()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := c.Get(api)
		if err == nil {
			var r struct {
				Status string `json:"status"`
				Data   struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if err == nil && r.Status == "success" && len(r.Data.Result) == 1 {
				v, _ := r.Data.Result[0].Value[1].(string)
				last = v
				if f, err := strconv.ParseFloat(v, 64); err == nil && f == want {
					return
				}
			}
		}
		time.Sleep(250 * time.Millisecond) // polling interval
	}
	t.Fatalf("Prometheus never answered %s = %v (last %q); its log:\n%s", query, want, last, logs.tail(20))
}
