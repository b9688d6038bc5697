package consume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hurricane-run/hurricane/worker"
)

// Config is what the consumer needs.
type Config struct {
	URL          string // amqp:// or amqps://
	Queue        string
	Exchange     string // "": the default exchange, no bindings
	ExchangeType string
	RoutingKeys  []string // bindings; empty: the queue name (as 1.6.2)
	Prefetch     int      // unsettled messages per worker process
	Processes    int
	Durable      bool
	QueueArgs    amqp.Table
	Reconnect    bool
	DrainTimeout time.Duration // how long in-flight handlers may run at shutdown
}

// Dispatcher opens exchanges with workers.
type Dispatcher interface {
	Open() (*worker.Stream, error)
}

// Observer counts what happens to messages (metrics).
type Observer interface {
	Message(outcome string)           // received, acked, rejected, requeued, failed, dropped
	Handled(d time.Duration, ok bool) // a handler finished
}

// Backoff bounds between reconnect attempts.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 30 * time.Second
	// tagBits is where the channel generation starts in the delivery tags
	// handlers see, so a tag from before a reconnect is recognised.
	tagBits = 40
	tagMask = 1<<tagBits - 1
)

// ErrBrokerLost means the broker connection ended without --reconnect.
var ErrBrokerLost = errors.New("lost the connection to the AMQP broker")

// Consumer consumes the queue.
type Consumer struct {
	cfg  Config
	pool Dispatcher
	obs  Observer
	log  *slog.Logger

	connected atomic.Bool
	unsettled atomic.Int64
	gen       atomic.Uint64
	consuming chan struct{} // closed once the first consume started
	once      sync.Once
}

// New builds a consumer; Run runs it.
func New(cfg Config, pool Dispatcher, obs Observer, log *slog.Logger) *Consumer {
	if cfg.Prefetch < 1 {
		cfg.Prefetch = 1
	}
	if cfg.Processes < 1 {
		cfg.Processes = 1
	}
	if cfg.ExchangeType == "" {
		cfg.ExchangeType = "topic"
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 20 * time.Second
	}
	return &Consumer{cfg: cfg, pool: pool, obs: obs, log: log.With("component", "consume"), consuming: make(chan struct{})}
}

// Connected reports whether the consumer is connected and consuming.
func (c *Consumer) Connected() bool { return c.connected.Load() }

// Unsettled is the number of deliveries handed out and not yet settled.
func (c *Consumer) Unsettled() int { return int(c.unsettled.Load()) }

// Consuming is closed once the consumer first started consuming.
func (c *Consumer) Consuming() <-chan struct{} { return c.consuming }

// Run consumes until ctx ends (then it cancels the consumer, lets in-flight
// handlers finish and returns nil) or, without Reconnect, the broker goes
// away (ErrBrokerLost).
func (c *Consumer) Run(ctx context.Context) error {
	backoff := backoffMin
	for {
		consumed, err := c.session(ctx)
		c.connected.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		var de *DeclareError
		if errors.As(err, &de) {
			return err // re-declaring the same way fails the same way
		}
		if !c.cfg.Reconnect {
			if !consumed {
				return err
			}
			return fmt.Errorf("%w: %v (pass --reconnect to reconnect instead of exiting)", ErrBrokerLost, err)
		}
		if consumed {
			backoff = backoffMin
		}
		c.log.Warn("reconnecting to the broker", "in", backoff.String(), "error", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, backoffMax)
	}
}

// session is one connection: it declares, binds and consumes until ctx ends
// or the connection is lost. consumed says whether it got as far as
// consuming.
func (c *Consumer) session(ctx context.Context) (consumed bool, err error) {
	conn, err := amqp.DialConfig(c.cfg.URL, amqp.Config{
		Heartbeat:  10 * time.Second,
		Properties: amqp.Table{"connection_name": "hurricane consume " + c.cfg.Queue},
	})
	if err != nil {
		return false, fmt.Errorf("connect to the AMQP broker at %s: %w (is it running? check --amqp-host, --amqp-port or --amqp-url)", redact(c.cfg.URL), err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open a channel: %w", err)
	}
	if err := c.declare(ch); err != nil {
		return false, err
	}
	gen := c.gen.Add(1)
	tag := consumerTag()
	deliveries, err := ch.Consume(c.cfg.Queue, tag, false, false, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume queue %q: %w", c.cfg.Queue, err)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	c.connected.Store(true)
	c.once.Do(func() { close(c.consuming) })
	c.log.Info("consuming", "queue", c.cfg.Queue, "exchange", c.cfg.Exchange, "prefetch", c.cfg.Prefetch*c.cfg.Processes)

	var inflight sync.WaitGroup
	for {
		select {
		case <-ctx.Done():
			c.connected.Store(false)
			c.log.Info("stopping: cancelling the consumer and finishing in-flight messages", "in_flight", c.Unsettled())
			_ = ch.Cancel(tag, false)
			for d := range deliveries { // those the broker sent before the cancel
				inflight.Go(func() { c.handle(ctx, ch, gen, d) })
			}
			if !waitTimeout(&inflight, c.cfg.DrainTimeout) {
				c.log.Warn("in-flight messages did not finish within the shutdown timeout; the broker redelivers them")
			}
			return true, nil
		case d, ok := <-deliveries:
			if !ok {
				var reason error = errors.New("the consumer was cancelled by the broker")
				select {
				case e := <-closed:
					if e != nil {
						reason = e
					}
				case <-time.After(time.Second):
				}
				c.log.Warn("broker connection lost", "error", reason)
				return true, reason
			}
			inflight.Go(func() { c.handle(context.WithoutCancel(ctx), ch, gen, d) })
		}
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func consumerTag() string {
	host, _ := os.Hostname()
	return "hurricane-" + host + "-" + strconv.Itoa(os.Getpid())
}

// redact hides the password of an AMQP URL for messages.
func redact(u string) string {
	if p, err := amqp.ParseURI(u); err == nil {
		p.Password = ""
		if p.Username != "" {
			p.Password = "xxx"
		}
		return p.String()
	}
	return "the configured URL"
}
