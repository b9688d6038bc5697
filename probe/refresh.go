package probe

import (
	"sync"
	"time"
)

// Probes answer from the newest check result instead of waiting for a
// worker: while probes keep coming, each probe's checks run every
// refreshEvery in the background, so an answer costs no round trip to a
// worker whose threads and GIL are busy with views (SPEC §3: "probes answer
// within milliseconds while the app is saturated"). An answer reflects the
// checks as of at most maxAge ago; without a result that fresh, the probe
// runs the checks itself, as the first probe does.
const (
	refreshEvery = 500 * time.Millisecond
	// refreshIdle stops the background checks this long after the last
	// probe, so a server nobody probes does not query its databases.
	refreshIdle = time.Minute
)

// result is a probe's newest check result.
type result struct {
	at     time.Time
	report Report
	err    error
}

// refresher keeps the newest result of each probe's checks.
type refresher struct {
	mu      sync.Mutex
	latest  map[string]result
	asked   map[string]time.Time
	running map[string]bool
	stop    chan struct{}
	stopped bool
	wg      sync.WaitGroup
	// always runs the checks for every probe (tests of one answer's logic).
	always bool
}

func newRefresher() *refresher {
	return &refresher{latest: map[string]result{}, asked: map[string]time.Time{}, running: map[string]bool{}, stop: make(chan struct{})}
}

// maxAge is how old a result may be to answer from: a refresh interval and
// a check that took the whole timeout.
func (s *Server) maxAge() time.Duration { return refreshEvery + s.cfg.CheckTimeout + refreshEvery/2 }

// report is the probe's newest check result, fresh enough, or a new one.
func (s *Server) report(which string) (Report, error) {
	r := s.refresh
	if r.always {
		return s.checkNow(which)
	}
	now := time.Now()
	r.mu.Lock()
	r.asked[which] = now
	if !r.running[which] && !r.stopped {
		r.running[which] = true
		r.wg.Add(1)
		go s.keepFresh(which)
	}
	res, ok := r.latest[which]
	r.mu.Unlock()
	if ok && now.Sub(res.at) <= s.maxAge() {
		return res.report, res.err
	}
	return s.checkNow(which)
}

// checkNow runs the probe's checks on a worker and keeps the result.
func (s *Server) checkNow(which string) (Report, error) {
	ctx, cancel := s.withTimeout()
	defer cancel()
	var rep Report
	var err error
	if which == "readiness" {
		rep, err = s.check.Probe(ctx, "readiness", true, s.cfg.Databases)
	} else {
		rep, err = s.check.Probe(ctx, "liveness", false, nil)
	}
	s.refresh.mu.Lock()
	s.refresh.latest[which] = result{at: time.Now(), report: rep, err: err}
	s.refresh.mu.Unlock()
	return rep, err
}

// keepFresh re-runs the probe's checks every refreshEvery until nobody has
// asked for refreshIdle, or Close.
func (s *Server) keepFresh(which string) {
	r := s.refresh
	defer r.wg.Done()
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		if time.Since(r.asked[which]) > refreshIdle {
			r.running[which] = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		_, _ = s.checkNow(which)
	}
}

// Close stops the background checks and waits for them.
func (s *Server) Close() {
	r := s.refresh
	r.mu.Lock()
	if !r.stopped {
		r.stopped = true
		close(r.stop)
	}
	r.mu.Unlock()
	r.wg.Wait()
}
