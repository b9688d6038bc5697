package serve

import (
	"context"
	"fmt"
	"time"

	"github.com/hurricane-run/hurricane/consume"
	"github.com/hurricane-run/hurricane/probe"
	"github.com/hurricane-run/hurricane/protocol"
)

// Consume is "hurricane consume": the AMQP consumer and its handler.
type Consume struct {
	consume.Config
	Handler protocol.HandlerArgs
}

// checkHandler imports the handler class in the setup worker, as 1.6.2 did
// before connecting, and asks it for its routing keys.
func (l *lifecycle) checkHandler(ctx context.Context, setup interface {
	Handler(context.Context, protocol.HandlerArgs) (protocol.HandlerInfo, error)
}) error {
	c := l.o.Consume
	info, err := setup.Handler(ctx, c.Handler)
	if err != nil {
		return fmt.Errorf("cannot start the consumer due to an implementation error: %w", err)
	}
	if len(c.RoutingKeys) == 0 {
		c.RoutingKeys = info.RoutingKeys
	}
	if info.ExchangeType != "" && c.ExchangeType == "" {
		c.ExchangeType = info.ExchangeType
	}
	l.o.Serving.Consume = &c.Handler
	return nil
}

// consume runs the consumer until ctx ends or the broker is lost without
// --reconnect. Startup finishes once it consumes.
func (l *lifecycle) consume(ctx context.Context) error {
	if l.metrics != nil {
		l.metrics.EnableAMQP()
	}
	l.consumer = consume.New(l.o.Consume.Config, l.pool, consumeObserver{l}, l.base)
	errc := make(chan error, 1)
	go func() { errc <- l.consumer.Run(ctx) }()
	select {
	case <-l.consumer.Consuming():
		l.started()
	case err := <-errc:
		if ctx.Err() != nil {
			return nil
		}
		return err
	case <-ctx.Done():
		return <-errc
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		l.state.ShutDown()
		return <-errc
	}
}

// consumeObserver counts messages in the metrics and, for --max-lifetime,
// as served requests.
type consumeObserver struct{ l *lifecycle }

func (o consumeObserver) Message(outcome string) {
	if o.l.metrics != nil {
		o.l.metrics.Message(outcome)
	}
}

func (o consumeObserver) Handled(d time.Duration, ok bool) {
	o.l.state.Served(d)
	if o.l.metrics != nil {
		o.l.metrics.Handled(d, ok)
	}
}

// consumeChecker is the probes' view of a consumer: readiness also fails
// while the broker is disconnected, and the queue is the unsettled messages.
type consumeChecker struct {
	pool *poolChecker
	l    *lifecycle
}

var _ probe.Checker = (*consumeChecker)(nil)

func (c *consumeChecker) Probe(ctx context.Context, tag string, databases bool, aliases []string) (probe.Report, error) {
	r, err := c.pool.Probe(ctx, tag, databases, aliases)
	if err != nil {
		return r, err
	}
	cons := c.l.consumer
	if cons == nil || !cons.Connected() {
		r.NotReady = "not connected to the AMQP broker"
		return r, nil
	}
	r.Queue = cons.Unsettled()
	return r, nil
}
