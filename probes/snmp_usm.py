"""The lean SNMPv3 client: USM (:mod:`probes.usm`) on the lean BER codec, one UDP socket for
every target, replies matched by source address and msgID.

Why not pysnmp for v3: it spends ~150 µs of CPU per polled value and its message cache
grows over time (bench/probes.py). This client keeps, per agent, only its engine ID,
boots and time (discovered once, RFC 3414 4), and per (engine, profile) the localised
keys; the expensive pass-phrase hash is done once per pass phrase. Report PDUs are
handled — notInTimeWindow resynchronises the clock, unknownEngineID rediscovers — and
counted by reason in :attr:`UsmClient.stats`; the others (wrongDigest, unknownUserName,
unsupportedSecLevel, decryptionError) fail that target with the reason.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from probes.ber import (
    GET,
    GETBULK,
    OCTET_STRING,
    REPORT,
    RESPONSE,
    BerError,
    VarBind,
    encode_pdu,
    tlv,
)
from probes.credentials import SnmpCredentials
from probes.snmp_v2c import RCVBUF_BYTES, MalformedReply, SnmpTimeout, open_endpoint
from probes.snmp_v3 import SnmpAgentError
from probes.usm import (
    AUTH_PROTOCOLS,
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    PRIV_PROTOCOLS,
    AuthProtocol,
    Incoming,
    PrivProtocol,
    Scoped,
    Security,
    UsmError,
    decode_message,
    decode_scoped,
    decrypt,
    encode_message,
    encrypt,
    hash_passphrase,
    localize,
    peek_msg_id,
    priv_key,
    report_reason,
    scoped_pdu,
    verify,
)

MAX_CACHED_KEYS = 65_536  # (engine, profile) pairs; cleared beyond (targets × profiles)
_MAX_RESYNC = 2  # a notInTimeWindow / unknownEngineID report is answered at most this often


def lean_supports(creds: SnmpCredentials) -> bool:
    """Whether this client can poll with these credentials (else pysnmp does: DES)."""
    if creds.version != "3" or creds.auth_protocol not in AUTH_PROTOCOLS:
        return False
    return creds.level != "authPriv" or creds.priv_protocol in PRIV_PROTOCOLS


@dataclass
class _Engine:
    engine_id: bytes
    boots: int
    time: int
    at: float  # monotonic clock when ``time`` was learnt

    def now(self) -> int:
        return min(self.time + int(time.monotonic() - self.at), 2**31 - 1)

    def learn(self, boots: int, engine_time: int) -> None:
        """RFC 3414 3.2.7 b: keep the latest boots/time an authentic message carried."""
        if boots > self.boots or (boots == self.boots and engine_time > self.now()):
            self.boots, self.time, self.at = boots, engine_time, time.monotonic()


@dataclass(frozen=True)
class _Keys:
    auth: AuthProtocol
    auth_key: bytes
    priv: PrivProtocol | None
    priv_key: bytes


@dataclass
class UsmStats:
    sent: int = 0
    received: int = 0
    stray: int = 0  # datagrams from unknown sources or with unknown msgIDs
    malformed: int = 0
    discoveries: int = 0
    reports: Counter[str] = field(default_factory=Counter)  # by usmStats reason


class UsmClient:
    """Open with ``await client.open()`` inside the event loop (and the namespace) that
    will use it; ``close()`` when done."""

    def __init__(self, rcvbuf: int = RCVBUF_BYTES, bind: str = "0.0.0.0") -> None:
        self._rcvbuf = rcvbuf
        self._bind = bind
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: dict[tuple[tuple[str, int], int], asyncio.Future[bytes]] = {}
        self._engines: dict[tuple[str, int], _Engine] = {}
        self._ku: dict[tuple[str, str], bytes] = {}
        self._keys: dict[tuple[bytes, SnmpCredentials], _Keys] = {}
        self._next_id = random.randrange(1, 1 << 30)
        self._salt = random.getrandbits(64)
        self.stats = UsmStats()

    async def open(self) -> None:
        received = lambda data, source: self._received(data, source)  # noqa: E731 (late-bound)
        self._transport = await open_endpoint(self._rcvbuf, self._bind, received)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for future in self._waiting.values():
            if not future.done():
                future.cancel()
        self._waiting.clear()

    # --- wire ----------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id = self._next_id + 1 if self._next_id < (1 << 31) - 1 else 1
        return self._next_id

    def _new_salt(self) -> bytes:
        self._salt = (self._salt + 1) & 0xFFFFFFFFFFFFFFFF
        return self._salt.to_bytes(8, "big")

    def _received(self, data: bytes, source: tuple[str, int]) -> None:
        self.stats.received += 1
        msg_id = peek_msg_id(data)
        future = self._waiting.get((source, msg_id)) if msg_id is not None else None
        if future is None:
            self.stats.stray += 1
            return
        if not future.done():
            future.set_result(data)

    async def _exchange(
        self, address: tuple[str, int], msg_id: int, packet: bytes, timeout: float, retries: int
    ) -> bytes:
        transport = self._transport
        if transport is None:
            raise RuntimeError("UsmClient is not open")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        key = (address, msg_id)
        self._waiting[key] = future
        try:
            for _ in range(retries + 1):
                transport.sendto(packet, address)
                self.stats.sent += 1
                done, _pending = await asyncio.wait({future}, timeout=timeout)
                if done:
                    return future.result()
            raise SnmpTimeout(f"no reply after {retries + 1} tries of {timeout:g} s")
        finally:
            self._waiting.pop(key, None)
            if not future.done():
                future.cancel()

    def _decode(self, raw: bytes) -> Incoming:
        try:
            return decode_message(raw)
        except BerError as exc:
            self.stats.malformed += 1
            raise MalformedReply(f"malformed reply: {exc}") from None

    # --- engines and keys ------------------------------------------------------------

    async def _discover(self, address: tuple[str, int], timeout: float, retries: int) -> _Engine:
        """RFC 3414 4: an empty noAuthNoPriv request; the Report names the engine."""
        self.stats.discoveries += 1
        msg_id = self._new_id()
        pdu = encode_pdu(GET, self._new_id(), 0, 0, [])
        packet = encode_message(
            msg_id, FLAG_REPORTABLE, Security(b"", 0, 0, b""), scoped_pdu(b"", pdu)
        )
        incoming = self._decode(await self._exchange(address, msg_id, packet, timeout, retries))
        if incoming.flags & FLAG_PRIV:
            raise MalformedReply("malformed reply: discovery answered encrypted")
        scoped = self._scoped(incoming.data)
        if scoped.pdu.pdu != REPORT or not 5 <= len(incoming.engine_id) <= 32:
            raise MalformedReply("malformed reply: engine discovery got no usable Report")
        engine = _Engine(incoming.engine_id, incoming.boots, incoming.time, time.monotonic())
        self._engines[address] = engine
        return engine

    def _keys_for(self, engine_id: bytes, creds: SnmpCredentials) -> _Keys:
        cached = self._keys.get((engine_id, creds))
        if cached is not None:
            return cached
        auth = AUTH_PROTOCOLS[creds.auth_protocol]
        priv = PRIV_PROTOCOLS[creds.priv_protocol] if creds.level == "authPriv" else None
        try:
            auth_key = localize(self._hashed(auth, creds.auth_key), engine_id, auth)
            pkey = b""
            if priv is not None:
                pkey = priv_key(self._hashed(auth, creds.priv_key), engine_id, auth, priv)
        except UsmError as exc:
            raise SnmpAgentError(f"profile {creds.profile}: {exc}") from None
        if len(self._keys) >= MAX_CACHED_KEYS:
            self._keys.clear()
        keys = _Keys(auth, auth_key, priv, pkey)
        self._keys[(engine_id, creds)] = keys
        return keys

    def _hashed(self, auth: AuthProtocol, phrase: str) -> bytes:
        key = (auth.name, phrase)
        ku = self._ku.get(key)
        if ku is None:
            ku = hash_passphrase(phrase.encode(), auth)
            self._ku[key] = ku
        return ku

    def _scoped(self, data: bytes) -> Scoped:
        try:
            return decode_scoped(data)
        except BerError as exc:
            self.stats.malformed += 1
            raise MalformedReply(f"malformed reply: {exc}") from None

    # --- requests --------------------------------------------------------------------

    def _encode(
        self, msg_id: int, engine: _Engine, creds: SnmpCredentials, keys: _Keys, pdu: bytes
    ) -> bytes:
        security = Security(engine.engine_id, engine.boots, engine.now(), creds.user.encode())
        data = scoped_pdu(engine.engine_id, pdu, creds.context.encode())
        flags = FLAG_REPORTABLE | FLAG_AUTH
        salt = b""
        if keys.priv is not None:
            flags |= FLAG_PRIV
            salt = self._new_salt()
            cipher = encrypt(keys.priv_key, security.boots, security.time, salt, data)
            data = tlv(OCTET_STRING, cipher)
        return encode_message(msg_id, flags, security, data, keys.auth, keys.auth_key, salt)

    def _open_reply(self, incoming: Incoming, keys: _Keys) -> Scoped:
        """Authenticate and decrypt a reply to an authenticated request."""
        if not incoming.flags & FLAG_AUTH:
            return self._scoped(incoming.data)  # only a Report may come unauthenticated
        try:
            verify(incoming, keys.auth, keys.auth_key)
            data = incoming.data
            if incoming.flags & FLAG_PRIV:
                if keys.priv is None:
                    raise UsmError("encrypted reply to an unencrypted request")
                data = decrypt(keys.priv_key, incoming.boots, incoming.time, incoming.salt, data)
        except UsmError as exc:
            self.stats.malformed += 1
            raise MalformedReply(f"malformed reply: {exc}") from None
        return self._scoped(data)

    async def bulk(
        self,
        address: tuple[str, int],
        creds: SnmpCredentials,
        non_repeaters: int,
        max_repetitions: int,
        oids: list[bytes],
        timeout: float,
        retries: int,
    ) -> list[VarBind]:
        """One authenticated (and, for authPriv, encrypted) GETBULK exchange."""
        engine = self._engines.get(address) or await self._discover(address, timeout, retries)
        for _ in range(_MAX_RESYNC + 1):
            keys = self._keys_for(engine.engine_id, creds)
            msg_id, request_id = self._new_id(), self._new_id()
            pdu = encode_pdu(GETBULK, request_id, non_repeaters, max_repetitions, oids)
            packet = self._encode(msg_id, engine, creds, keys, pdu)
            incoming = self._decode(await self._exchange(address, msg_id, packet, timeout, retries))
            scoped = self._open_reply(incoming, keys)
            authentic = bool(incoming.flags & FLAG_AUTH)
            if scoped.pdu.pdu == REPORT:
                reason = report_reason(scoped.pdu)
                self.stats.reports[reason] += 1
                if reason == "notInTimeWindow" and authentic:
                    engine.boots, engine.time = incoming.boots, incoming.time
                    engine.at = time.monotonic()
                    continue
                if reason == "unknownEngineID":  # the agent was replaced or re-keyed
                    engine = await self._discover(address, timeout, retries)
                    continue
                raise SnmpAgentError(f"agent refused the request: {reason}")
            if not authentic:
                raise MalformedReply("malformed reply: unauthenticated response")
            if scoped.pdu.pdu != RESPONSE or scoped.pdu.request_id != request_id:
                raise MalformedReply("malformed reply: not the Response to this request")
            if incoming.engine_id != engine.engine_id:
                raise MalformedReply("malformed reply: from another SNMP engine")
            engine.learn(incoming.boots, incoming.time)
            if scoped.pdu.error_status:
                raise SnmpAgentError(
                    f"agent error {scoped.pdu.error_status} at varbind {scoped.pdu.error_index}"
                )
            return scoped.pdu.varbinds
        raise SnmpAgentError("agent keeps reporting its clock out of the time window")
