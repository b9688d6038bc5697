package worker

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hurricane-run/hurricane/protocol"
)

// The shared body region: memory a worker process and Go both map, into
// which the worker writes large response bodies. A body chunk then crosses
// as an 8-byte frame naming its first slot (a chunk longer than a slot
// fills consecutive slots) instead of a megabyte through the Unix socket:
// the worker's view thread copies it once, without a system call that
// would block it and hand the GIL around, and Go writes it to the client
// straight from the slots. Go gives a chunk's slots back (TypeSlotsFree)
// once the client's socket has taken its bytes. When every slot is taken
// the worker sends the body through the socket as before, so a slow client
// never blocks a response on the region.
//
// Request slots follow the response slots, in the other direction: Go reads
// a large request body chunk from the client straight into a free one and
// sends a frame naming it (TypeBodyShared). The worker copies the chunk out
// as it reads the frame, before any view sees it, and gives the slot back
// (TypeBodySlotsFree). When no request slot comes free in time the chunk
// goes through the socket.
const (
	regionSlots    = 32
	regionSlotSize = 256 << 10

	requestSlots    = 2
	requestSlotSize = 1 << 20
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
	inUse  int  // response chunks Go writes from and request slots Go fills
	closed bool // the worker is gone: unmap once the last slot is back

	requests chan uint32        // free request slots
	sent     [requestSlots]bool // request slots the worker has not given back
	gone     chan struct{}      // closed once the worker's lane is gone
	goneOnce sync.Once
}

// env tells the worker where the region is: "fd:slots:slot size:request
// slots:request slot size", the request slots after the response slots.
func (r *bodyRegion) env() string {
	return "HURRICANE_WORKER_BODY_REGION=" + strconv.Itoa(regionFD) + ":" + strconv.Itoa(regionSlots) + ":" + strconv.Itoa(r.slotSize) +
		":" + strconv.Itoa(requestSlots) + ":" + strconv.Itoa(requestSlotSize)
}

// nonTemporalThreshold is the glibc tunable the worker starts with, unless
// the environment sets it: copies of 256 KiB and more (a response chunk into
// the region) use non-temporal stores. The worker never reads back what it
// copies there, and a copy through the cache evicted the interpreter's own
// working set: 1 MiB streamed responses cost the worker 0.38–0.41 ms of CPU
// each copied through the cache, 0.32–0.34 ms past it (docs/protocol.md).
const nonTemporalThreshold = "glibc.cpu.x86_non_temporal_threshold=0x40000"

// tunablesEnv returns what to add to a worker's environment env (later
// entries win) for nonTemporalThreshold: GLIBC_TUNABLES with it appended,
// and HURRICANE_WORKER_GLIBC_TUNABLES with the value before, which the
// worker restores once started so that processes it runs inherit the
// user's. Nothing when the environment already sets the tunable.
func tunablesEnv(env []string) []string {
	const key = "GLIBC_TUNABLES="
	user := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, key) {
			user = kv[len(key):]
		}
	}
	name, _, _ := strings.Cut(nonTemporalThreshold, "=")
	for _, t := range strings.Split(user, ":") {
		if strings.HasPrefix(t, name+"=") {
			return nil
		}
	}
	tunables := nonTemporalThreshold
	if user != "" {
		tunables = user + ":" + tunables
	}
	return []string{key + tunables, "HURRICANE_WORKER_GLIBC_TUNABLES=" + user}
}

// run is the first slot and the number of consecutive slots a shared body
// frame's chunk fills: a chunk longer than a slot continues in the slots
// after its first, so the worker can hand over a megabyte in one frame and
// Go write it to the client in one system call. Computed in 64 bits: a
// length near 4 GiB must not wrap on a 32-bit platform. ok: the run lies
// within the region's response slots.
func (r *bodyRegion) run(b protocol.SharedBody) (first, count uint64, ok bool) {
	first = uint64(b.Slot)
	count = max(1, (uint64(b.Length)+uint64(r.slotSize)-1)/uint64(r.slotSize))
	return first, count, first < regionSlots && count <= regionSlots-first
}

// take marks the slots a shared body frame names as in use and returns
// their bytes. Slots out of range or already in use are a worker bug: its
// bytes cannot be trusted.
func (r *bodyRegion) take(b protocol.SharedBody) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("shared body frame without a shared body region")
	}
	first, count, ok := r.run(b)
	if !ok {
		return nil, fmt.Errorf("shared body slot %d length %d outside the region", b.Slot, b.Length)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for slot := first; slot < first+count; slot++ {
		if r.used[slot] {
			return nil, fmt.Errorf("shared body slot %d reused before Go gave it back", slot)
		}
	}
	for slot := first; slot < first+count; slot++ {
		r.used[slot] = true
	}
	r.inUse++
	start := int(first) * r.slotSize
	return r.mem[start : start+int(b.Length) : start+int(b.Length)], nil
}

// give marks the slots of a chunk taken with take free again and returns
// them, for the worker to be told; nil, changing nothing, unless every one
// of them is in use (a chunk given back twice).
func (r *bodyRegion) give(b protocol.SharedBody) []uint32 {
	first, count, ok := r.run(b)
	if !ok {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for slot := first; slot < first+count; slot++ {
		if !r.used[slot] {
			return nil
		}
	}
	slots := make([]uint32, 0, count)
	for slot := first; slot < first+count; slot++ {
		r.used[slot] = false
		slots = append(slots, uint32(slot))
	}
	r.inUseDoneLocked()
	return slots
}

// takeRequest returns a free request slot and its memory, waiting up to
// wait for one; false when none came free or the worker is gone.
func (r *bodyRegion) takeRequest(wait time.Duration) (uint32, []byte, bool) {
	var slot uint32
	select {
	case slot = <-r.requests:
	case <-r.gone:
		return 0, nil, false
	default:
		if wait <= 0 {
			return 0, nil, false
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case slot = <-r.requests:
		case <-r.gone:
			return 0, nil, false
		case <-t.C:
			return 0, nil, false
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.requests <- slot
		return 0, nil, false
	}
	r.inUse++
	start := regionSlots*r.slotSize + int(slot)*requestSlotSize
	return slot, r.mem[start : start+requestSlotSize : start+requestSlotSize], true
}

// sendRequest hands a filled request slot to the worker: called as the
// frame naming it is queued, before the worker can give it back.
func (r *bodyRegion) sendRequest(slot uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[slot] = true
	r.inUseDoneLocked()
}

// dropRequest gives back a request slot Go took but did not send.
func (r *bodyRegion) dropRequest(slot uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests <- slot
	r.inUseDoneLocked()
}

// giveRequests takes back the request slots of a TypeBodySlotsFree frame.
// A slot the worker does not hold is a worker bug.
func (r *bodyRegion) giveRequests(slots []uint32) error {
	if r == nil {
		return fmt.Errorf("request slots given back without a shared body region")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, slot := range slots {
		if slot >= requestSlots || !r.sent[slot] {
			return fmt.Errorf("request slot %d given back but not sent", slot)
		}
		r.sent[slot] = false
		r.requests <- slot
	}
	return nil
}

func (r *bodyRegion) inUseDoneLocked() {
	r.inUse--
	if r.closed && r.inUse == 0 {
		r.unmapLocked()
	}
}

// abandon is called once the worker's lane is gone: requests waiting for a
// request slot stop waiting, since slots it holds will not come back.
func (r *bodyRegion) abandon() {
	r.goneOnce.Do(func() { close(r.gone) })
}

// close is called once the worker has exited: the memory goes away when no
// response is still being written from it.
func (r *bodyRegion) close() {
	r.abandon()
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
