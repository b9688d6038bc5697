#!/usr/bin/env python3
"""Client for bench/memory (standard library only).

  memclient.py upload   --port P --pid PID --bytes N
  memclient.py download --port P --pid PID --mb N

upload streams N zero bytes to POST /upload (generated on the fly, with
Content-Length) and checks the JSON answer (size and sha256); download reads
GET /download?mb=N and counts the bytes, discarding them. While the transfer
runs, a thread samples every 100 ms the RSS (VmRSS) of PID (the hurricane Go
process) and of its child processes (the Python workers), and keeps the
maximum of each. Prints one JSON object; exits 1 if the transfer failed.
"""
import argparse
import hashlib
import http.client
import json
import os
import sys
import threading
import time

CHUNK = 1 << 20
ZEROS = bytes(CHUNK)


def rss_bytes(pid):
    """VmRSS of pid in bytes, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None  # kernel thread or zombie


def children(pid):
    kids = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    kids.update(int(k) for k in f.read().split())
            except FileNotFoundError:
                pass
    except FileNotFoundError:
        pass
    return sorted(kids)


class Sampler(threading.Thread):
    def __init__(self, pid, interval=0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop = threading.Event()
        self.max_go = 0
        self.max_worker = 0  # largest single worker process
        self.max_workers_total = 0  # largest sum over the worker processes
        self.workers_seen = set()
        self.samples = 0

    def sample(self):
        go = rss_bytes(self.pid)
        if go is not None:
            self.max_go = max(self.max_go, go)
        total = 0
        for kid in children(self.pid):
            r = rss_bytes(kid)
            if r is None:
                continue
            self.workers_seen.add(kid)
            total += r
            self.max_worker = max(self.max_worker, r)
        self.max_workers_total = max(self.max_workers_total, total)
        self.samples += 1

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)

    def finish(self):
        self.stop.set()
        self.join()
        self.sample()


def upload(conn, nbytes):
    # The expected digest, computed before the clock starts.
    digest = hashlib.sha256()
    for _ in range(nbytes // CHUNK):
        digest.update(ZEROS)
    digest.update(bytes(nbytes % CHUNK))
    expected = digest.hexdigest()

    def body():
        left = nbytes
        while left:
            n = min(left, CHUNK)
            yield ZEROS if n == CHUNK else ZEROS[:n]
            left -= n

    def transfer():
        conn.request("POST", "/upload", body=body(), headers={
            "Content-Type": "application/octet-stream",
            "Content-Length": str(nbytes),
        })
        resp = conn.getresponse()
        raw = resp.read()
        problems = []
        if resp.status != 200:
            problems.append(f"status {resp.status}: {raw[:500]!r}")
            return nbytes, problems
        answer = json.loads(raw)
        if answer.get("size") != nbytes:
            problems.append(f"server counted {answer.get('size')} bytes, sent {nbytes}")
        if answer.get("sha256") != expected:
            problems.append(f"sha256 mismatch: server {answer.get('sha256')}, expected {expected}")
        return nbytes, problems

    return transfer


def download(conn, mb):
    def transfer():
        conn.request("GET", f"/download?mb={mb}")
        resp = conn.getresponse()
        problems = []
        if resp.status != 200:
            problems.append(f"status {resp.status}: {resp.read(500)!r}")
            return 0, problems
        want = mb * CHUNK
        cl = resp.getheader("Content-Length")
        if cl != str(want):
            problems.append(f"Content-Length {cl!r}, expected {want}")
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        got = 0
        while True:
            n = resp.readinto(view)
            if not n:
                break
            got += n
        if got != want:
            problems.append(f"received {got} bytes, expected {want}")
        return got, problems

    return transfer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["upload", "download"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="pid of the hurricane (Go) process")
    ap.add_argument("--bytes", type=int, default=1 << 30, help="upload size")
    ap.add_argument("--mb", type=int, default=1024, help="download size in MiB")
    ap.add_argument("--timeout", type=float, default=120, help="socket timeout in seconds")
    args = ap.parse_args()

    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
    transfer = upload(conn, args.bytes) if args.mode == "upload" else download(conn, args.mb)

    idle = Sampler(args.pid)
    idle.sample()
    sampler = Sampler(args.pid)
    sampler.start()
    start = time.monotonic()
    try:
        nbytes, problems = transfer()
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        nbytes, problems = 0, [f"{type(exc).__name__}: {exc}"]
    duration = time.monotonic() - start
    sampler.finish()
    conn.close()

    print(json.dumps({
        "mode": args.mode,
        "bytes": nbytes,
        "duration_s": round(duration, 3),
        "mb_per_s": round(nbytes / duration / 1e6, 1) if duration > 0 else None,
        "idle_rss_go": idle.max_go,
        "idle_rss_worker": idle.max_worker,
        "max_rss_go": sampler.max_go,
        "max_rss_worker": sampler.max_worker,
        "max_rss_workers_total": sampler.max_workers_total,
        "workers": sorted(sampler.workers_seen),
        "samples": sampler.samples,
        "problems": problems,
    }))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
