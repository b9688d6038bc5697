package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func exposition(counter, gauge float64, hist []float64) string {
	var b strings.Builder
	b.WriteString("# HELP orders_total Orders.\n# TYPE orders_total counter\n")
	b.WriteString("orders_total{shop=\"a\"} " + ftoa(counter) + "\n")
	b.WriteString("# HELP queue_depth Depth.\n# TYPE queue_depth gauge\nqueue_depth " + ftoa(gauge) + "\n")
	b.WriteString("# HELP work_seconds Work.\n# TYPE work_seconds histogram\n")
	b.WriteString("work_seconds_bucket{le=\"0.1\"} " + ftoa(hist[0]) + "\n")
	b.WriteString("work_seconds_bucket{le=\"+Inf\"} " + ftoa(hist[1]) + "\n")
	b.WriteString("work_seconds_count " + ftoa(hist[1]) + "\nwork_seconds_sum 1.5\n")
	return b.String()
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func family(t *testing.T, fams []*dto.MetricFamily, name string) *dto.MetricFamily {
	t.Helper()
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("family %s missing", name)
	return nil
}

func TestAppMetricsSummedAndMonotonic(t *testing.T) {
	scrapes := []AppScrape{
		{Slot: 0, PID: 100, Text: exposition(3, 7, []float64{1, 3})},
		{Slot: 1, PID: 101, Text: exposition(4, 9, []float64{2, 4})},
	}
	g := newAppGatherer(func(context.Context) []AppScrape { return scrapes }, quiet)
	check := func(wantCounter float64, wantCount uint64, wantGauges int) {
		t.Helper()
		fams, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		c := family(t, fams, "orders_total")
		if len(c.Metric) != 1 || c.Metric[0].GetCounter().GetValue() != wantCounter {
			t.Fatalf("orders_total = %v, want one sample of %v", c.Metric, wantCounter)
		}
		h := family(t, fams, "work_seconds")
		if got := h.Metric[0].GetHistogram().GetSampleCount(); got != wantCount {
			t.Fatalf("work_seconds count = %d, want %d", got, wantCount)
		}
		gauge := family(t, fams, "queue_depth")
		if len(gauge.Metric) != wantGauges {
			t.Fatalf("queue_depth has %d samples, want %d (one per worker slot)", len(gauge.Metric), wantGauges)
		}
		for _, m := range gauge.Metric {
			if m.Label[len(m.Label)-1].GetName() != "worker" {
				t.Fatalf("gauge sample without worker label: %v", m)
			}
		}
	}
	check(7, 7, 2)

	// Worker 1 is replaced by PID 102, which starts from zero.
	scrapes = []AppScrape{
		{Slot: 0, PID: 100, Text: exposition(5, 7, []float64{1, 3})},
		{Slot: 1, PID: 102, Text: exposition(1, 0, []float64{0, 1})},
	}
	check(5+4+1, 3+4+1, 2)

	// A worker that does not answer keeps its last values.
	scrapes = []AppScrape{
		{Slot: 0, PID: 100, Err: errors.New("timeout")},
		{Slot: 1, PID: 102, Text: exposition(2, 0, []float64{0, 1})},
	}
	check(5+4+2, 3+4+1, 2)
}

func TestObserveBoundsLabels(t *testing.T) {
	m := New(Info{Version: "1.0", Port: 8000, ProbePort: 8001}, Sources{}, quiet)
	m.Observe("GET", 200, "/items/<int:pk>", 3*time.Millisecond, 120)
	m.Observe("BREW", 418, "<unmatched>", time.Millisecond, 0)
	if got := testutil.ToFloat64(m.requests.WithLabelValues("OTHER", "418", "<unmatched>")); got != 1 {
		t.Fatalf("unknown method not counted as OTHER: %v", got)
	}
	if got := testutil.CollectAndCount(m.requests); got != 2 {
		t.Fatalf("%d request series, want 2", got)
	}
}

func TestExpositionPassesLint(t *testing.T) {
	m := New(Info{Version: "1.0", Port: 8000, ProbePort: 8001, Commands: []string{"migrate"}}, Sources{
		QueueLength:    func(context.Context) (int, error) { return 2, nil },
		WorkersAlive:   func() int { return 2 },
		Restarts:       func() map[string]int64 { return map[string]int64{"memory": 1} },
		StartupSeconds: func() float64 { return 0.5 },
		ProbeHealthy:   func(string) (bool, bool) { return true, true },
		Webhooks:       func() map[[2]string]int64 { return map[[2]string]int64{{"startup", "delivered"}: 1} },
		Workers:        func() []Worker { return []Worker{{Slot: 0, PID: 1, RSS: 1 << 20, CPU: time.Second}} },
	}, quiet)
	m.Observe("GET", 200, "/hello", time.Millisecond, 12)
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, m.reg)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func mustGather(t *testing.T, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestWorkerCPUStaysMonotonic(t *testing.T) {
	ws := []Worker{{Slot: 0, PID: 10, CPU: 5 * time.Second}}
	c := newWorkerCollector(func() []Worker { return ws })
	cpu := func() float64 {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		for _, f := range mustGather(t, reg) {
			if f.GetName() == "hurricane_worker_cpu_seconds_total" {
				return f.Metric[0].GetCounter().GetValue()
			}
		}
		t.Fatal("no cpu family")
		return 0
	}
	if got := cpu(); got != 5 {
		t.Fatalf("cpu = %v, want 5", got)
	}
	ws = nil // restarting
	if got := cpu(); got != 5 {
		t.Fatalf("cpu while restarting = %v, want 5", got)
	}
	ws = []Worker{{Slot: 0, PID: 11, CPU: time.Second}}
	if got := cpu(); got != 6 {
		t.Fatalf("cpu after replacement = %v, want 6", got)
	}
}
