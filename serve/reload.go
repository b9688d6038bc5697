package serve

import (
	"context"
	"sync"
	"time"

	"github.com/hurricane-run/hurricane/watch"
	"github.com/hurricane-run/hurricane/worker"
)

// Reload is --autoreload and --static-watch.
type Reload struct {
	On          bool
	Roots       []string // the project's code: its directory and --pythonpath
	StaticWatch []string // paths whose change runs collectstatic
}

// startReload watches the project's code, replacing the workers when a
// Python file changes, and the --static-watch paths, running collectstatic.
// The returned func stops watching and waits.
func (l *lifecycle) startReload(ctx context.Context) (func(), error) {
	r := l.o.Reload
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	code, err := watch.New(watch.Config{Roots: r.Roots, Match: watch.PythonSource}, l.base)
	if err != nil {
		cancel()
		return nil, err
	}
	l.log.Info("autoreload on", "roots", r.Roots)
	wg.Go(func() {
		_ = code.Run(ctx, func(paths []string) {
			l.log.Info("code changed; replacing workers", "files", len(paths), "first", paths[0])
			start := time.Now()
			if err := l.pool.ReplaceAll(ctx, worker.ReasonReload); err != nil {
				if ctx.Err() == nil {
					l.log.Error("autoreload failed; the running workers keep serving until the next change", "error", err)
				}
				return
			}
			l.log.Info("autoreload performed", "seconds", time.Since(start).Seconds())
		})
	})
	for _, p := range r.StaticWatch {
		sw, err := watch.New(watch.Config{Roots: []string{p}}, l.base)
		if err != nil {
			l.log.Error("cannot watch static path", "path", p, "error", err)
			continue
		}
		l.log.Info("watching static path", "path", p)
		wg.Go(func() {
			_ = sw.Run(ctx, func([]string) {
				l.log.Info("static files changed; running collectstatic", "path", p)
				if err := l.pool.RunManagement(ctx, []string{"collectstatic", "--noinput"}); err != nil && ctx.Err() == nil {
					l.log.Error("collectstatic failed", "error", err)
				}
			})
		})
	}
	return stop, nil
}
