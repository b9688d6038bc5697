package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hurricane-run/hurricane/probe"
	"github.com/hurricane-run/hurricane/serve"
	"github.com/hurricane-run/hurricane/webhook"
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

	probePort       int
	startupProbe    string
	readinessProbe  string
	livenessProbe   string
	noProbe         bool
	reqQueueLen     int
	maxLifetime     int
	checkTimeout    time.Duration
	readinessDBs    []string
	debug           bool
	commands        []string
	checkMigrations bool
	applyMigrations bool
	skipChecks      bool
	webhookURL      string
	shutdownDelay   time.Duration
	shutdownTimeout time.Duration
	static          bool
	media           bool
	metricsPath     string
	noMetrics       bool
	logProbes       bool
	noAccessLog     bool
	maxMemory       int
	autoreload      bool
	staticWatch     []string
	debugger        bool
	debuggerPort    int
	pycharmHost     string
	pycharmPort     int

	resolver *configResolver
}

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
	addProbeFlags(fs, o)
	fs.StringArrayVar(&o.commands, "command", nil, "management command with its arguments to run before serving (repeatable, in order)")
	fs.BoolVar(&o.checkMigrations, "check-migrations", false, "wait for the database and for no pending migrations before serving")
	fs.BoolVar(&o.applyMigrations, "check-migrations-apply", false, "like --check-migrations, but apply them (under a PostgreSQL advisory lock)")
	fs.BoolVar(&o.skipChecks, "skip-checks", false, "skip Django's system checks at startup")
	fs.BoolVar(&o.static, "static", false, "serve STATIC_ROOT at STATIC_URL from Go (with DEBUG=True and staticfiles: Django's finders)")
	fs.BoolVar(&o.media, "media", false, "serve MEDIA_ROOT at MEDIA_URL from Go")
	fs.StringVar(&o.webhookURL, "webhook-url", "", "URL that receives startup, liveness and readiness webhooks")
	durationVar(fs, &o.shutdownDelay, "shutdown-delay", 5*time.Second, "after SIGTERM, keep serving this long (with Connection: close) before draining")
	durationVar(fs, &o.shutdownTimeout, "shutdown-timeout", 20*time.Second, "how long in-flight requests may take to finish at shutdown")
	fs.BoolVar(&o.noAccessLog, "no-access-log", false, "write no log line per request")
	fs.IntVar(&o.maxMemory, "max-memory", 0, "MB of RSS above which a worker is replaced gracefully (0: no limit)")
	fs.BoolVar(&o.autoreload, "autoreload", false, "replace the workers when a Python file of the project changes (development)")
	fs.StringArrayVar(&o.staticWatch, "static-watch", nil, "with --autoreload: path whose change runs collectstatic (repeatable)")
	fs.BoolVar(&o.debugger, "debugger", false, "debugpy listens in each worker (worker i on --debugger-port+i)")
	fs.IntVar(&o.debuggerPort, "debugger-port", 5678, "port debugpy listens on, with --debugger")
	fs.StringVar(&o.pycharmHost, "pycharm-host", "", "workers connect to the PyCharm debug server on this host (with --pycharm-port)")
	fs.IntVar(&o.pycharmPort, "pycharm-port", 0, "port of the PyCharm debug server")
	addBootstrapFlags(c, o)
	return c
}

// addProbeFlags adds the probe server's flags.
func addProbeFlags(fs *pflag.FlagSet, o *serveOptions) {
	fs.IntVar(&o.probePort, "probe-port", 0, "probe server port (serve: equal to --port serves probes on the app port)")
	fs.Lookup("probe-port").DefValue = "port+1"
	fs.StringVar(&o.startupProbe, "startup-probe", "/startup", "startup probe path")
	fs.StringVar(&o.readinessProbe, "readiness-probe", "/ready", "readiness probe path")
	fs.StringVar(&o.livenessProbe, "liveness-probe", "/alive", "liveness probe path")
	fs.BoolVar(&o.noProbe, "no-probe", false, "run no probe server (and so no metrics endpoint)")
	fs.StringVar(&o.metricsPath, "metrics", "/metrics", "Prometheus metrics path on the probe server")
	fs.BoolVar(&o.noMetrics, "no-metrics", false, "no metrics endpoint and no metric collection")
	fs.BoolVar(&o.logProbes, "log-probes", false, "write a log line for each probe request")
	fs.IntVar(&o.reqQueueLen, "req-queue-len", 10, "readiness fails while this many requests wait for a view")
	fs.IntVar(&o.maxLifetime, "max-lifetime", 0, "liveness fails once more than this many requests were served (0: never)")
	durationVar(fs, &o.checkTimeout, "check-timeout", time.Second, "how long probes wait for a worker's checks")
	fs.StringSliceVar(&o.readinessDBs, "readiness-databases", nil, "database aliases readiness checks with SELECT 1 (default all)")
	fs.BoolVar(&o.debug, "debug", false, "verbose diagnostics: details in probe bodies, debug logs")
	markNoLegacy(fs, "debug")
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
	// manage.py's own options, so `python manage.py serve -v 2 --no-color`
	// keeps working (SPEC §2).
	fs.IntP("verbosity", "v", 1, "manage.py's verbosity: 0 logs warnings and errors only, 2 and 3 debug as well (--log-level wins)")
	fs.Bool("no-color", false, "accepted as manage.py accepts it; hurricane's logs carry no colour")
	markNoConfig(fs, "verbosity", "no-color")
}

func runServe(ctx context.Context, f *factory, o *serveOptions) error {
	r, err := o.start(ctx, f, nil)
	if err != nil {
		return err
	}
	defer r.pool.Close()
	return serve.Run(ctx, o.serveOptions(r.snapshot), r.pool, r.setup, r.log)
}

// started is what serve and consume have once the settings are resolved.
type started struct {
	pool     *worker.Pool
	setup    *worker.Process
	snapshot map[string]any
	log      *slog.Logger
}

// start finds the project, starts the setup worker, reads the settings
// (the flags' and extra), resolves and validates every flag. On error it
// stops what it started; on success the caller closes the pool.
func (o *serveOptions) start(ctx context.Context, f *factory, extra []string) (r started, err error) {
	r.log = newLogger(f.stderr, &o.log)
	dir, err := os.Getwd()
	if err != nil {
		return r, err
	}
	settings, err := worker.FindSettings(dir, o.settings)
	if err != nil {
		return r, err
	}
	if r.pool, err = worker.New(worker.Config{
		Python:     o.python,
		Settings:   settings,
		PythonPath: o.pythonPath,
		Dir:        dir,
	}, r.log); err != nil {
		return r, err
	}
	defer func() {
		if err != nil {
			if r.setup != nil {
				r.setup.Stop(5 * time.Second)
			}
			r.pool.Close()
		}
	}()
	if r.setup, err = r.pool.Setup(ctx); err != nil {
		return r, startupError(ctx, err)
	}
	names := append(append(o.resolver.settingNames(), djangoSettings...), extra...)
	if r.snapshot, err = r.setup.Settings(ctx, names); err != nil {
		return r, startupError(ctx, err)
	}
	if err = o.resolver.apply(r.snapshot, r.log); err != nil {
		return r, err
	}
	if err = o.validate(); err != nil {
		return r, err
	}
	if len(o.staticWatch) > 0 && !o.autoreload {
		r.log.Warn("--static-watch does nothing without --autoreload")
	}
	if o.debug && !o.resolver.flags.Changed("log-level") && f.getenv("HURRICANE_LOG_LEVEL") == "" {
		o.log.level.level = slog.LevelDebug
		r.log = newLogger(f.stderr, &o.log)
	}
	if f.getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(frontEndProcs(runtime.GOMAXPROCS(0), o.processes))
	}
	return r, nil
}

// frontEndProcs is how many threads run Go code at once: the CPUs the
// Python worker processes leave free, as each keeps about one busy under
// load (its GIL), and at least one. Go's own default, one per CPU, makes
// the scheduler wake an idle thread for every goroutine handed work (a
// worker's frame, a client's bytes) only to find the CPU taken: on 2 CPUs
// with one worker, one thread cut Go's context switches per streamed 1 MiB
// response from 7.4 to 4.4 and its CPU per 1 MiB upload by 15%, with no
// loss on static files (writes to clients run outside the limit, in
// syscalls). GOMAXPROCS in the environment overrides it.
func frontEndProcs(cpus, processes int) int { return max(1, cpus-processes) }

// djangoSettings are read with the flags' settings in the snapshot.
var djangoSettings = []string{"HURRICANE_VERSION", "DEBUG", "STATIC_URL", "STATIC_ROOT", "MEDIA_URL", "MEDIA_ROOT", "INSTALLED_APPS"}

func (o *serveOptions) serveOptions(snapshot map[string]any) serve.Options {
	str := func(name string) string { s, _ := snapshot[name].(string); return s }
	apps, _ := snapshot["INSTALLED_APPS"].([]any)
	staticfiles := false
	for _, a := range apps {
		if a == "django.contrib.staticfiles" || a == "django.contrib.staticfiles.apps.StaticFilesConfig" {
			staticfiles = true
		}
	}
	debug, _ := snapshot["DEBUG"].(bool)
	probePort := o.probePort
	if probePort == 0 {
		probePort = o.port + 1
	}
	return serve.Options{
		HTTP: serve.Config{
			Port:              o.port,
			Interface:         o.iface,
			MaxBodySize:       o.maxBodySize,
			MaxBufferSize:     o.maxBufferSize,
			ForwardedAllowIPs: o.forwardedAllowIPs,
			ShutdownTimeout:   o.shutdownTimeout,
			AccessLog:         !o.noAccessLog,
		},
		Probe: probe.Config{
			Port:          probePort,
			Interface:     o.iface,
			StartupPath:   o.startupProbe,
			ReadinessPath: o.readinessProbe,
			LivenessPath:  o.livenessProbe,
			ReqQueueLen:   o.reqQueueLen,
			MaxLifetime:   o.maxLifetime,
			CheckTimeout:  o.checkTimeout,
			Debug:         o.debug,
			Databases:     o.readinessDBs,
			MetricsPath:   o.metricsPath,
			LogProbes:     o.logProbes,
		},
		Metrics:         !o.noMetrics && !o.noProbe,
		Reload:          o.reload(),
		NoProbe:         o.noProbe,
		SkipChecks:      o.skipChecks,
		Commands:        o.commands,
		CheckMigrations: o.checkMigrations,
		ApplyMigrations: o.applyMigrations,
		ShutdownDelay:   o.shutdownDelay,
		Serving: worker.Serving{
			Processes:     o.processes,
			Threads:       o.workers,
			AsyncLimit:    o.maxAsync,
			MaxBufferSize: o.maxBufferSize,
			MaxMemory:     int64(o.maxMemory) << 20,
			DrainTimeout:  o.shutdownTimeout,
			Debugger:      o.debuggerConfig(),
		},
		Webhook: webhook.Config{URL: o.webhookURL, Version: str("HURRICANE_VERSION")},
		Files: serve.Files{
			Static: o.static, Media: o.media,
			StaticURL: str("STATIC_URL"), StaticRoot: str("STATIC_ROOT"),
			MediaURL: str("MEDIA_URL"), MediaRoot: str("MEDIA_ROOT"),
			Debug: debug, StaticFilesApp: staticfiles,
		},
	}
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
	case o.probePort < 0 || o.probePort > 65535 || (o.probePort == 0 && o.port == 65535):
		return usagef("--probe-port %d is not a TCP port (1-65535)", o.probePort)
	case o.reqQueueLen < 0:
		return usagef("--req-queue-len must not be negative")
	case o.maxLifetime < 0:
		return usagef("--max-lifetime must not be negative (0 means no limit)")
	case o.checkTimeout <= 0:
		return usagef("--check-timeout must be positive")
	case o.maxMemory < 0:
		return usagef("--max-memory must not be negative (0 means no limit)")
	case o.autoreload && (o.debugger || o.pycharmHost != ""):
		return usagef("--autoreload cannot be combined with --debugger or --pycharm-host: autoreload and debugger are not compatible")
	case o.debugger && (o.debuggerPort < 1 || o.debuggerPort+o.processes-1 > 65535):
		return usagef("--debugger-port %d is not a TCP port (1-65535) for every worker", o.debuggerPort)
	}
	return nil
}

func (o *serveOptions) debuggerConfig() worker.Debugger {
	d := worker.Debugger{PycharmHost: o.pycharmHost, PycharmPort: o.pycharmPort}
	if o.debugger {
		d.Port = o.debuggerPort
	}
	return d
}

// reload is --autoreload: the project directory and --pythonpath hold the
// code it watches.
func (o *serveOptions) reload() serve.Reload {
	if !o.autoreload {
		return serve.Reload{}
	}
	roots := append([]string{"."}, o.pythonPath...)
	for i, r := range roots {
		if abs, err := filepath.Abs(r); err == nil {
			roots[i] = abs
		}
	}
	return serve.Reload{On: true, Roots: roots, StaticWatch: o.staticWatch}
}
