package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ErrAbandoned means Flush ran out of time with webhooks still pending.
var ErrAbandoned = errors.New("webhooks abandoned")

// Run delivers queued webhooks in order, one at a time, until ctx ends. A
// delivery cut short by ctx stays queued for Flush. It always returns nil.
func (s *Sender) Run(ctx context.Context) error {
	for {
		for ctx.Err() == nil && s.deliverNext(ctx) {
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
	}
}

// Flush delivers what is still queued, in order, until the queue is empty or
// ctx ends; retries stop with ctx too. Whatever is left is counted dropped
// and reported in an ErrAbandoned error. Call it after Run has returned, or
// instead of Run.
func (s *Sender) Flush(ctx context.Context) error {
	for ctx.Err() == nil && s.deliverNext(ctx) {
	}
	if s.ownClient {
		defer s.client.CloseIdleConnections()
	}
	s.mu.Lock()
	left := s.queue
	s.queue = nil
	for _, p := range left {
		s.counts[Outcome{p.typ, ResultDropped}]++
	}
	s.mu.Unlock()
	if len(left) == 0 {
		return nil
	}
	for _, p := range left {
		s.log.Warn("webhook abandoned at exit", "type", p.typ, "status", p.status)
	}
	return fmt.Errorf("flush webhooks: %d still pending when time ran out: %w", len(left), ErrAbandoned)
}

// deliverNext delivers the oldest queued webhook and reports whether there
// was one. If ctx ends first, the webhook goes back to the front.
func (s *Sender) deliverNext(ctx context.Context) bool {
	select {
	case s.busy <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-s.busy }()
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.mu.Unlock()
		return false
	}
	p := s.popLocked()
	s.mu.Unlock()
	if !s.deliver(ctx, p) {
		s.pushFront(p)
	}
	return true
}

// pushFront requeues an interrupted webhook ahead of the rest. If Send
// filled the queue meanwhile, it is the oldest, so it is the one dropped.
func (s *Sender) pushFront(p pending) {
	s.mu.Lock()
	full := len(s.queue) >= s.cfg.QueueSize
	if full {
		s.counts[Outcome{p.typ, ResultDropped}]++
	} else {
		s.queue = append([]pending{p}, s.queue...)
	}
	s.mu.Unlock()
	if full {
		s.log.Warn("webhook queue full; dropped the oldest", "type", p.typ, "status", p.status, "queue_size", s.cfg.QueueSize)
		return
	}
	s.log.Debug("webhook delivery interrupted; left pending", "type", p.typ, "status", p.status)
}

// deliver makes up to cfg.Attempts attempts, logs and counts the outcome,
// and reports false, counting nothing, if ctx ended first.
func (s *Sender) deliver(ctx context.Context, p pending) bool {
	delay := s.cfg.Backoff
	var err error
	for attempt := 1; attempt <= s.cfg.Attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return false
			case <-t.C:
			}
			delay = min(2*delay, maxBackoff)
		}
		err = s.post(ctx, p.body)
		if err == nil {
			s.count(p.typ, ResultDelivered)
			s.log.Info("webhook delivered", "type", p.typ, "status", p.status, "attempts", attempt)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.log.Warn("webhook attempt failed", "url", s.logURL, "type", p.typ, "status", p.status, "attempt", attempt, "error", err)
	}
	s.count(p.typ, ResultFailed)
	s.log.Error("webhook failed", "url", s.logURL, "type", p.typ, "status", p.status, "attempts", s.cfg.Attempts, "error", err)
	return true
}

// post makes one attempt; only a 2xx answer is a success. If ctx ends while
// the attempt is out, it still has attemptGrace to get its answer.
func (s *Sender) post(ctx context.Context, body []byte) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(attemptGrace, cancel)
		context.AfterFunc(actx, func() { t.Stop() })
	})
	defer stop()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build webhook request (check --webhook-url): %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(actx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("wait for the receiver: no answer within %s", s.cfg.Timeout)
		}
		return err
	}
	// Drain a little so the connection can be reused for the next webhook.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
