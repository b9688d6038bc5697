package serve

import (
	"context"
	"sync"

	"github.com/hurricane-run/hurricane/buildinfo"
	"github.com/hurricane-run/hurricane/metrics"
	"github.com/hurricane-run/hurricane/protocol"
	"github.com/hurricane-run/hurricane/worker"
)

// newMetrics builds the metrics with the lifecycle's parts as their sources.
func (l *lifecycle) newMetrics() *metrics.Metrics {
	info := metrics.Info{
		Version:   buildinfo.Version(),
		Protocol:  protocol.Version,
		Port:      l.o.HTTP.Port,
		ProbePort: l.o.Probe.Port,
		Commands:  l.o.Commands,
		Static:    l.o.Files.Static,
		Media:     l.o.Files.Media,
	}
	pool := l.pool
	src := metrics.Sources{
		QueueLength:  pool.QueueLength,
		WorkersAlive: pool.Alive,
		Restarts: func() map[string]int64 {
			out := map[string]int64{}
			for r, n := range pool.Restarts() {
				out[string(r)] = n
			}
			return out
		},
		StartupSeconds: func() float64 { return l.state.StartupDuration().Seconds() },
		ProbeHealthy: func(p string) (bool, bool) {
			if l.probes == nil {
				return false, false
			}
			return l.probes.Healthy(p)
		},
		Webhooks: func() map[[2]string]int64 {
			out := map[[2]string]int64{}
			for o, n := range l.hooks.Outcomes() {
				out[[2]string{string(o.Type), string(o.Result)}] = n
			}
			return out
		},
		Workers: func() []metrics.Worker {
			var out []metrics.Worker
			for _, p := range pool.Workers() {
				if u, err := p.Usage(); err == nil {
					out = append(out, metrics.Worker{Slot: p.Slot(), PID: p.PID(), RSS: u.RSS, CPU: u.CPU})
				}
			}
			return out
		},
		App: func(ctx context.Context) []metrics.AppScrape {
			return scrapeWorkers(ctx, pool.Workers())
		},
	}
	return metrics.New(info, src, l.base)
}

// scrapeWorkers asks every worker for its app metrics at once.
func scrapeWorkers(ctx context.Context, ws []*worker.Process) []metrics.AppScrape {
	out := make([]metrics.AppScrape, len(ws))
	var wg sync.WaitGroup
	for i, p := range ws {
		wg.Go(func() {
			var res protocol.MetricsResult
			err := p.Control(ctx, protocol.OpMetrics, nil, &res)
			out[i] = metrics.AppScrape{Slot: p.Slot(), PID: p.PID(), Text: res.Text, Err: err}
		})
	}
	wg.Wait()
	return out
}
