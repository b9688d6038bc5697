"""The shared body region: memory Go and this worker both map.

Large request body chunks come the other way through request slots after
the response slots: Go reads the client straight into one and sends a
BODY_SHARED frame naming it; the lane's reader copies the chunk out as it
reads the frame and gives the slot back (BODY_SLOTS_FREE).

A large response body chunk is copied into free slots of the region and
crosses the socket as a small frame naming them (protocol.RESPONSE_SHARED),
instead of as a megabyte the view's thread must push through the socket,
blocking and handing the GIL around while Go reads. A chunk longer than a
slot goes into consecutive free slots when there are enough, as one frame
naming the first: Go then writes it to the client in one system call.
Otherwise it is split over free slots, one frame each. Go writes the client
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
    def __init__(self, fd, slots, slot_size, request_slots=0, request_slot_size=0):
        try:
            self.mem = mmap.mmap(fd, slots * slot_size + request_slots * request_slot_size)
        finally:
            os.close(fd)
        self.slot_size = slot_size
        self.capacity = slots * slot_size
        self.request_slots = request_slots
        self.request_slot_size = request_slot_size
        self.mu = threading.Lock()
        self.free_map = bytearray(b"\x01") * slots  # 1: the slot is free
        self.nfree = slots
        self.runs = [b"\x01" * n for n in range(slots + 1)]  # what free_map.find looks for
        self.waiters = []  # _SlotWait of the view threads waiting for slots

    @classmethod
    def from_config(cls, value):
        """The region Go described as "fd:slots:slot size:request
        slots:request slot size", or None."""
        if not value:
            return None
        return cls(*(int(v) for v in value.split(":")))

    def request_body(self, payload):
        """(slot, bytes) of a BODY_SHARED payload: the chunk Go read into a
        request slot, copied out so the slot can go back at once."""
        slot, n = protocol.decode_shared(payload)
        if slot >= self.request_slots or n > self.request_slot_size:
            raise protocol.ProtocolError("request slot %d length %d outside the region" % (slot, n))
        start = self.capacity + slot * self.request_slot_size
        return slot, self.mem[start:start + n]

    def slots_for(self, n):
        """How many slots n bytes take (an empty chunk one, as Go counts)."""
        return max(1, -(-n // self.slot_size))

    def put(self, sid, body, more):
        """Copy body into free slots and return the frames naming them, or
        None when too few slots are free."""
        n = len(body)
        count = self.slots_for(n)
        with self.mu:
            if self.nfree < count:
                return None
            free_map = self.free_map
            first = free_map.find(self.runs[count])
            if first >= 0:
                free_map[first:first + count] = bytes(count)
                slots = None
            else:
                slots, i = [], -1
                for _ in range(count):
                    i = free_map.find(1, i + 1)
                    free_map[i] = 0
                    slots.append(i)
            self.nfree -= count
        mem = self.mem
        size = self.slot_size
        if slots is None:
            start = first * size
            mem[start:start + n] = body
            return protocol.response_shared(sid, first, n, more)
        view = memoryview(body)
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
            free_map = self.free_map
            for slot in slots:
                if slot >= len(free_map) or free_map[slot]:
                    raise protocol.ProtocolError("slot %d given back but not in use" % slot)
                free_map[slot] = 1
                self.nfree += 1
            free = self.nfree
        for w in self.waiters:
            if w.waiter is not None and w.count <= free:
                w.waiter.notify()

    def wait_locked(self, lane, count):
        """Wait, with the lane's mutex held, until count slots are free."""
        w = _SlotWait(count)
        self.waiters.append(w)
        try:
            lane.wait_locked(lambda: self.nfree >= count, w)
        finally:
            self.waiters.remove(w)


class _SlotWait:
    """A view thread waiting for slots, woken like a stream's waiter."""

    __slots__ = ("count", "waiter")

    def __init__(self, count):
        self.count = count
        self.waiter = None
