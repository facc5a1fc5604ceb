"""The lean SNMPv2c client: one UDP socket for every target, replies matched by source
address and request-id, BER done by :mod:`probes.ber`.

Why not pysnmp for v2c: measured on the national target count, pysnmp spends ~130 µs of
CPU per polled value (three quarters in pyasn1), ten times snmp_exporter. This client
encodes the one request it sends and decodes replies straight into ``(oid, tag, value)``
tuples (see bench/probes.py for the figures). pysnmp stays in use for SNMPv3.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from probes.ber import GETBULK, RESPONSE, BerError, Message, decode_message, encode_request

RCVBUF_BYTES = 8 * 1024 * 1024


def udp_socket(rcvbuf: int, bind: str) -> socket.socket:
    """The clients' one UDP socket: a large receive buffer (hundreds of agents answer
    at once), non-blocking, bound to an ephemeral port of ``bind``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, rcvbuf // 4)
        sock.setblocking(False)
        sock.bind((bind, 0))
    except OSError:
        sock.close()
        raise
    return sock


class SnmpTimeout(Exception):
    """No reply after every try."""


class MalformedReply(Exception):
    """A reply from the target that is not a usable SNMP response."""


@dataclass
class _Pending:
    future: asyncio.Future[Message]
    community: bytes


@dataclass
class Stats:
    sent: int = 0
    received: int = 0
    stray: int = 0  # datagrams from unknown sources or with unknown request-ids
    malformed: int = 0
    by_source: dict[tuple[str, int], int] = field(default_factory=dict)


Received = Callable[[bytes, tuple[str, int]], None]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, received: Received) -> None:
        self.received = received

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self.received(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.
        return


async def open_endpoint(rcvbuf: int, bind: str, received: Received) -> asyncio.DatagramTransport:
    """Both lean clients' one UDP endpoint: :func:`udp_socket`, replies to ``received``."""
    sock = udp_socket(rcvbuf, bind)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(received), sock=sock)
    return transport


class V2cClient:
    """Open with ``await client.open()`` inside the event loop (and the namespace) that
    will use it; ``close()`` when done."""

    def __init__(self, rcvbuf: int = RCVBUF_BYTES, bind: str = "0.0.0.0") -> None:
        self._rcvbuf = rcvbuf
        self._bind = bind
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: dict[tuple[str, int], dict[int, _Pending]] = {}
        self._next_id = random.randrange(1, 1 << 30)
        self.stats = Stats()

    async def open(self) -> None:
        received = lambda data, source: self._received(data, source)  # noqa: E731 (late-bound)
        self._transport = await open_endpoint(self._rcvbuf, self._bind, received)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for waiters in self._waiting.values():
            for pending in waiters.values():
                if not pending.future.done():
                    pending.future.cancel()
        self._waiting.clear()

    def _new_id(self) -> int:
        self._next_id = self._next_id + 1 if self._next_id < (1 << 31) - 1 else 1
        return self._next_id

    def _received(self, data: bytes, source: tuple[str, int]) -> None:
        self.stats.received += 1
        waiters = self._waiting.get(source)
        if not waiters:
            self.stats.stray += 1
            return
        try:
            message = decode_message(data)
        except BerError as exc:
            self.stats.malformed += 1
            if len(waiters) == 1:  # the only question this source was asked
                (pending,) = waiters.values()
                if not pending.future.done():
                    pending.future.set_exception(MalformedReply(f"malformed reply: {exc}"))
            return
        pending_or_none = waiters.get(message.request_id)
        if pending_or_none is None:
            self.stats.stray += 1
            return
        if pending_or_none.future.done():
            return
        if message.pdu != RESPONSE or message.community != pending_or_none.community:
            problem = "not a Response PDU" if message.pdu != RESPONSE else "community mismatch"
            pending_or_none.future.set_exception(MalformedReply(f"malformed reply: {problem}"))
            return
        pending_or_none.future.set_result(message)

    async def bulk(
        self,
        address: tuple[str, int],
        community: bytes,
        non_repeaters: int,
        max_repetitions: int,
        oids: list[bytes],
        timeout: float,
        retries: int,
    ) -> Message:
        """One GETBULK exchange: send, wait ``timeout``, resend up to ``retries`` times."""
        transport = self._transport
        if transport is None:
            raise RuntimeError("V2cClient is not open")
        loop = asyncio.get_running_loop()
        request_id = self._new_id()
        packet = encode_request(
            community, GETBULK, request_id, non_repeaters, max_repetitions, oids
        )
        waiters = self._waiting.setdefault(address, {})
        future: asyncio.Future[Message] = loop.create_future()
        waiters[request_id] = _Pending(future, community)
        try:
            for _ in range(retries + 1):
                transport.sendto(packet, address)
                self.stats.sent += 1
                done = await asyncio.wait({future}, timeout=timeout)
                if done[0]:
                    return future.result()
            raise SnmpTimeout(f"no reply after {retries + 1} tries of {timeout:g} s")
        finally:
            waiters.pop(request_id, None)
            if not waiters:
                self._waiting.pop(address, None)
            if not future.done():
                future.cancel()
