package consume

import (
	"context"
	"encoding/json"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hurricane-run/hurricane/protocol"
	"github.com/hurricane-run/hurricane/worker"
)

// delivery is one message between the broker and its handler.
type delivery struct {
	c       *Consumer
	ch      *amqp.Channel
	gen     uint64
	d       amqp.Delivery
	settled bool
}

// handle runs one delivery through a handler and settles it.
func (c *Consumer) handle(ctx context.Context, ch *amqp.Channel, gen uint64, d amqp.Delivery) {
	c.unsettled.Add(1)
	defer c.unsettled.Add(-1)
	c.count("received")
	x := &delivery{c: c, ch: ch, gen: gen, d: d}
	start := time.Now()
	st, err := c.pool.Open()
	if err != nil {
		c.log.Error("no worker for a message; requeueing it", "error", err)
		x.nack(true)
		return
	}
	defer st.Close()
	meta := protocol.Delivery{
		DeliveryTag: gen<<tagBits | d.DeliveryTag,
		Redelivered: d.Redelivered,
		Exchange:    d.Exchange,
		RoutingKey:  d.RoutingKey,
		ConsumerTag: d.ConsumerTag,
		Properties:  properties(d),
	}
	if err := st.SendMessage(&meta, d.Body); err != nil {
		c.log.Error("could not send a message to its worker; requeueing it", "error", err)
		x.nack(true)
		return
	}
	for {
		ev := st.Next()
		switch ev.Kind {
		case worker.EventSettle:
			var s protocol.Settle
			if json.Unmarshal(ev.Payload, &s) == nil {
				x.settle(s)
			}
		case worker.EventPublish:
			x.publish(ctx, ev.Payload)
		case worker.EventDone:
			var done protocol.MessageDone
			_ = json.Unmarshal(ev.Payload, &done)
			c.observe(time.Since(start), done.Error == "")
			x.finish(done.Error)
			return
		case worker.EventGone, worker.EventAbort:
			c.observe(time.Since(start), false)
			x.finish("the worker process exited while handling the message")
			return
		}
	}
}

// settle applies the handler's ack, nack or reject.
func (x *delivery) settle(s protocol.Settle) {
	c := x.c
	if s.DeliveryTag>>tagBits != c.gen.Load() || s.DeliveryTag>>tagBits != x.gen {
		c.log.Warn("settle for a delivery from before a reconnect dropped (the broker redelivers it)", "delivery_tag", s.DeliveryTag, "op", s.Op)
		c.count("dropped")
		return
	}
	tag := s.DeliveryTag & tagMask
	var err error
	outcome := ""
	switch s.Op {
	case "ack":
		err, outcome = x.ch.Ack(tag, s.Multiple), "acked"
	case "nack":
		err = x.ch.Nack(tag, s.Multiple, s.Requeue)
		outcome = "rejected"
		if s.Requeue {
			outcome = "requeued"
		}
	case "reject":
		err = x.ch.Reject(tag, s.Requeue)
		outcome = "rejected"
		if s.Requeue {
			outcome = "requeued"
		}
	default:
		c.log.Warn("unknown settle from the handler", "op", s.Op)
		return
	}
	if err != nil {
		c.log.Warn("settle dropped: the channel closed (the broker redelivers the message)", "delivery_tag", tag, "op", s.Op, "error", err)
		c.count("dropped")
		return
	}
	c.log.Debug("message settled", "delivery_tag", tag, "op", s.Op, "requeue", s.Requeue)
	c.count(outcome)
	if tag == x.d.DeliveryTag || (s.Multiple && tag >= x.d.DeliveryTag) {
		x.settled = true
	}
}

// finish applies SPEC §7's rules to a delivery its handler left: an
// exception rejects it; unsettled, it is requeued once, then rejected.
func (x *delivery) finish(failure string) {
	c := x.c
	switch {
	case x.settled:
	case failure != "":
		c.log.Error("handler failed; rejecting the message without requeue", "delivery_tag", x.d.DeliveryTag, "routing_key", x.d.RoutingKey, "error", failure)
		c.count("failed")
		x.reject()
	case !x.d.Redelivered:
		c.log.Warn("handler returned without settling; requeueing the message once", "delivery_tag", x.d.DeliveryTag, "routing_key", x.d.RoutingKey)
		x.nack(true)
	default:
		c.log.Warn("handler returned without settling a redelivered message; rejecting it", "delivery_tag", x.d.DeliveryTag, "routing_key", x.d.RoutingKey)
		x.reject()
	}
}

func (x *delivery) nack(requeue bool) {
	if err := x.ch.Nack(x.d.DeliveryTag, false, requeue); err != nil {
		x.c.log.Warn("could not settle the message (the broker redelivers it)", "delivery_tag", x.d.DeliveryTag, "error", err)
		return
	}
	x.settled = true
	if requeue {
		x.c.count("requeued")
	} else {
		x.c.count("rejected")
	}
}

func (x *delivery) reject() { x.nack(false) }

// publish is the handler's basic_publish.
func (x *delivery) publish(ctx context.Context, payload []byte) {
	var p protocol.Publish
	body, err := protocol.DecodeMeta(payload, &p)
	if err != nil {
		x.c.log.Error("malformed publish from the handler", "error", err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pub := publishing(p.Properties)
	pub.Body = body
	if err := x.ch.PublishWithContext(pctx, p.Exchange, p.RoutingKey, p.Mandatory, false, pub); err != nil {
		x.c.log.Error("publish failed", "exchange", p.Exchange, "routing_key", p.RoutingKey, "error", err)
	}
}

func (c *Consumer) count(outcome string) {
	if c.obs != nil {
		c.obs.Message(outcome)
	}
}

func (c *Consumer) observe(d time.Duration, ok bool) {
	if c.obs != nil {
		c.obs.Handled(d, ok)
	}
}

func properties(d amqp.Delivery) protocol.Properties {
	p := protocol.Properties{
		ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
		DeliveryMode: d.DeliveryMode, Priority: d.Priority, CorrelationID: d.CorrelationId,
		ReplyTo: d.ReplyTo, Expiration: d.Expiration, MessageID: d.MessageId,
		Type: d.Type, UserID: d.UserId, AppID: d.AppId,
	}
	if len(d.Headers) > 0 {
		p.Headers = map[string]any(d.Headers)
	}
	if !d.Timestamp.IsZero() {
		p.Timestamp = d.Timestamp.Unix()
	}
	return p
}

func publishing(p protocol.Properties) amqp.Publishing {
	pub := amqp.Publishing{
		ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
		DeliveryMode: p.DeliveryMode, Priority: p.Priority, CorrelationId: p.CorrelationID,
		ReplyTo: p.ReplyTo, Expiration: p.Expiration, MessageId: p.MessageID,
		Type: p.Type, UserId: p.UserID, AppId: p.AppID,
	}
	if len(p.Headers) > 0 {
		pub.Headers = amqp.Table(p.Headers)
	}
	if p.Timestamp != 0 {
		pub.Timestamp = time.Unix(p.Timestamp, 0)
	}
	return pub
}
