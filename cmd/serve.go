package cmd

import (
	"context"
	"errors"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/hurricane-run/hurricane/serve"
	"github.com/hurricane-run/hurricane/worker"
)

// serveOptions are the flags of "hurricane serve".
type serveOptions struct {
	log        logOptions
	python     string
	settings   string
	pythonPath []string

	port              int
	iface             string
	processes         int
	workers           int
	maxAsync          int
	maxBodySize       int64
	maxBufferSize     int
	forwardedAllowIPs []string

	resolver *configResolver
}

const shutdownTimeout = 20 * time.Second

func defaultWorkers() int { return min(32, runtime.NumCPU()+4) }

func newServeCmd(f *factory) *cobra.Command {
	o := &serveOptions{log: logOptions{format: logFormat{"json"}}}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the Django project over HTTP",
		Long: "Serve the Django project in the current directory: a Go HTTP front end and\n" +
			"Python worker processes that run Django, talking ASGI over a Unix socket.\n\n" +
			"Every flag can also be set as HURRICANE_<FLAG> in Django settings or in the\n" +
			"environment (the command line wins, then settings, then the environment).",
		Example: "  hurricane serve\n  hurricane serve --port 8080 --processes 2\n  HURRICANE_PORT=8080 hurricane serve --settings mysite.settings",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.resolver = newConfigResolver(c.Flags(), f.environ())
			if err := o.resolver.bootstrap(); err != nil {
				return err
			}
			if f.serveRun != nil {
				return f.serveRun(c.Context(), o)
			}
			return runServe(c.Context(), f, o)
		},
	}
	fs := c.Flags()
	fs.SortFlags = false
	fs.IntVar(&o.port, "port", 8000, "port of the app server")
	fs.StringVar(&o.iface, "interface", "", "address to bind (default all interfaces)")
	fs.IntVar(&o.processes, "processes", 1, "Python worker processes (in Kubernetes, scale with replicas instead)")
	fs.IntVar(&o.workers, "workers", defaultWorkers(), "threads per worker process for sync views")
	fs.Lookup("workers").DefValue = "min(32, CPUs+4)" // the same help on every machine
	fs.IntVar(&o.maxAsync, "max-async-requests", 1000, "async requests running at once per worker process; more wait in the queue")
	fs.Int64Var(&o.maxBodySize, "max-body-size", 100<<20, "largest request body in bytes; larger get 413 (0: no limit)")
	fs.IntVar(&o.maxBufferSize, "max-buffer-size", 100<<20, "bytes of one request body held in memory at once")
	fs.StringSliceVar(&o.forwardedAllowIPs, "forwarded-allow-ips", []string{"127.0.0.1"}, "proxies whose X-Forwarded-For/-Proto are trusted (IPs or CIDRs, * for all)")
	addBootstrapFlags(c, o)
	return c
}

// addBootstrapFlags adds the flags resolved before Python runs.
func addBootstrapFlags(c *cobra.Command, o *serveOptions) {
	fs := c.Flags()
	fs.StringVar(&o.python, "python", "", "Python interpreter (default $VIRTUAL_ENV/bin/python, else python3)")
	fs.StringVar(&o.settings, "settings", "", "Django settings module (default DJANGO_SETTINGS_MODULE, else the one ./manage.py names)")
	fs.StringSliceVar(&o.pythonPath, "pythonpath", nil, "directory to add to the Python import path")
	fs.Var(&o.log.format, "log-format", "log format: json or text")
	o.log.level.level = 0
	fs.Var(&o.log.level, "log-level", "log level: debug, info, warning or error")
	markBootstrap(fs, "python", "settings", "pythonpath", "log-format", "log-level")
	markEnv(fs, "settings", "DJANGO_SETTINGS_MODULE")
}

func runServe(ctx context.Context, f *factory, o *serveOptions) error {
	log := newLogger(f.stderr, &o.log)
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	settings, err := worker.FindSettings(dir, o.settings)
	if err != nil {
		return err
	}
	pool, err := worker.New(worker.Config{
		Python:     o.python,
		Settings:   settings,
		PythonPath: o.pythonPath,
		Dir:        dir,
	}, log)
	if err != nil {
		return err
	}
	defer pool.Close()

	snapshot, err := pool.Snapshot(ctx, o.resolver.settingNames())
	if err != nil {
		return startupError(ctx, err)
	}
	if err := o.resolver.apply(snapshot, log); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	srv, err := serve.New(serve.Config{
		Port:              o.port,
		Interface:         o.iface,
		MaxBodySize:       o.maxBodySize,
		MaxBufferSize:     o.maxBufferSize,
		ForwardedAllowIPs: o.forwardedAllowIPs,
		ShutdownTimeout:   shutdownTimeout,
	}, pool, log)
	if err != nil {
		return &usageError{err}
	}
	log.Info("starting workers", "processes", o.processes, "threads", o.workers, "settings", settings, "python", pool.Python())
	if err := pool.Start(ctx, worker.Sizing{
		Processes:     o.processes,
		Threads:       o.workers,
		AsyncLimit:    o.maxAsync,
		MaxBufferSize: o.maxBufferSize,
	}); err != nil {
		return startupError(ctx, err)
	}

	poolCtx, stopPool := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(poolCtx)
	g.Go(func() error { return pool.Run(gctx) })
	serveErr := srv.Run(ctx)
	stopPool() // no more replacements while the workers stop
	_ = g.Wait()
	pool.Shutdown(context.Background(), shutdownTimeout)
	if serveErr != nil {
		return serveErr
	}
	log.Info("shut down")
	return nil
}

// startupError turns a startup failure caused by a signal into a clean exit.
func startupError(ctx context.Context, err error) error {
	var se signalError
	if errors.As(context.Cause(ctx), &se) {
		return nil
	}
	return err
}

func (o *serveOptions) validate() error {
	switch {
	case o.port < 1 || o.port > 65535:
		return usagef("--port %d is not a TCP port (1-65535)", o.port)
	case o.processes < 1:
		return usagef("--processes must be at least 1, got %d", o.processes)
	case o.workers < 1:
		return usagef("--workers must be at least 1, got %d", o.workers)
	case o.maxAsync < 1:
		return usagef("--max-async-requests must be at least 1, got %d", o.maxAsync)
	case o.maxBodySize < 0:
		return usagef("--max-body-size must not be negative (0 means no limit)")
	case o.maxBufferSize < 1:
		return usagef("--max-buffer-size must be at least 1 byte, got %d", o.maxBufferSize)
	}
	return nil
}
