package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

const namespace = "hurricane"

// scrapeTimeout bounds what one scrape waits for the workers.
const scrapeTimeout = 2 * time.Second

// Info labels the info metric.
type Info struct {
	Version   string
	Protocol  int
	Port      int
	ProbePort int
	Commands  []string
	Static    bool
	Media     bool
}

// Sources read the server's state at scrape time. A nil func leaves its
// family out.
type Sources struct {
	QueueLength    func(ctx context.Context) (int, error)
	WorkersAlive   func() int
	Restarts       func() map[string]int64 // by reason
	StartupSeconds func() float64          // 0 until startup finished
	ProbeHealthy   func(probe string) (healthy, known bool)
	Webhooks       func() map[[2]string]int64 // by [type, outcome]
	Workers        func() []Worker
	// App scrapes the prometheus_client registry of each live worker.
	App func(ctx context.Context) []AppScrape
}

// Worker is one live worker process's resource use.
type Worker struct {
	Slot int
	PID  int
	RSS  int64
	CPU  time.Duration
}

// Metrics holds the families the server updates itself and serves them
// with the rest.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
	inflight prometheus.Gauge
	messages *prometheus.CounterVec
	handled  *prometheus.HistogramVec
	app      *appGatherer
	log      *slog.Logger
}

// New registers every family. Sources are read at scrape time.
func New(info Info, src Sources, log *slog.Logger) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), log: log.With("component", "metrics")}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests answered, by method, status and route pattern.",
	}, []string{"method", "status", "route"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
		Help:    "Time from reading the request head to the end of the response.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	m.size = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "http", Name: "response_size_bytes",
		Help:    "Response body sizes.",
		Buckets: prometheus.ExponentialBuckets(100, 10, 7), // 100 B … 100 MB
	}, []string{"route"})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "http", Name: "requests_in_flight",
		Help: "HTTP requests being answered.",
	})
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "amqp", Name: "messages_total",
		Help: "AMQP messages by outcome: received, acked, rejected, requeued, failed (the handler raised), dropped (a settle after a reconnect).",
	}, []string{"outcome"})
	m.handled = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Subsystem: "amqp", Name: "handler_duration_seconds",
		Help:    "Time from handing a message to its handler until the handler returned.",
		Buckets: prometheus.DefBuckets,
	}, []string{"result"})
	m.reg.MustRegister(m.requests, m.duration, m.size, m.inflight,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newInfoCollector(info),
		&stateCollector{src: src, log: m.log},
		newWorkerCollector(src.Workers),
	)
	if src.App != nil {
		m.app = newAppGatherer(src.App, m.log)
	}
	return m
}

// Observe records one answered request.
func (m *Metrics) Observe(method string, status int, route string, d time.Duration, size int64) {
	method = knownMethod(method)
	m.requests.WithLabelValues(method, statusText(status), route).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
	m.size.WithLabelValues(route).Observe(float64(size))
}

// EnableAMQP adds the AMQP families ("hurricane consume").
func (m *Metrics) EnableAMQP() {
	m.reg.MustRegister(m.messages, m.handled)
}

// Message counts an AMQP message outcome.
func (m *Metrics) Message(outcome string) { m.messages.WithLabelValues(outcome).Inc() }

// Handled observes how long an AMQP handler ran; ok is false when it raised.
func (m *Metrics) Handled(d time.Duration, ok bool) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.handled.WithLabelValues(result).Observe(d.Seconds())
}

// Begin and End bracket a request for the in-flight gauge.
func (m *Metrics) Begin() { m.inflight.Inc() }

// End ends what Begin began.
func (m *Metrics) End() { m.inflight.Dec() }

// Handler serves the exposition: the server's families, then the app's.
func (m *Metrics) Handler() fasthttp.RequestHandler {
	var g prometheus.Gatherer = m.reg
	if m.app != nil {
		g = prometheus.Gatherers{m.reg, m.app}
	}
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slogErrorLog{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       2 * scrapeTimeout,
	})
	return fasthttpadaptor.NewFastHTTPHandler(h)
}

type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	l.log.Warn("metrics exposition incomplete", "error", v)
}

// methods bounds the method label: any other method reaches Django but is
// counted as OTHER, so clients cannot grow the label set.
var methods = map[string]string{}

func init() {
	for _, s := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		methods[s] = s
	}
}

func knownMethod(s string) string {
	if m, ok := methods[s]; ok {
		return m
	}
	return "OTHER"
}

var statusTexts [600]string

func init() {
	for i := 100; i < len(statusTexts); i++ {
		statusTexts[i] = strconv.Itoa(i)
	}
}

func statusText(code int) string {
	if code >= 100 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}
