//go:build !linux

package worker

import "errors"

// newBodyRegion: shared memory files are Linux's (memfd); elsewhere
// response bodies go through the worker's socket.
func newBodyRegion() (*bodyRegion, error) {
	return nil, errors.New("no shared body region on this system")
}

func (r *bodyRegion) unmapLocked() { r.mem = nil }
