package webhook

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// Type says what a webhook reports on.
type Type string

// The webhook types of SPEC §6.
const (
	TypeStartup   Type = "startup"
	TypeLiveness  Type = "liveness"
	TypeReadiness Type = "readiness"
)

// Status is the state a webhook reports.
type Status string

// The statuses a webhook can carry.
const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusWarning   Status = "warning"
)

// Result is what became of a webhook.
type Result string

// The results counted by Outcomes.
const (
	// ResultDelivered means the receiver answered 2xx.
	ResultDelivered Result = "delivered"
	// ResultFailed means every attempt failed.
	ResultFailed Result = "failed"
	// ResultDropped means the queue was full, or the webhook was still
	// pending when Flush ran out of time.
	ResultDropped Result = "dropped"
)

// Outcome is the key of the counts returned by Outcomes.
type Outcome struct {
	Type   Type
	Result Result
}

// Defaults for the zero fields of Config.
const (
	DefaultTimeout   = 3 * time.Second
	DefaultAttempts  = 4
	DefaultBackoff   = 250 * time.Millisecond
	DefaultQueueSize = 64
	// maxBackoff caps the doubling delay between attempts.
	maxBackoff = 4 * time.Second
	// attemptGrace is how long an attempt already made may still finish
	// once the context ends: a receiver that answers at once is not sent
	// the webhook again by Flush; one that hangs does not hold shutdown.
	attemptGrace = time.Second
)

// Config is what a Sender needs. Zero fields take the defaults above.
type Config struct {
	URL       string        // empty: Send does nothing
	PodName   string        // empty: os.Hostname()
	Version   string        // the HURRICANE_VERSION setting; empty: null in the payload
	Timeout   time.Duration // per attempt
	Attempts  int           // including the first
	Backoff   time.Duration // before the first retry; doubles, capped at 4 s
	QueueSize int           // pending webhooks kept; when full the oldest is dropped
	Client    *http.Client  // nil: a private client
}

// payload is the document POSTed; field order is the wire order.
type payload struct {
	Info      string  `json:"info"`
	Type      Type    `json:"type"`
	Status    Status  `json:"status"`
	Timestamp int64   `json:"timestamp"`
	PodName   string  `json:"podname"`
	Version   *string `json:"version"`
	Traceback string  `json:"traceback,omitempty"`
}

// pending is a queued webhook, encoded when Send was called.
type pending struct {
	typ    Type
	status Status
	body   []byte
}

// Sender queues webhooks and delivers them. Its methods are safe for
// concurrent use.
type Sender struct {
	cfg       Config
	log       *slog.Logger
	client    *http.Client
	ownClient bool
	logURL    string // cfg.URL with any password masked
	version   *string
	disabled  sync.Once

	// busy is held while a webhook is out of the queue being delivered, so
	// that Run and Flush never deliver concurrently or out of order.
	busy chan struct{}
	// wake tells Run that Send queued something; capacity 1 so Send never
	// blocks and a wake-up is never lost.
	wake chan struct{}

	mu     sync.Mutex
	queue  []pending
	counts map[Outcome]int64
}

// New builds a Sender; Run delivers what Send queues.
func New(cfg Config, log *slog.Logger) *Sender {
	s := &Sender{
		log:    log.With("component", "webhook"),
		busy:   make(chan struct{}, 1),
		wake:   make(chan struct{}, 1),
		counts: make(map[Outcome]int64),
		logURL: cfg.URL,
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.PodName == "" && cfg.URL != "" {
		name, err := os.Hostname()
		if err != nil {
			s.log.Warn("cannot read the hostname for the webhook podname", "error", err)
		}
		cfg.PodName = name
	}
	if cfg.Version != "" {
		v := cfg.Version
		s.version = &v
	}
	if u, err := url.Parse(cfg.URL); err == nil {
		s.logURL = u.Redacted()
	}
	s.client = cfg.Client
	if s.client == nil {
		// A private transport, so Flush can close its idle connections
		// without touching anyone else's.
		s.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		s.ownClient = true
	}
	s.cfg = cfg
	return s
}

// Send queues a webhook and returns at once; traceback is left out of the
// payload when empty. The timestamp is taken now, not at delivery.
func (s *Sender) Send(t Type, st Status, traceback string) {
	if s.cfg.URL == "" {
		s.disabled.Do(func() { s.log.Debug("webhooks off; no webhook url") })
		return
	}
	body, err := json.Marshal(payload{
		Info:      info(t),
		Type:      t,
		Status:    st,
		Timestamp: time.Now().Unix(),
		PodName:   s.cfg.PodName,
		Version:   s.version,
		Traceback: traceback,
	})
	if err != nil { // only strings and an int: cannot happen
		s.log.Error("cannot encode webhook", "type", t, "status", st, "error", err)
		return
	}
	s.mu.Lock()
	dropped, full := s.pushBackLocked(pending{typ: t, status: st, body: body})
	s.mu.Unlock()
	if full {
		s.log.Warn("webhook queue full; dropped the oldest", "type", dropped.typ, "status", dropped.status, "queue_size", s.cfg.QueueSize)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Outcomes returns a copy of the counts so far.
func (s *Sender) Outcomes() map[Outcome]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Outcome]int64, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

func info(t Type) string {
	switch t {
	case TypeStartup:
		return "Startup webhook"
	case TypeLiveness:
		return "Liveness webhook"
	case TypeReadiness:
		return "Readiness webhook"
	}
	return string(t) + " webhook"
}

// pushBackLocked appends p, first dropping the oldest webhook if the queue
// is full.
func (s *Sender) pushBackLocked(p pending) (dropped pending, full bool) {
	if len(s.queue) >= s.cfg.QueueSize {
		dropped, full = s.popLocked(), true
		s.counts[Outcome{dropped.typ, ResultDropped}]++
	}
	s.queue = append(s.queue, p)
	return dropped, full
}

// popLocked removes the oldest webhook; the queue must not be empty.
func (s *Sender) popLocked() pending {
	p := s.queue[0]
	s.queue[0] = pending{} // let the body be collected
	s.queue = s.queue[1:]
	return p
}

func (s *Sender) count(t Type, r Result) {
	s.mu.Lock()
	s.counts[Outcome{t, r}]++
	s.mu.Unlock()
}
