// Package consume is the AMQP side of "hurricane consume": it connects to the
// broker (amqp091-go), declares and binds the queue, and hands each delivery
// to a Python handler in a worker, settling it by the rules of SPEC §7: ack
// only on the handler's acknowledgement; an exception rejects without
// requeue; a message returned unsettled is requeued once, then rejected;
// settles from before a reconnect are dropped. With Reconnect it redials
// with capped backoff and re-declares everything.
package consume
