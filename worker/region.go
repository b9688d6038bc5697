package worker

import (
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/hurricane-run/hurricane/protocol"
)

// The shared body region: memory a worker process and Go both map, into
// which the worker writes large response bodies. A body chunk then crosses
// as an 8-byte frame naming its slot instead of a megabyte through the Unix
// socket: the worker's view thread copies it once, without a system call
// that would block it and hand the GIL around, and Go writes it to the
// client straight from the slot. Go gives each slot back (TypeSlotsFree)
// once the client's socket has taken its bytes. When every slot is taken
// the worker sends the body through the socket as before, so a slow client
// never blocks a response on the region.
const (
	regionSlots    = 32
	regionSlotSize = 256 << 10
)

// regionFD is the descriptor the worker finds the region's memory file at:
// ExtraFiles start at 3, and 3 is the log pipe.
const regionFD = 4

// bodyRegion is one worker process's shared body region.
type bodyRegion struct {
	file     *os.File // the memory file, until the worker has inherited it
	mem      []byte
	slotSize int

	mu     sync.Mutex
	used   [regionSlots]bool
	inUse  int
	closed bool // the worker is gone: unmap once the last slot is back
}

// env tells the worker where the region is: "fd:slots:slot size".
func (r *bodyRegion) env() string {
	return "HURRICANE_WORKER_BODY_REGION=" + strconv.Itoa(regionFD) + ":" + strconv.Itoa(regionSlots) + ":" + strconv.Itoa(r.slotSize)
}

// take marks the slot a shared body frame names as in use and returns its
// bytes. A slot out of range, too long a body or a slot already in use is a
// worker bug: its bytes cannot be trusted.
func (r *bodyRegion) take(b protocol.SharedBody) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("shared body frame without a shared body region")
	}
	if b.Slot >= regionSlots || int(b.Length) > r.slotSize {
		return nil, fmt.Errorf("shared body slot %d length %d outside the region", b.Slot, b.Length)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.used[b.Slot] {
		return nil, fmt.Errorf("shared body slot %d reused before Go gave it back", b.Slot)
	}
	r.used[b.Slot] = true
	r.inUse++
	start := int(b.Slot) * r.slotSize
	return r.mem[start : start+int(b.Length) : start+int(b.Length)], nil
}

// give marks a slot free again.
func (r *bodyRegion) give(slot uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.used[slot] {
		return
	}
	r.used[slot] = false
	r.inUse--
	if r.closed && r.inUse == 0 {
		r.unmapLocked()
	}
}

// close is called once the worker has exited: the memory goes away when no
// response is still being written from it.
func (r *bodyRegion) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeFile()
	r.closed = true
	if r.inUse == 0 {
		r.unmapLocked()
	}
}

// closeFile drops Go's descriptor of the memory file (the mapping stays).
func (r *bodyRegion) closeFile() {
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
}
