"""The Go side of a worker lane in tests: a socket pair, the lane running on
a thread of its own, and frames read back as Go would."""

import socket
import threading

from hurricane.worker import protocol


class LanePeer:
    def __init__(self, make_lane):
        """make_lane(worker_sock) builds the lane under test."""
        self.sock, worker_sock = socket.socketpair()
        self.lane = make_lane(worker_sock)
        self.thread = threading.Thread(target=self.lane.run, daemon=True)
        self.thread.start()
        self.fb = protocol.FrameBuffer()

    def send(self, data):
        self.sock.sendall(data)

    def frames(self, n, timeout=5):
        self.sock.settimeout(timeout)
        out = []
        while len(out) < n:
            self.fb.feed(self.sock.recv(65536))
            out.extend(self.fb.frames())
        return out

    def close(self):
        self.sock.close()
        self.thread.join(5)
