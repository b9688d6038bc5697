package metrics

import (
	"context"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

// AppScrape is one worker's prometheus_client exposition.
type AppScrape struct {
	Slot int
	PID  int
	Text string
	Err  error
}

// workerLabel names the worker slot on the app's gauges.
const workerLabel = "worker"

// appGatherer merges the app metrics of every worker process. Counters,
// histograms and summaries are summed over the processes; the last values
// of a process that is gone are kept in retired and added on, so the sums
// never go back when a worker is replaced. Gauges (and untyped samples) make
// no sense summed: each gets a worker label with its slot.
type appGatherer struct {
	scrape func(ctx context.Context) []AppScrape
	log    *slog.Logger

	mu      sync.Mutex
	live    map[int]snapshot             // by PID
	retired map[string]*dto.MetricFamily // summed families of gone processes
}

type snapshot struct {
	slot int
	fams map[string]*dto.MetricFamily
}

func newAppGatherer(scrape func(ctx context.Context) []AppScrape, log *slog.Logger) *appGatherer {
	return &appGatherer{scrape: scrape, log: log, live: map[int]snapshot{}, retired: map[string]*dto.MetricFamily{}}
}

func (g *appGatherer) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	scrapes := g.scrape(ctx)
	cancel()

	g.mu.Lock()
	defer g.mu.Unlock()
	seen := map[int]bool{}
	for _, s := range scrapes {
		seen[s.PID] = true
		if s.Err != nil {
			// Keep its last values: a slow worker must not make counters dip.
			g.log.Debug("worker metrics unavailable", "worker", s.Slot, "error", s.Err)
			continue
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(s.Text))
		if err != nil {
			g.log.Warn("worker metrics unreadable", "worker", s.Slot, "error", err)
			continue
		}
		g.live[s.PID] = snapshot{slot: s.Slot, fams: fams}
	}
	for pid, snap := range g.live {
		if !seen[pid] {
			for _, f := range snap.fams {
				if summable(f.GetType()) {
					addFamily(g.retired, f, nil)
				}
			}
			delete(g.live, pid)
		}
	}

	out := map[string]*dto.MetricFamily{}
	for _, f := range g.retired {
		addFamily(out, f, nil)
	}
	pids := make([]int, 0, len(g.live))
	for pid := range g.live {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	for _, pid := range pids {
		snap := g.live[pid]
		slot := strconv.Itoa(snap.slot)
		for _, f := range snap.fams {
			if summable(f.GetType()) {
				addFamily(out, f, nil)
			} else {
				addFamily(out, f, &dto.LabelPair{Name: proto.String(workerLabel), Value: proto.String(slot)})
			}
		}
	}
	res := make([]*dto.MetricFamily, 0, len(out))
	for _, f := range out {
		res = append(res, f)
	}
	return res, nil
}

func summable(t dto.MetricType) bool {
	return t == dto.MetricType_COUNTER || t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY
}

// addFamily adds f's samples into dst's family of the same name: summed
// with the sample of the same labels, or, with extra, as a sample of its own
// carrying that label.
func addFamily(dst map[string]*dto.MetricFamily, f *dto.MetricFamily, extra *dto.LabelPair) {
	d := dst[f.GetName()]
	if d == nil {
		d = &dto.MetricFamily{Name: f.Name, Help: f.Help, Type: f.Type}
		dst[f.GetName()] = d
	}
	if d.GetType() != f.GetType() {
		return // two processes disagree on a family's type: keep the first
	}
	for _, m := range f.Metric {
		labels := m.Label
		if extra != nil {
			labels = append(append([]*dto.LabelPair(nil), m.Label...), extra)
		}
		key := labelKey(labels)
		var into *dto.Metric
		for _, have := range d.Metric {
			if labelKey(have.Label) == key {
				into = have
				break
			}
		}
		if into == nil {
			into = &dto.Metric{Label: labels}
			d.Metric = append(d.Metric, into)
		}
		addSample(into, m)
	}
}

func addSample(into, m *dto.Metric) {
	switch {
	case m.Counter != nil:
		if into.Counter == nil {
			into.Counter = &dto.Counter{Value: proto.Float64(0)}
		}
		into.Counter.Value = proto.Float64(into.Counter.GetValue() + m.Counter.GetValue())
	case m.Histogram != nil:
		if into.Histogram == nil {
			into.Histogram = &dto.Histogram{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}
		}
		h := into.Histogram
		h.SampleCount = proto.Uint64(h.GetSampleCount() + m.Histogram.GetSampleCount())
		h.SampleSum = proto.Float64(h.GetSampleSum() + m.Histogram.GetSampleSum())
		h.Bucket = addBuckets(h.Bucket, m.Histogram.Bucket)
	case m.Summary != nil:
		if into.Summary == nil {
			into.Summary = &dto.Summary{SampleCount: proto.Uint64(0), SampleSum: proto.Float64(0)}
		}
		s := into.Summary
		// Quantiles cannot be added up; counts and sums can.
		s.SampleCount = proto.Uint64(s.GetSampleCount() + m.Summary.GetSampleCount())
		s.SampleSum = proto.Float64(s.GetSampleSum() + m.Summary.GetSampleSum())
	case m.Gauge != nil:
		into.Gauge = &dto.Gauge{Value: proto.Float64(m.Gauge.GetValue())}
	case m.Untyped != nil:
		into.Untyped = &dto.Untyped{Value: proto.Float64(m.Untyped.GetValue())}
	}
}

// addBuckets adds cumulative bucket counts by upper bound.
func addBuckets(have, add []*dto.Bucket) []*dto.Bucket {
	byBound := map[float64]uint64{}
	for _, b := range have {
		byBound[b.GetUpperBound()] += b.GetCumulativeCount()
	}
	for _, b := range add {
		byBound[b.GetUpperBound()] += b.GetCumulativeCount()
	}
	out := make([]*dto.Bucket, 0, len(byBound))
	for ub, n := range byBound {
		out = append(out, &dto.Bucket{UpperBound: proto.Float64(ub), CumulativeCount: proto.Uint64(n)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetUpperBound() < out[j].GetUpperBound() })
	return out
}

func labelKey(ls []*dto.LabelPair) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.GetName() + "\xff" + l.GetValue()
	}
	sort.Strings(parts)
	return strings.Join(parts, "\xfe")
}
