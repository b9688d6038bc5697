"""The shared body region: memory Go and this worker both map.

A large response body chunk is copied into free slots of the region and
crosses the socket as small frames naming them (protocol.RESPONSE_SHARED),
instead of as a megabyte the view's thread must push through the socket,
blocking and handing the GIL around while Go reads. Go writes the client
straight from the slots and gives each back with a SLOTS_FREE frame once
the client's socket has taken it. A sync view's thread waits for slots as
it waits for credit (Lane.wait_locked); the event loop never
waits: its chunk goes through the socket when too few slots are free, as
does a chunk larger than the region. See worker/region.go for Go's side.
"""

import mmap
import os
import threading

from . import protocol


class BodyRegion:
    def __init__(self, fd, slots, slot_size):
        try:
            self.mem = mmap.mmap(fd, slots * slot_size)
        finally:
            os.close(fd)
        self.slot_size = slot_size
        self.capacity = slots * slot_size
        self.mu = threading.Lock()
        self.free = list(range(slots))
        self.waiters = []  # _SlotWait of the view threads waiting for slots

    @classmethod
    def from_config(cls, value):
        """The region Go described as "fd:slots:slot size", or None."""
        if not value:
            return None
        fd, slots, slot_size = (int(v) for v in value.split(":"))
        return cls(fd, slots, slot_size)

    def slots_for(self, n):
        """How many slots n bytes take."""
        return -(-n // self.slot_size)

    def put(self, sid, body, more):
        """Copy body into free slots and return the frames naming them, or
        None when too few slots are free."""
        size = self.slot_size
        count = self.slots_for(len(body))
        with self.mu:
            free = self.free
            if len(free) < count:
                return None
            slots = free[-count:]
            del free[-count:]
        view = memoryview(body)
        mem = self.mem
        frames = []
        last = count - 1
        for i, slot in enumerate(slots):
            piece = view[i * size:(i + 1) * size]
            start = slot * size
            mem[start:start + len(piece)] = piece
            frames.append(protocol.response_shared(sid, slot, len(piece), more or i < last))
        return b"".join(frames)

    def give_locked(self, payload):
        """Slots Go has written to their clients (a SLOTS_FREE payload);
        called with the lane's mutex held, which the waiters wait on."""
        slots = protocol.decode_slots(payload)
        with self.mu:
            self.free.extend(slots)
            free = len(self.free)
        for w in self.waiters:
            if w.waiter is not None and w.count <= free:
                w.waiter.notify()

    def wait_locked(self, lane, count):
        """Wait, with the lane's mutex held, until count slots are free."""
        w = _SlotWait(count)
        self.waiters.append(w)
        try:
            lane.wait_locked(lambda: len(self.free) >= count, w)
        finally:
            self.waiters.remove(w)


class _SlotWait:
    """A view thread waiting for slots, woken like a stream's waiter."""

    __slots__ = ("count", "waiter")

    def __init__(self, count):
        self.count = count
        self.waiter = None
