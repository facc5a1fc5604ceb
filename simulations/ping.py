"""ICMP echo from inside a namespace with an unprivileged ICMP datagram socket
(the lab sets ``net.ipv4.ping_group_range`` in every namespace). No ping binary needed."""

from __future__ import annotations

import select
import socket
import struct
import time
from dataclasses import dataclass, field

from simulations.netns import netns_socket


@dataclass
class PingResult:
    address: str
    sent: int = 0
    received: int = 0
    rtts_ms: list[float] = field(default_factory=list)

    @property
    def loss_pct(self) -> float:
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 100.0

    @property
    def avg_ms(self) -> float | None:
        return sum(self.rtts_ms) / len(self.rtts_ms) if self.rtts_ms else None


def ping(
    netns: str,
    address: str,
    count: int = 3,
    interval: float = 0.2,
    timeout: float = 1.0,
    payload: int = 56,
) -> PingResult:
    """Send ``count`` echo requests ``interval`` s apart, wait ``timeout`` s for the last."""
    result = PingResult(address)
    sock = netns_socket(netns, socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    try:
        sock.setblocking(False)
        sent_at: dict[int, float] = {}
        next_send = time.monotonic()
        deadline = next_send + max(0, count - 1) * interval + timeout
        seq = 0
        body = bytes(payload)
        while True:
            now = time.monotonic()
            if seq < count and now >= next_send:
                header = struct.pack("!BBHHH", 8, 0, 0, 0, seq)
                try:
                    sock.sendto(header + body, (address, 0))
                    sent_at[seq] = now
                except OSError:
                    pass  # unreachable: counted as lost
                result.sent += 1
                seq += 1
                next_send += interval
                continue
            if now >= deadline or (seq >= count and not sent_at):
                break
            wait = min(next_send - now if seq < count else deadline - now, deadline - now)
            ready, _, _ = select.select([sock], [], [], max(0.0, wait))
            if not ready:
                continue
            for _ in range(64):
                try:
                    data = sock.recv(2048)
                except (BlockingIOError, OSError):
                    break
                if len(data) < 8 or data[0] != 0:
                    continue
                rseq = struct.unpack("!H", data[6:8])[0]
                start = sent_at.pop(rseq, None)
                if start is not None:
                    result.received += 1
                    result.rtts_ms.append((time.monotonic() - start) * 1000)
    finally:
        sock.close()
    return result
