"""Device logins and SNMP authentication failures as security events: a syslog receiver
(RFC 5424 and RFC 3164, over UDP and TCP) that turns the routers' log lines into counters.

- Parsing (:func:`parse`) is pure and strict about the frame: ``<PRI>`` first, a known
  format after it, every message at most :data:`MAX_MESSAGE` bytes. Anything else is
  counted as malformed (or oversize) and dropped — never an exception out of the receiver.
- Logins (:func:`login_event`): OpenSSH's ``Accepted …``/``Failed …`` lines (which also
  cover FRR's vtysh, the routers' login shell). PAM's duplicate lines are not counted.
- SNMP authentication failures (:func:`snmp_auth_event`): the address of the request
  whose community or v3 key was wrong, as the device logs it — the lab's snmpd through
  its relay (``SNMP authentication failure: request from ADDR port PORT``, see
  :mod:`simulations.logrelay`), Cisco IOS ``%SNMP-3-AUTHFAIL: Authentication failure for
  SNMP req from host ADDR``. The authenticationFailure notification itself names no
  requester; this line does.
- Each datagram or TCP frame is mapped to a device by its source address (the device's
  management or loopback address), as traps are; the login's or request's own source
  address is kept as a label, bounded per device and kind (:data:`MAX_SOURCES`, then
  ``other``) so a scan — or a flood of spoofed requests — cannot grow the series without
  limit, with its zone: ``management`` when inside the inventory's management prefixes,
  else ``outside``.
- TCP: RFC 6587 octet counting (``LEN SP MSG``) or newline framing, at most
  :data:`MAX_CONNECTIONS` connections, each closed after :data:`IDLE_SECONDS` of silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from probes.model import Target

MAX_MESSAGE = 8192
MAX_SOURCES = 64  # distinct sources kept per device and kind; more are counted as "other"
OTHER = "other"
MAX_CONNECTIONS = 64
IDLE_SECONDS = 60.0
UNKNOWN = "unknown"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_RFC3164_TIME = re.compile(r"^[A-Z][a-z]{2} [ 0-3]\d \d\d:\d\d:\d\d ")
_TAG = re.compile(r"^(?P<app>[^\s\[:]{1,48})(?:\[(?P<pid>\d{1,10})\])?: ?")
_SSHD = frozenset({"sshd", "sshd-session"})
_ACCEPTED = re.compile(
    r"^Accepted (?:password|publickey|keyboard-interactive/pam|gssapi-with-mic) for "
    r"(?P<user>\S{1,64}) from (?P<source>[0-9A-Fa-f:.]{2,45}) port \d{1,5}"
)
_FAILED = re.compile(
    r"^Failed (?:password|publickey|keyboard-interactive/pam|none) for (?:invalid user )?"
    r"(?P<user>\S{1,64}) from (?P<source>[0-9A-Fa-f:.]{2,45}) port \d{1,5}"
)

_SNMP_APPS = frozenset({"snmpd"})
_SNMPD_AUTH = re.compile(
    r"^SNMP authentication failure: request from (?P<source>[0-9A-Fa-f:.]{2,45}) port \d{1,5}$"
)
_IOS_SNMP_AUTH = re.compile(
    r"%SNMP-3-AUTHFAIL: Authentication failure for SNMP req(?:uest)? from host "
    r"(?P<source>[0-9A-Fa-f:.]{2,45})\b"
)


class SyslogError(ValueError):
    """Not a syslog message (the text says why)."""


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    facility: int
    severity: int
    hostname: str
    app: str
    text: str
    format: str  # "5424" or "3164"


@dataclass(frozen=True, slots=True)
class LoginEvent:
    result: str  # "success" or "failure"
    user: str
    source: str


def _clean(text: str) -> str:
    return _CONTROL.sub("", text).strip()


def _priority(data: bytes) -> tuple[int, int]:
    end = data.find(b">", 0, 5)
    if not data.startswith(b"<") or end < 2 or not data[1:end].isdigit():
        raise SyslogError("no <PRI> at the start")
    pri = int(data[1:end])
    if pri > 191:
        raise SyslogError(f"PRI {pri} out of range")
    return pri, end + 1


def _structured_data_end(rest: str) -> int:
    """Where RFC 5424 STRUCTURED-DATA ends (``-`` or one or more ``[…]``)."""
    if rest.startswith("-"):
        return 1
    i = 0
    while i < len(rest) and rest[i] == "[":
        i += 1
        while i < len(rest) and rest[i] != "]":
            i += 2 if rest[i] == "\\" else 1
        if i >= len(rest):
            raise SyslogError("unterminated structured data")
        i += 1
    if i == 0:
        raise SyslogError("no structured data")
    return i


def parse(data: bytes) -> SyslogMessage:
    """One syslog message (a datagram, or a TCP frame without its framing)."""
    if len(data) > MAX_MESSAGE:
        raise SyslogError(f"message of {len(data)} bytes (at most {MAX_MESSAGE})")
    pri, at = _priority(data)
    facility, severity = divmod(pri, 8)
    body = data[at:].rstrip(b"\r\n")
    if body.startswith(b"1 "):  # RFC 5424
        text = body[2:].decode("utf-8", "replace")
        parts = text.split(" ", 5)
        if len(parts) < 6:
            raise SyslogError("RFC 5424 header incomplete")
        _timestamp, hostname, app, _procid, _msgid, rest = parts
        end = _structured_data_end(rest)
        message = rest[end:].lstrip(" ").removeprefix("\ufeff")
        return SyslogMessage(
            facility,
            severity,
            "" if hostname == "-" else _clean(hostname)[:255],
            "" if app == "-" else _clean(app)[:48],
            _clean(message),
            "5424",
        )
    text = body.decode("utf-8", "replace")
    if _RFC3164_TIME.match(text):
        text = text[16:]
        hostname, _, text = text.partition(" ")
    else:
        hostname = ""  # a relay-less device may omit both (RFC 3164 4.3.3)
    tag = _TAG.match(text)
    if tag is None:
        raise SyslogError("RFC 3164 message without a tag")
    return SyslogMessage(
        facility, severity, _clean(hostname)[:255], tag["app"], _clean(text[tag.end() :]), "3164"
    )


def login_event(message: SyslogMessage) -> LoginEvent | None:
    """The sshd login a message reports, if it reports one."""
    if message.app not in _SSHD:
        return None
    for result, pattern in (("success", _ACCEPTED), ("failure", _FAILED)):
        match = pattern.match(message.text)
        if match:
            try:
                source = str(ipaddress.ip_address(match["source"]))
            except ValueError:
                return None
            return LoginEvent(result, match["user"], source)
    return None


def snmp_auth_event(message: SyslogMessage) -> str | None:
    """The address of the SNMP request whose authentication failed, if the message is a
    device's line saying so."""
    match = _SNMPD_AUTH.match(message.text) if message.app in _SNMP_APPS else None
    match = match or _IOS_SNMP_AUTH.search(message.text)
    if match is None:
        return None
    try:
        return str(ipaddress.ip_address(match["source"]))
    except ValueError:
        return None


@dataclass(frozen=True)
class SnmpAuthRecord:
    """One SNMP request refused for a wrong community or v3 key, and who sent it."""

    time: float
    device: str
    site: str
    province: str
    source: str
    zone: str


@dataclass(frozen=True)
class LoginRecord:
    time: float
    device: str
    site: str
    province: str
    result: str
    user: str
    source: str
    zone: str


class LoginStore:
    """Counters and the last ``keep`` login events; safe to read from the HTTP threads."""

    def __init__(
        self,
        targets: Iterable[Target] = (),
        management: Iterable[str] = (),
        keep: int = 1000,
    ) -> None:
        self._lock = threading.Lock()
        self._by_address: dict[str, Target] = {}
        for target in targets:
            self._by_address.setdefault(target.snmp_address, target)
            self._by_address.setdefault(target.icmp_address, target)
        self._management = [ipaddress.ip_network(p, strict=False) for p in management]
        self._logins: Counter[tuple[str, str, str, str, str, str]] = Counter()
        self._created: dict[tuple[str, str, str, str, str, str], float] = {}
        self._sources: dict[tuple[str, str], set[str]] = {}
        self._messages: Counter[str] = Counter()
        self._events: deque[LoginRecord] = deque(maxlen=max(1, keep))
        self._snmp_auth: Counter[tuple[str, str, str, str]] = Counter()
        self._snmp_created: dict[tuple[str, str, str, str], float] = {}
        self._snmp_events: deque[SnmpAuthRecord] = deque(maxlen=max(1, keep))
        self.dirty = False  # a record the traps file does not show yet

    def zone(self, source: str) -> str:
        address = ipaddress.ip_address(source)
        return "management" if any(address in net for net in self._management) else "outside"

    def _bounded(self, device: str, kind: str, source: str) -> str:
        """``source``, or ``other`` once the device has :data:`MAX_SOURCES` others of
        this kind (under the lock)."""
        seen = self._sources.setdefault((device, kind), set())
        if source not in seen:
            if len(seen) >= MAX_SOURCES:
                return OTHER
            seen.add(source)
        return source

    def received(self, data: bytes, sender: str) -> LoginRecord | SnmpAuthRecord | None:
        """Count one datagram or frame from ``sender``; the login or SNMP authentication
        failure it reports, if any."""
        try:
            message = parse(data)
        except SyslogError as exc:
            self._count("oversize" if "at most" in str(exc) else "malformed")
            return None
        target = self._by_address.get(sender)
        if target is None:
            self._count("unknown_sender")
            return None
        self._count("ok")
        event = login_event(message)
        if event is None:
            return self._snmp_auth_failure(message, target)
        record = LoginRecord(
            time.time(),
            target.name,
            target.site,
            target.province,
            event.result,
            event.user[:64],
            event.source,
            self.zone(event.source),
        )
        with self._lock:
            source = self._bounded(target.name, "login", record.source)
            key = (record.device, record.site, record.province, record.result, source)
            self._logins[(*key, record.zone)] += 1
            self._created.setdefault((*key, record.zone), record.time)
            self._events.append(record)
        return record

    def _snmp_auth_failure(self, message: SyslogMessage, target: Target) -> SnmpAuthRecord | None:
        source = snmp_auth_event(message)
        if source is None:
            return None
        record = SnmpAuthRecord(
            time.time(), target.name, target.site, target.province, source, self.zone(source)
        )
        with self._lock:
            label = self._bounded(target.name, "snmp", source)
            key = (record.device, record.site, record.province, label)
            self._snmp_auth[key] += 1
            self._snmp_created.setdefault(key, record.time)
            self._snmp_events.append(record)
            self.dirty = True
        return record

    def snmp_auth_failures(self) -> dict[tuple[str, str, str, str], tuple[int, float]]:
        """(device, site, province, source) → (count, time of the first)."""
        with self._lock:
            return {k: (n, self._snmp_created[k]) for k, n in self._snmp_auth.items()}

    def snmp_auth_events(self) -> list[dict[str, Any]]:
        """The last SNMP authentication failures, each naming its requester."""
        with self._lock:
            return [asdict(e) for e in self._snmp_events]

    def dropped(self, outcome: str) -> None:
        """Count a message the receiver dropped before parsing (``oversize``)."""
        self._count(outcome)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self._messages[outcome] += 1

    def logins(self) -> dict[tuple[str, str, str, str, str, str], int]:
        with self._lock:
            return dict(self._logins)

    def created(self) -> dict[tuple[str, str, str, str, str, str], float]:
        """When each login series counted its first event (its ``_created``)."""
        with self._lock:
            return dict(self._created)

    def messages(self) -> dict[str, int]:
        with self._lock:
            return dict(self._messages)

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(e) for e in self._events]


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, store: LoginStore) -> None:
        self.store = store

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.store.received(data, str(addr[0]))

    def error_received(self, exc: Exception) -> None:
        return


class SyslogReceiver:
    """UDP and TCP on the same ``listen`` address, in the event loop (and namespace) it
    is opened in."""

    def __init__(self, store: LoginStore, listen: tuple[str, int]) -> None:
        self.store = store
        self.listen = listen
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(self.store), local_addr=self.listen
        )
        self._tcp = await asyncio.start_server(
            self._connection, self.listen[0], self.listen[1], limit=MAX_MESSAGE + 16
        )

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or len(self._connections) >= MAX_CONNECTIONS:
            writer.close()
            return
        self._connections.add(task)
        sender = str(writer.get_extra_info("peername")[0])
        try:
            while True:
                frame = await asyncio.wait_for(self._frame(reader), IDLE_SECONDS)
                if frame is None:
                    break
                self.store.received(frame, sender)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, SyslogError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _frame(self, reader: asyncio.StreamReader) -> bytes | None:
        """One frame: RFC 6587 octet counting (``LEN SP MSG``) or a line."""
        first = await reader.read(1)
        if not first:
            return None
        if first.isdigit():
            digits = first + await reader.readuntil(b" ")
            size = int(digits[:-1]) if digits[:-1].isdigit() and len(digits) <= 7 else -1
            if not 0 < size <= MAX_MESSAGE:
                self.store.dropped("oversize")
                raise SyslogError("bad octet count")
            return await reader.readexactly(size)
        try:
            return first + await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            self.store.dropped("oversize")
            raise SyslogError("line too long") from None
