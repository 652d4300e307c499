#!/usr/bin/env python3
"""A user-space delay line between two network namespaces, and a plain TCP
stream to measure it.

    relay.py relay --ns-a C --addr-a 10.77.0.1 --ns-b S --addr-b 10.77.0.2 --delay-ms 25
    relay.py sink --bind 10.77.0.2 --port 5001        (run inside the server netns)
    relay.py send --host 10.77.0.2 --port 5001 --bytes N   (inside the client netns)

The kernels on the bench machines have no netem (nor fq), so the delay is made
here: one TUN device in each namespace, point-to-point addresses, and this
process moving every IP packet from one device to the other after holding it
for --delay-ms (so the round trip is twice that). TCP stays end to end between
the namespaces' own stacks; nothing is terminated or re-segmented. The delay is
constant, so each direction is a FIFO and packets are never reordered.

The devices get a 65000-byte MTU so a Python relay is never the bottleneck
(far fewer packets per byte); `send`/`sink` measure the ceiling this gives.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
MTU = 65000


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _tun_in(ns: str, dev: str, addr: str, peer: str) -> int:
    """Opens a TUN device created inside netns `ns` and configures it.

    The device is created by TUNSETIFF in whatever namespace the process is
    in, so the process enters `ns` for that call; the descriptor keeps
    working after it leaves. The device vanishes when the relay exits.
    """
    _setns(f"/run/netns/{ns}")
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    for cmd in (
        ["ip", "-n", ns, "link", "set", "lo", "up"],
        ["ip", "-n", ns, "addr", "add", addr, "peer", peer, "dev", dev],
        ["ip", "-n", ns, "link", "set", "dev", dev, "mtu", str(MTU), "txqueuelen", "10000", "up"],
    ):
        subprocess.run(cmd, check=True)
    return fd


def relay(args: argparse.Namespace) -> None:
    home = "/proc/self/ns/net"
    home_fd = os.open(home, os.O_RDONLY)
    ta = _tun_in(args.ns_a, args.dev, args.addr_a, args.addr_b)
    tb = _tun_in(args.ns_b, args.dev, args.addr_b, args.addr_a)
    # Back to where we started, so nothing else of ours lives in the test nets.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.setns(home_fd, CLONE_NEWNET)
    os.close(home_fd)
    delay = args.delay_ms / 1000.0
    other = {ta: tb, tb: ta}
    # Packets waiting to be written to each device, as (due time, bytes).
    queues: dict[int, collections.deque] = {ta: collections.deque(), tb: collections.deque()}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - now) if due else None
        readable, _, _ = select.select([ta, tb], [], [], timeout)
        for fd in readable:
            q = queues[other[fd]]
            while True:
                try:
                    pkt = os.read(fd, MTU + 64)
                except BlockingIOError:
                    break
                q.append((time.monotonic() + delay, pkt))
        now = time.monotonic()
        for fd, q in queues.items():
            while q and q[0][0] <= now:
                try:
                    os.write(fd, q[0][1])
                except BlockingIOError:
                    pass  # the device queue is full: drop, as a router would
                q.popleft()


def sink(args: argparse.Namespace) -> None:
    """Accepts streams of `uint64 length || bytes` and answers each with b"k"."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.bind, args.port))
    srv.listen(4)
    print("ready", flush=True)
    buf = bytearray(1 << 20)
    while True:
        conn, _ = srv.accept()
        with conn:
            hdr = b""
            while len(hdr) < 8:
                chunk = conn.recv(8 - len(hdr))
                if not chunk:
                    break
                hdr += chunk
            if len(hdr) < 8:
                continue
            left = struct.unpack(">Q", hdr)[0]
            while left:
                n = conn.recv_into(buf, min(left, len(buf)))
                if not n:
                    break
                left -= n
            if left == 0:
                conn.sendall(b"k")


def send(args: argparse.Namespace) -> None:
    """Sends --bytes and prints the wall seconds until the sink confirmed."""
    block = os.urandom(1 << 20)
    start = time.monotonic()
    with socket.create_connection((args.host, args.port), timeout=600) as s:
        s.sendall(struct.pack(">Q", args.bytes))
        left = args.bytes
        view = memoryview(block)
        while left:
            n = min(left, len(block))
            s.sendall(view[:n])
            left -= n
        if s.recv(1) != b"k":
            sys.exit("sink did not confirm the stream")
    print(f"{time.monotonic() - start:.6f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("relay")
    r.add_argument("--ns-a", required=True)
    r.add_argument("--addr-a", required=True)
    r.add_argument("--ns-b", required=True)
    r.add_argument("--addr-b", required=True)
    r.add_argument("--dev", default="wbtun0")
    r.add_argument("--delay-ms", type=float, default=25.0)
    k = sub.add_parser("sink")
    k.add_argument("--bind", required=True)
    k.add_argument("--port", type=int, default=5001)
    s = sub.add_parser("send")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, default=5001)
    s.add_argument("--bytes", type=int, required=True)
    args = ap.parse_args()
    {"relay": relay, "sink": sink, "send": send}[args.cmd](args)


if __name__ == "__main__":
    main()
