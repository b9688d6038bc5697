package probe

import (
	"sync"
	"sync/atomic"
	"time"
)

// State is what the probes report about the server's life.
type State struct {
	started      time.Time
	startupTook  atomic.Int64 // nanoseconds; 0 until startup finished
	shuttingDown atomic.Bool

	mu       sync.Mutex
	served   int64
	totalDur time.Duration
}

// NewState starts the startup clock.
func NewState() *State { return &State{started: time.Now()} }

// Started marks startup as finished.
func (s *State) Started() {
	s.startupTook.Store(max(1, int64(time.Since(s.started))))
}

// StartupDuration is how long startup took; zero until it finished.
func (s *State) StartupDuration() time.Duration { return time.Duration(s.startupTook.Load()) }

// IsStarted reports whether startup finished.
func (s *State) IsStarted() bool { return s.startupTook.Load() != 0 }

// ShutDown marks the server as shutting down: readiness answers 503.
func (s *State) ShutDown() { s.shuttingDown.Store(true) }

// IsShuttingDown reports whether shutdown began.
func (s *State) IsShuttingDown() bool { return s.shuttingDown.Load() }

// Served records one app request and how long it took.
func (s *State) Served(d time.Duration) {
	s.mu.Lock()
	s.served++
	s.totalDur += d
	s.mu.Unlock()
}

// Requests returns the number of app requests served and their mean duration.
func (s *State) Requests() (int64, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.served == 0 {
		return 0, 0
	}
	return s.served, s.totalDur / time.Duration(s.served)
}
