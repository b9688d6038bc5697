package consume

import (
	"errors"
	"fmt"
	"regexp"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DeclareError means the broker refused a declaration the same way it will
// refuse it again: a queue that exists with other arguments.
type DeclareError struct {
	Kind   string // "queue" or "exchange"
	Name   string
	Arg    string // what differs ("durable", "x-dead-letter-exchange", "type", ...)
	Broker string // the broker's words
}

func (e *DeclareError) Error() string {
	var fix string
	switch {
	case e.Arg == "durable":
		fix = "declare it the same way (--durable as it was declared), or delete the " + e.Kind
	case e.Kind == "exchange":
		fix = "declare it the same way (--exchange-type, --durable), or use another exchange"
	case e.Arg == "exclusive" || e.Arg == "auto_delete":
		fix = "use another queue name"
	default:
		fix = "declare it the same way (--queue-arg " + e.Arg + "=VALUE as it was declared), or delete the queue"
	}
	return fmt.Sprintf("%s %q already exists with a different %s: %s (broker: %s)", e.Kind, e.Name, e.Arg, fix, e.Broker)
}

var inequivalent = regexp.MustCompile(`inequivalent arg '([^']+)'`)

// declare declares the exchange and the queue, binds them and sets QoS.
func (c *Consumer) declare(ch *amqp.Channel) error {
	cfg := c.cfg
	if cfg.Exchange != "" {
		if err := ch.ExchangeDeclare(cfg.Exchange, cfg.ExchangeType, cfg.Durable, false, false, false, nil); err != nil {
			return c.declareError("exchange", cfg.Exchange, err)
		}
	}
	if _, err := ch.QueueDeclare(cfg.Queue, cfg.Durable, false, false, false, cfg.QueueArgs); err != nil {
		return c.declareError("queue", cfg.Queue, err)
	}
	if cfg.Exchange != "" {
		keys := cfg.RoutingKeys
		if len(keys) == 0 {
			keys = []string{cfg.Queue}
		}
		for _, k := range keys {
			if err := ch.QueueBind(cfg.Queue, k, cfg.Exchange, false, nil); err != nil {
				return fmt.Errorf("bind queue %q to exchange %q with routing key %q: %w", cfg.Queue, cfg.Exchange, k, err)
			}
			c.log.Info("queue bound", "queue", cfg.Queue, "exchange", cfg.Exchange, "routing_key", k)
		}
	}
	if err := ch.Qos(cfg.Prefetch*cfg.Processes, 0, false); err != nil {
		return fmt.Errorf("set QoS: %w", err)
	}
	return nil
}

func (c *Consumer) declareError(kind, name string, err error) error {
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
		arg := "arguments"
		if m := inequivalent.FindStringSubmatch(ae.Reason); m != nil {
			arg = m[1]
		}
		return &DeclareError{Kind: kind, Name: name, Arg: arg, Broker: ae.Reason}
	}
	return fmt.Errorf("declare %s %q: %w", kind, name, err)
}
