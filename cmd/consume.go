package cmd

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/spf13/cobra"

	"github.com/hurricane-run/hurricane/consume"
	"github.com/hurricane-run/hurricane/protocol"
	"github.com/hurricane-run/hurricane/serve"
)

// consumeOptions are the flags of "hurricane consume": the probe, webhook,
// worker and bootstrap flags of serve, and the AMQP ones.
type consumeOptions struct {
	serveOptions
	handler      string
	queue        string
	exchange     string
	exchangeType string
	routingKeys  []string
	prefetch     int
	durable      bool
	queueArgs    []string
	amqpHost     string
	amqpPort     int
	amqpVHost    string
	amqpURL      string
	reconnect    bool
}

// amqpSettings are read from Django settings (and the environment) under
// these names, as 1.6.2 did, besides the flags' own.
var amqpSettings = []string{"AMQP_USER", "AMQP_PASSWORD"}

func newConsumeCmd(f *factory) *cobra.Command {
	// The serve settings consume has no flags for keep values that pass
	// serve's validation; the app port is never opened.
	o := &consumeOptions{serveOptions: serveOptions{log: logOptions{format: logFormat{"json"}},
		port: 8000, workers: 1, maxAsync: 1, maxBufferSize: 100 << 20}}
	c := &cobra.Command{
		Use:   "consume HANDLER",
		Short: "Consume an AMQP queue with a Django handler class",
		Long: "Consume an AMQP 0-9-1 queue (RabbitMQ): Go holds the connection and hands each\n" +
			"message to HANDLER, a subclass of hurricane.amqp.basehandler._AMQPConsumer\n" +
			"(TopicHandler), running in Python worker processes. Handlers written for\n" +
			"django-hurricane 1.6.2 run unchanged.\n\n" +
			"AMQP_HOST, AMQP_PORT, AMQP_VHOST, AMQP_USER, AMQP_PASSWORD and AMQP_URL come\n" +
			"from the flag, else the Django setting, else the environment.",
		Example: "  hurricane consume myapp.handlers.OrderHandler --queue orders --exchange shop --amqp-host rabbitmq --amqp-port 5672\n" +
			"  hurricane consume myapp.handlers.OrderHandler --queue orders --prefetch 10 --reconnect --durable",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.handler = args[0]
			o.resolver = newConfigResolver(c.Flags(), f.environ())
			if err := o.resolver.bootstrap(); err != nil {
				return err
			}
			return runConsume(c.Context(), f, o)
		},
	}
	fs := c.Flags()
	fs.SortFlags = false
	fs.StringVar(&o.queue, "queue", "", "queue to consume (declared if missing)")
	fs.StringVar(&o.exchange, "exchange", "", "exchange to declare and bind the queue to (empty: the default exchange)")
	fs.StringVar(&o.exchangeType, "exchange-type", "", "type of the exchange (default: the handler's EXCHANGE_TYPE, topic)")
	fs.StringArrayVar(&o.routingKeys, "routing-key", nil, "routing key to bind with (repeatable; default: the handler's get_routing_keys, else the queue name)")
	fs.IntVar(&o.prefetch, "prefetch", 1, "unsettled messages per worker process; above 1 handlers run concurrently")
	fs.BoolVar(&o.durable, "durable", false, "declare the queue and exchange durable")
	fs.StringArrayVar(&o.queueArgs, "queue-arg", nil, "queue argument KEY=VALUE (repeatable), e.g. x-dead-letter-exchange=dlx")
	fs.StringVar(&o.amqpHost, "amqp-host", "", "broker host")
	fs.IntVar(&o.amqpPort, "amqp-port", 0, "broker port")
	fs.StringVar(&o.amqpVHost, "amqp-vhost", "/", "virtual host")
	fs.StringVar(&o.amqpURL, "amqp-url", "", "broker URL (amqp:// or amqps:// for TLS); replaces host, port, vhost, user and password")
	fs.BoolVar(&o.reconnect, "reconnect", false, "reconnect with backoff when the broker goes away, instead of exiting")
	for _, n := range []string{"amqp-host", "amqp-port", "amqp-vhost", "amqp-url"} {
		markSetting(fs, n, legacyName(n))
		markEnv(fs, n, legacyName(n))
	}
	addProbeFlags(fs, &o.serveOptions)
	fs.Lookup("probe-port").DefValue = "8001"
	fs.StringVar(&o.iface, "interface", "", "address the probe server binds (default all interfaces)")
	fs.IntVar(&o.processes, "processes", 1, "Python worker processes")
	fs.StringVar(&o.webhookURL, "webhook-url", "", "URL that receives startup, liveness and readiness webhooks")
	fs.BoolVar(&o.autoreload, "autoreload", false, "replace the workers when a Python file of the project changes (development)")
	fs.IntVar(&o.maxMemory, "max-memory", 0, "MB of RSS above which a worker is replaced gracefully (0: no limit)")
	durationVar(fs, &o.shutdownTimeout, "shutdown-timeout", 20*time.Second, "how long in-flight messages may take to finish at shutdown")
	fs.BoolVar(&o.skipChecks, "skip-checks", false, "skip Django's system checks at startup")
	addBootstrapFlags(c, &o.serveOptions)
	return c
}

func runConsume(ctx context.Context, f *factory, o *consumeOptions) error {
	if o.queue == "" {
		return usagef("--queue is required: the queue to consume")
	}
	qargs, err := parseQueueArgs(o.queueArgs)
	if err != nil {
		return err
	}
	if o.prefetch < 1 {
		return usagef("--prefetch must be at least 1, got %d", o.prefetch)
	}
	r, err := o.start(ctx, f, amqpSettings)
	if err != nil {
		return err
	}
	defer r.pool.Close()
	u, args, err := o.brokerURL(r.snapshot, f.getenv)
	if err != nil {
		r.setup.Stop(5 * time.Second)
		return err
	}
	so := o.serveOptions.serveOptions(r.snapshot)
	if o.probePort == 0 {
		so.Probe.Port = 8001
	}
	so.Serving.Threads = o.prefetch
	so.Commands, so.Files = nil, serve.Files{}
	args.Handler = o.handler
	args.Queue = o.queue
	args.Exchange = o.exchange
	so.Consume = &serve.Consume{
		Config: consume.Config{
			URL: u, Queue: o.queue, Exchange: o.exchange, ExchangeType: o.exchangeType,
			RoutingKeys: o.routingKeys, Prefetch: o.prefetch, Processes: o.processes,
			Durable: o.durable, QueueArgs: qargs, Reconnect: o.reconnect, DrainTimeout: o.shutdownTimeout,
		},
		Handler: args,
	}
	return serve.Run(ctx, so, r.pool, r.setup, r.log)
}

// brokerURL builds the broker URL: --amqp-url, else host, port and vhost
// (flag > Django setting > environment) with AMQP_USER / AMQP_PASSWORD
// (setting > environment). A missing host or port gets 1.6.2's message.
func (o *consumeOptions) brokerURL(settings map[string]any, getenv func(string) string) (string, protocol.HandlerArgs, error) {
	pick := func(name string) string {
		if v, ok := settings[name]; ok && v != nil {
			return settingString(v)
		}
		return getenv(name)
	}
	user, password := pick("AMQP_USER"), pick("AMQP_PASSWORD")
	args := protocol.HandlerArgs{Host: o.amqpHost, Port: o.amqpPort, VHost: o.amqpVHost, Username: user, Password: password}
	if o.amqpURL != "" {
		p, err := amqp.ParseURI(o.amqpURL)
		if err != nil {
			return "", args, usagef("invalid --amqp-url (AMQP_URL): %v", err)
		}
		args.Host, args.Port, args.VHost, args.Username, args.Password = p.Host, p.Port, p.Vhost, p.Username, p.Password
		return o.amqpURL, args, nil
	}
	if o.amqpHost == "" {
		return "", args, usagef("The amqp host must not be empty: set it either as environment AMQP_HOST, in the django settings as AMQP_HOST or as optional argument --amqp-host")
	}
	if o.amqpPort == 0 {
		return "", args, usagef("The amqp port must not be empty: set it either as environment AMQP_PORT, in the django settings as AMQP_PORT or as optional argument --amqp-port")
	}
	u := url.URL{Scheme: "amqp", Host: net.JoinHostPort(o.amqpHost, strconv.Itoa(o.amqpPort)), Path: "/" + o.amqpVHost}
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	// amqp091 reads the vhost from the raw path: "/" is "%2F".
	u.RawPath = "/" + url.PathEscape(o.amqpVHost)
	return u.String(), args, nil
}

// parseQueueArgs turns KEY=VALUE pairs into queue arguments: integers for
// the x- arguments RabbitMQ wants as numbers, strings otherwise.
func parseQueueArgs(pairs []string) (amqp.Table, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	t := amqp.Table{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usagef("--queue-arg %q: want KEY=VALUE, e.g. x-dead-letter-exchange=dlx", p)
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			t[k] = n
		} else {
			t[k] = v
		}
	}
	return t, nil
}
