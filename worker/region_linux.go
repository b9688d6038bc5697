package worker

import (
	"os"

	"golang.org/x/sys/unix"
)

// newBodyRegion creates the memory file and maps it.
func newBodyRegion() (*bodyRegion, error) {
	fd, err := unix.MemfdCreate("hurricane-bodies", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "hurricane-bodies")
	size := regionSlots*regionSlotSize + requestSlots*requestSlotSize
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, err
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, err
	}
	r := &bodyRegion{file: f, mem: mem, slotSize: regionSlotSize, requests: make(chan uint32, requestSlots), gone: make(chan struct{})}
	for slot := range uint32(requestSlots) {
		r.requests <- slot
	}
	return r, nil
}

func (r *bodyRegion) unmapLocked() {
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
}
