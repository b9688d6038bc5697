package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/hurricane-run/hurricane/consume"
	"github.com/hurricane-run/hurricane/metrics"
	"github.com/hurricane-run/hurricane/probe"
	"github.com/hurricane-run/hurricane/protocol"
	"github.com/hurricane-run/hurricane/static"
	"github.com/hurricane-run/hurricane/webhook"
	"github.com/hurricane-run/hurricane/worker"
)

// ErrInterrupted is the cause of a stop that skips --shutdown-delay (SIGINT).
var ErrInterrupted = errors.New("interrupted")

// WebhookFlush bounds the delivery of pending webhooks before exit, the
// last step of a shutdown.
const WebhookFlush = 5 * time.Second

// Options is everything "hurricane serve" does.
type Options struct {
	HTTP            Config
	Probe           probe.Config
	NoProbe         bool
	SkipChecks      bool
	Commands        []string
	CheckMigrations bool
	ApplyMigrations bool
	ShutdownDelay   time.Duration
	Serving         worker.Serving
	Webhook         webhook.Config
	Files           Files
	Metrics         bool // collect and serve metrics (not --no-metrics)
	Reload          Reload
	Consume         *Consume // "hurricane consume": an AMQP consumer instead of the app server
}

// Run is the life of "hurricane serve" (SPEC §2): probe server up, system
// checks, management commands, migration check, workers, app port, then
// serving until ctx ends, then the shutdown sequence. setup is the
// short-lived worker that read the settings; Run stops it.
func Run(ctx context.Context, o Options, pool *worker.Pool, setup *worker.Process, log *slog.Logger) error {
	l := &lifecycle{o: o, pool: pool, base: log, log: log.With("component", "serve"), state: probe.NewState()}
	return l.run(ctx, setup)
}

type lifecycle struct {
	o        Options
	pool     *worker.Pool
	base     *slog.Logger // for the parts, which add their own component
	log      *slog.Logger
	state    *probe.State
	hooks    *webhook.Sender
	srv      *Server // nil when consuming
	probes   *probe.Server
	metrics  *metrics.Metrics
	consumer *consume.Consumer
}

func (l *lifecycle) run(ctx context.Context, setup *worker.Process) (err error) {
	defer func() {
		if setup != nil {
			setup.Stop(5 * time.Second)
		}
	}()
	l.hooks = webhook.New(l.o.Webhook, l.base)
	hctx, stopHooks := context.WithCancel(context.Background())
	hooksDone := make(chan struct{})
	go func() { _ = l.hooks.Run(hctx); close(hooksDone) }()
	defer func() {
		stopHooks()
		<-hooksDone
		fctx, cancel := context.WithTimeout(context.Background(), WebhookFlush)
		defer cancel()
		if ferr := l.hooks.Flush(fctx); ferr != nil {
			l.log.Warn("webhooks not delivered before exit", "error", ferr)
		}
	}()

	if l.o.Metrics {
		l.metrics = l.newMetrics()
		l.o.Probe.Metrics = l.metrics.Handler()
		l.log.Info("metrics", "port", l.o.Probe.Port, "path", probe.CleanPath(l.o.Probe.MetricsPath))
	} else if l.o.NoProbe {
		l.log.Info("no metrics (--no-probe: no probe server to serve them)")
	} else {
		l.log.Info("no metrics (--no-metrics)")
	}
	var checker probe.Checker = newPoolChecker(l.pool)
	if l.o.Consume != nil {
		checker = &consumeChecker{pool: checker.(*poolChecker), l: l}
	} else if err := l.newServer(); err != nil {
		return err
	}
	srv := l.srv

	// Probes first: startup answers 400 while the rest happens.
	probeCtx, stopProbes := context.WithCancel(context.Background())
	defer stopProbes()
	var appLn net.Listener
	if !l.o.NoProbe {
		probes := probe.New(l.o.Probe, l.state, checker, l.notify, l.base)
		defer probes.Close()
		l.probes = probes
		s, r, lv := probes.Paths()
		if srv != nil && l.o.Probe.Port == l.o.HTTP.Port {
			srv.probes = probes
			if appLn, err = srv.Listen(); err != nil {
				return err
			}
			go func() { _ = srv.Serve(appLn) }()
			l.log.Info("probes on the app port", "port", l.o.HTTP.Port, "startup", s, "readiness", r, "liveness", lv)
		} else {
			ln, err := probes.Listen()
			if err != nil {
				return err
			}
			go func() { _ = probes.Serve(probeCtx, ln) }()
			l.log.Info("probes", "port", l.o.Probe.Port, "startup", s, "readiness", r, "liveness", lv)
		}
	} else {
		l.log.Info("no probe server (--no-probe)")
	}

	if err := l.prepare(ctx, setup); err != nil {
		if ctx.Err() != nil {
			return nil // a signal before the app port opened: exit at once
		}
		return err
	}
	if l.o.Consume != nil {
		if err := l.checkHandler(ctx, setup); err != nil {
			return err
		}
	}
	setup.Stop(5 * time.Second)
	setup = nil

	l.log.Info("starting workers", "processes", l.o.Serving.Processes, "threads", l.o.Serving.Threads)
	if err := l.pool.Start(ctx, l.o.Serving); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	poolCtx, stopPool := context.WithCancel(context.Background())
	poolDone := make(chan struct{})
	go func() { _ = l.pool.Run(poolCtx); close(poolDone) }()
	defer func() {
		stopPool() // no replacements while the workers stop
		<-poolDone
		l.pool.Shutdown(context.Background(), l.o.HTTP.ShutdownTimeout)
	}()

	if l.o.Reload.On {
		stopReload, err := l.startReload(poolCtx)
		if err != nil {
			return err
		}
		defer stopReload()
	}
	if l.o.Consume != nil {
		return l.consume(ctx)
	}
	if appLn == nil {
		if appLn, err = srv.Listen(); err != nil {
			return err
		}
		go func() { _ = srv.Serve(appLn) }()
	}
	l.started()
	<-ctx.Done()
	return l.shutdown(ctx)
}

// started marks startup as finished: startup probe 200 and the webhook.
func (l *lifecycle) started() {
	l.state.Started()
	l.hooks.Send(webhook.TypeStartup, webhook.StatusSucceeded, "")
	l.log.Info("startup finished", "seconds", l.state.StartupDuration().Seconds())
}

// newServer builds the app server with its static and media files.
func (l *lifecycle) newServer() error {
	srv, err := New(l.o.HTTP, l.pool, l.base)
	if err != nil {
		return err
	}
	srv.state = l.state
	srv.metrics = l.metrics
	mounts, err := l.o.Files.mounts(l.pool)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		if srv.files, err = static.New(mounts, l.base); err != nil {
			return err
		}
	}
	l.srv = srv
	return nil
}

// prepare runs the steps before the workers start.
func (l *lifecycle) prepare(ctx context.Context, setup *worker.Process) error {
	if !l.o.SkipChecks {
		if err := l.systemChecks(ctx, setup); err != nil {
			return err
		}
	}
	for _, c := range l.o.Commands {
		args := strings.Fields(c)
		if len(args) == 0 {
			continue
		}
		start := time.Now()
		l.log.Info("running management command", "command", c)
		if err := l.pool.RunManagement(ctx, args); err != nil {
			if ctx.Err() != nil {
				return err
			}
			tb := err.Error()
			var ce *worker.CommandError
			if errors.As(err, &ce) && ce.Output != "" {
				tb = ce.Output
			}
			l.hooks.Send(webhook.TypeStartup, webhook.StatusFailed, tb)
			return fmt.Errorf("startup failed: management command %q: %w", c, err)
		}
		l.log.Info("management command finished", "command", c, "seconds", time.Since(start).Seconds())
	}
	if l.o.CheckMigrations || l.o.ApplyMigrations {
		return l.migrations(ctx, setup)
	}
	return nil
}

// systemChecks runs Django's system checks as manage.py does before a
// command: errors abort, warnings are logged.
func (l *lifecycle) systemChecks(ctx context.Context, setup *worker.Process) error {
	res, err := setup.Checks(ctx, protocol.CheckArgs{})
	if err != nil {
		return fmt.Errorf("run system checks: %w", err)
	}
	var serious []string
	for _, m := range res.Messages {
		if m.Serious {
			serious = append(serious, m.Text)
			l.log.Error("system check", "id", m.ID, "message", m.Text)
		} else {
			l.log.Warn("system check", "id", m.ID, "message", m.Text)
		}
	}
	if res.Failed {
		return fmt.Errorf("system check identified errors (fix them, or pass --skip-checks): %s", strings.Join(serious, "; "))
	}
	return nil
}

// migrations waits for the database and for no pending migrations, or
// applies them under a lock with --check-migrations-apply.
func (l *lifecycle) migrations(ctx context.Context, setup *worker.Process) error {
	backoff := 250 * time.Millisecond
	wait := func() error {
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(backoff*2, 5*time.Second)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	for {
		n, err := setup.PendingMigrations(ctx)
		var ce *worker.ControlError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &ce) && ce.IsDatabase():
			l.log.Warn("waiting for the database", "error", ce.Message, "retry_in", backoff.String())
			if err := wait(); err != nil {
				return err
			}
			continue
		case err != nil:
			tb := err.Error()
			if ce != nil && ce.Traceback != "" {
				tb = ce.Traceback
			}
			l.hooks.Send(webhook.TypeStartup, webhook.StatusWarning, tb)
			return fmt.Errorf("startup failed: migration check: %w", err)
		case n == 0:
			l.log.Info("no pending migrations")
			return nil
		case l.o.ApplyMigrations:
			l.log.Info("applying migrations", "pending", n)
			if err := l.pool.ApplyMigrations(ctx); err != nil {
				if ctx.Err() != nil {
					return err
				}
				tb := err.Error()
				var cmdErr *worker.CommandError
				if errors.As(err, &cmdErr) && cmdErr.Output != "" {
					tb = cmdErr.Output
				}
				l.hooks.Send(webhook.TypeStartup, webhook.StatusWarning, tb)
				return fmt.Errorf("startup failed: applying migrations: %w", err)
			}
		default:
			l.log.Info("waiting for pending migrations to be applied", "pending", n, "retry_in", backoff.String())
			if err := wait(); err != nil {
				return err
			}
		}
	}
}

// shutdown: readiness 503 at once; keep serving for --shutdown-delay (not on
// SIGINT) with Connection: close; stop accepting; let in-flight requests
// finish within --shutdown-timeout; the deferred steps then stop the workers
// and flush webhooks.
func (l *lifecycle) shutdown(ctx context.Context) error {
	l.state.ShutDown()
	if !errors.Is(context.Cause(ctx), ErrInterrupted) && l.o.ShutdownDelay > 0 {
		l.log.Info("shutting down: draining", "delay", l.o.ShutdownDelay.String())
		time.Sleep(l.o.ShutdownDelay)
	}
	l.log.Info("shutting down: waiting for in-flight requests", "timeout", l.o.HTTP.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeoutCause(context.Background(), l.o.HTTP.ShutdownTimeout, ErrShutdownTimeout)
	defer cancel()
	if err := l.srv.Shutdown(sctx); err != nil {
		return err
	}
	l.log.Info("shut down")
	return nil
}

func (l *lifecycle) notify(which string, healthy bool) {
	st := webhook.StatusFailed
	if healthy {
		st = webhook.StatusSucceeded
	}
	l.hooks.Send(webhook.Type(which), st, "")
}
