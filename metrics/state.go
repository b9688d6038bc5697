package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
}

var (
	descQueue    = desc("request_queue_length", "Requests accepted whose view has not started yet (what readiness compares with --req-queue-len).")
	descAlive    = desc("worker_processes", "Worker processes ready to serve.")
	descRestarts = desc("worker_restarts_total", "Worker processes replaced, by reason (exit, unresponsive, memory, reload).", "reason")
	descStartup  = desc("startup_duration_seconds", "How long startup took, until the app port accepted requests.")
	descHealthy  = desc("probe_healthy", "Last result of the liveness and readiness probes (1 healthy, 0 failing); absent before the first.", "probe")
	descWebhooks = desc("webhook_deliveries_total", "Webhooks by type and outcome (delivered, failed, dropped).", "type", "outcome")
	descInfo     = desc("info", "Version, protocol and ports of this server.", "version", "protocol", "port", "probe_port", "commands", "static", "media")
)

// stateCollector reads the server's state from its Sources at scrape time.
type stateCollector struct {
	src Sources
	log *slog.Logger
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descAlive, descRestarts, descStartup, descHealthy, descWebhooks} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src
	if s.QueueLength != nil {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		n, err := s.QueueLength(ctx)
		cancel()
		if err != nil {
			c.log.Debug("request queue length unknown", "error", err)
		} else {
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(n))
		}
	}
	if s.WorkersAlive != nil {
		ch <- prometheus.MustNewConstMetric(descAlive, prometheus.GaugeValue, float64(s.WorkersAlive()))
	}
	if s.Restarts != nil {
		counts := s.Restarts()
		for _, r := range []string{"exit", "unresponsive", "memory", "reload"} {
			ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(counts[r]), r)
		}
	}
	if s.StartupSeconds != nil {
		if v := s.StartupSeconds(); v > 0 {
			ch <- prometheus.MustNewConstMetric(descStartup, prometheus.GaugeValue, v)
		}
	}
	if s.ProbeHealthy != nil {
		for _, p := range []string{"liveness", "readiness"} {
			if ok, known := s.ProbeHealthy(p); known {
				ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, b2f(ok), p)
			}
		}
	}
	if s.Webhooks != nil {
		for k, n := range s.Webhooks() {
			ch <- prometheus.MustNewConstMetric(descWebhooks, prometheus.CounterValue, float64(n), k[0], k[1])
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newInfoCollector is the constant info metric.
func newInfoCollector(i Info) prometheus.Collector {
	version := i.Version
	if version == "" {
		version = "unknown"
	}
	m := prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1,
		version, strconv.Itoa(i.Protocol), strconv.Itoa(i.Port), strconv.Itoa(i.ProbePort),
		strings.Join(i.Commands, ","), strconv.FormatBool(i.Static), strconv.FormatBool(i.Media))
	return constCollector{m}
}

type constCollector []prometheus.Metric

func (c constCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c {
		ch <- m.Desc()
	}
}

func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c {
		ch <- m
	}
}
