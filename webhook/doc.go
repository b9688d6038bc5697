// Package webhook tells an outside service about startup and probe changes
// by POSTing small JSON documents to --webhook-url.
//
// Nothing that serves requests or answers probes may wait on the receiver,
// so Send only appends to a bounded in-memory queue (dropping the oldest
// webhook when it is full) and returns. A Sender's Run delivers the queue in
// order, one webhook at a time, each with a per-attempt timeout and a few
// retries with capped exponential backoff. When Run stops, an attempt under
// way gets a moment (attemptGrace) to get its answer, so a receiver that
// answers promptly is not sent the webhook again; one that hangs is cut off
// and the webhook stays queued. At exit, Flush delivers what is still
// pending for as long as its context allows and reports the rest as
// abandoned. Every outcome is logged and counted by type, for metrics.
package webhook
