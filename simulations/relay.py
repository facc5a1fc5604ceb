"""A delaying "wire": relays Ethernet frames between two interfaces of the wires
namespace with a per-direction delay ± jitter (this kernel has no sch_netem).

Run as ``python -m simulations.relay --a l0a --b l0b --delay-ab 80 --jitter-ab 10 ...``
inside the wires namespace; the lab tracks it by the PID it writes to ``--pidfile``.
Frames keep their order per direction (a release time never precedes the previous
one); each direction's queue is bounded (``--max-queue`` frames, excess dropped).
Offloads must be off on the link (done by ``faults``) so every frame is ≤ MTU and
fully checksummed.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
MAX_FRAME = 65536
READ_BURST = 256


@dataclass
class Direction:
    src: socket.socket
    dst: socket.socket
    delay: float
    jitter: float
    max_queue: int
    queue: collections.deque[tuple[float, bytes]] = field(default_factory=collections.deque)
    last_release: float = 0.0
    dropped: int = 0

    def release_time(self, now: float) -> float:
        wanted = (
            now + self.delay + (random.uniform(-self.jitter, self.jitter) if self.jitter else 0)
        )
        self.last_release = max(wanted, self.last_release, now)
        return self.last_release

    def take(self, now: float) -> None:
        for _ in range(READ_BURST):
            try:
                frame = self.src.recv(MAX_FRAME)
            except BlockingIOError:
                return
            if len(self.queue) >= self.max_queue:
                self.dropped += 1
                continue
            if self.delay <= 0 and self.jitter <= 0 and not self.queue:
                self._send(frame)
            else:
                self.queue.append((self.release_time(now), frame))

    def flush(self, now: float) -> None:
        while self.queue and self.queue[0][0] <= now:
            self._send(self.queue.popleft()[1])

    def next_due(self) -> float | None:
        return self.queue[0][0] if self.queue else None

    def _send(self, frame: bytes) -> None:
        try:
            self.dst.send(frame)
        except OSError:
            self.dropped += 1


def open_port(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    sock.bind((ifname, 0))
    sock.setblocking(False)
    return sock


def run(args: argparse.Namespace) -> int:
    a, b = open_port(args.a), open_port(args.b)
    dirs = [
        Direction(a, b, args.delay_ab / 1000, args.jitter_ab / 1000, args.max_queue),
        Direction(b, a, args.delay_ba / 1000, args.jitter_ba / 1000, args.max_queue),
    ]
    stop = [False]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.pidfile:
        Path(args.pidfile).write_text(f"{os.getpid()}\n", encoding="ascii")
    by_sock = {d.src.fileno(): d for d in dirs}
    while not stop[0]:
        now = time.monotonic()
        dues = [t for t in (d.next_due() for d in dirs) if t is not None]
        timeout = max(0.0, min(dues) - now) if dues else 0.5
        try:
            ready, _, _ = select.select([a, b], [], [], min(timeout, 0.5))
        except InterruptedError:
            continue
        now = time.monotonic()
        for sock in ready:
            by_sock[sock.fileno()].take(now)
        for d in dirs:
            d.flush(time.monotonic())
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulations.relay", description=__doc__)
    p.add_argument("--a", required=True, help="interface towards endpoint a")
    p.add_argument("--b", required=True, help="interface towards endpoint b")
    for d in ("ab", "ba"):
        p.add_argument(f"--delay-{d}", type=float, default=0.0, help="one-way delay, ms")
        p.add_argument(f"--jitter-{d}", type=float, default=0.0, help="± jitter, ms")
    p.add_argument("--max-queue", type=int, default=20000)
    p.add_argument("--pidfile")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run(parse(sys.argv[1:])))
