"""SNMP notifications: v2c traps and v3 informs, counted per site and kept for the SOC.

The receiver (pysnmp's notification receiver — traps are rare, its CPU cost does not
matter here) accepts the communities and v3 users of the inventory's SNMP profiles and
drops anything else. Each notification is mapped to a device by its source address
(SNMP or ICMP address of a target) and counted as
``govnet_snmp_traps_total{site,province,trap}``; authenticationFailure traps are also
counted per device in ``govnet_snmp_auth_failure_traps_total{device,site,province}`` —
the notification names no requester (net-snmp's carries none): who sent the refused
request comes from the device's log (:mod:`probes.syslog`,
``govnet_snmp_auth_failures_total{…,source}``). linkUp/linkDown set the interface's trap state,
``govnet_if_trap_oper_up{device,ifname}`` (from the ifDescr/ifAdminStatus/ifOperStatus
the notification carries; an admin-down interface counts as up), until a poll that began
:data:`RECONCILE_AFTER` seconds after the trap says otherwise — so a lost linkUp does not
leave an interface down for ever. The last N events stay in a bounded deque, served at
``/traps`` and written (atomically) to a JSON file for ``govnet probe traps``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from controller.io import atomic_write_text
from probes.credentials import SnmpCredentials
from probes.model import Cycle, Target, TrapEvent
from probes.snmp_v3 import AUTH_PROTOCOLS, PRIV_PROTOCOLS

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
TRAP_NAMES = {
    "1.3.6.1.6.3.1.1.5.1": "coldStart",
    "1.3.6.1.6.3.1.1.5.2": "warmStart",
    "1.3.6.1.6.3.1.1.5.3": "linkDown",
    "1.3.6.1.6.3.1.1.5.4": "linkUp",
    "1.3.6.1.6.3.1.1.5.5": "authenticationFailure",
}
IF_INDEX = "1.3.6.1.2.1.2.2.1.1."
IF_DESCR = "1.3.6.1.2.1.2.2.1.2."
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7."
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8."
MAX_DETAIL = 8
MAX_INTERFACES = 4096  # interface trap states kept (a bound against a flood of names)
RECONCILE_AFTER = 5.0  # seconds: polls that began this long after a trap overrule it
UNKNOWN = "unknown"
RECEIVER_ENGINE_ID = bytes.fromhex("80001f8804") + b"govnet-traps"
"""The SNMP engine ID of govnet's notification receiver (RFC 3411 text format under
net-snmp's enterprise number 8072; govnet has none of its own). A v3 inform goes to an
authoritative receiver, so an agent that does not know the receiver's engine ID discovers
it first — net-snmp's snmpd does so synchronously and serves no request until the
discovery is answered or times out (6.1 s with ``-r 2 -t 2``, measured; again at
shutdown). Agents given this ID (net-snmp ``trapsess -e``, IOS ``snmp-server engineID
remote``) skip the discovery: snmpd then answers 0.1 s after it starts."""
IfKey = tuple[str, str, str, str]  # device, site, province, ifname
AuthKey = tuple[str, str, str]  # device, site, province


def interface_state(binds: list[tuple[str, str]]) -> tuple[str, bool] | None:
    """(ifname, oper up) of a linkUp/linkDown's varbinds; None without an ifDescr or an
    ifOperStatus. Admin-down counts as up: nobody needs an alert for it."""
    name = next((v for k, v in binds if k.startswith(IF_DESCR)), None)
    oper = next((v for k, v in binds if k.startswith(IF_OPER_STATUS)), None)
    admin = next((v for k, v in binds if k.startswith(IF_ADMIN_STATUS)), "1")
    if not name or oper is None:
        return None
    return name[:64], not (oper.strip() in ("2", "down") and admin.strip() in ("1", "up"))


def polled_interfaces(cycle: Cycle) -> dict[tuple[str, str], bool]:
    """(device, ifname) → up (or admin down), as a cycle's SNMP polls saw them."""
    out: dict[tuple[str, str], bool] = {}
    for device, result in cycle.snmp.items():
        if not result.ok:
            continue
        for interface in result.interfaces:
            if interface.oper_up is not None:
                out[(device, interface.name)] = interface.oper_up or interface.admin_up is False
    return out


class TrapStore:
    """Counters and the last ``keep`` events; safe to read from the HTTP threads."""

    def __init__(self, targets: Iterable[Target] = (), keep: int = 1000) -> None:
        self._lock = threading.Lock()
        self._events: deque[TrapEvent] = deque(maxlen=max(1, keep))
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._auth: Counter[AuthKey] = Counter()
        self._created: dict[AuthKey, float] = {}
        self._interfaces: dict[IfKey, tuple[bool, float]] = {}
        self.dirty = False
        self._by_address: dict[str, Target] = {}
        for target in targets:
            self._by_address.setdefault(target.snmp_address, target)
            self._by_address.setdefault(target.icmp_address, target)

    def event(self, source: str, oid: str, version: str, binds: list[tuple[str, str]]) -> TrapEvent:
        """Record one notification from ``source`` and return the event."""
        target = self._by_address.get(source)
        detail = {k: v[:200] for k, v in binds[:MAX_DETAIL] if k != SNMP_TRAP_OID}
        event = TrapEvent(
            time=time.time(),
            source=source,
            device=target.name if target else UNKNOWN,
            site=target.site if target else UNKNOWN,
            province=target.province if target else UNKNOWN,
            trap=TRAP_NAMES.get(oid, "other"),
            oid=oid,
            version=version,
            detail=detail,
        )
        with self._lock:
            self._events.append(event)
            self._counts[(event.site, event.province, event.trap)] += 1
            if event.trap == "authenticationFailure":
                where = (event.device, event.site, event.province)
                self._auth[where] += 1
                self._created.setdefault(where, event.time)
            state = interface_state(binds) if event.trap in ("linkUp", "linkDown") else None
            if state is not None and target is not None:
                key = (event.device, event.site, event.province, state[0])
                if key in self._interfaces or len(self._interfaces) < MAX_INTERFACES:
                    self._interfaces[key] = (state[1], event.time)
            self.dirty = True
        return event

    def reconcile(self, started: float, polled: dict[tuple[str, str], bool]) -> None:
        """A poll that began at ``started`` saw ``polled[(device, ifname)]`` (oper up and
        admin up, or admin down): it overrules trap states older than
        :data:`RECONCILE_AFTER` seconds at its start."""
        with self._lock:
            for key, (up, when) in list(self._interfaces.items()):
                seen = polled.get((key[0], key[3]))
                if seen is not None and seen != up and started - when >= RECONCILE_AFTER:
                    self._interfaces[key] = (seen, when)

    def interfaces(self) -> dict[IfKey, tuple[bool, float]]:
        """(device, site, province, ifname) → (oper up, time of the trap)."""
        with self._lock:
            return dict(self._interfaces)

    def counts(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._counts)

    def auth_failures(self) -> dict[AuthKey, tuple[int, float]]:
        """(device, site, province) → (authenticationFailure notifications, time of the
        first)."""
        with self._lock:
            return {key: (count, self._created[key]) for key, count in self._auth.items()}

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(e) for e in self._events]

    def to_json(self) -> str:
        return json.dumps({"generated": time.time(), "events": self.events()}, indent=1)

    def flush(self, path: Path | None) -> None:
        """Write the JSON file if anything changed since the last flush."""
        if path is None or not self.dirty:
            return
        with self._lock:
            self.dirty = False
        atomic_write_text(path, self.to_json())


def boots(now: float | None = None) -> int:
    """snmpEngineBoots for an engine ID that stays the same across restarts: it must grow
    at every start (RFC 3414 2.2.2; replay protection), so it is the seconds since
    2020-01-01 — no state file needed, and within 1..2^31-1 until 2088."""
    since = (time.time() if now is None else now) - 1_577_836_800
    return max(1, min(int(since), 2**31 - 1))


def _set_identity(snmp_engine: Any, engine_id: bytes, engine_boots: int) -> None:
    """Give a pysnmp engine a fixed engine ID and its boots. (pysnmp's own fixed-ID path
    keeps boots in a shared directory under /tmp; this leaves nothing on the host.)"""
    mib = snmp_engine.get_mib_builder()
    (ident,) = mib.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
    (count,) = mib.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")
    ident.syntax = ident.syntax.clone(engine_id)
    count.syntax = count.syntax.clone(engine_boots)
    snmp_engine.snmpEngineID = ident.syntax


class TrapReceiver:
    """Listens on ``listen`` in the event loop (and namespace) it is opened in."""

    def __init__(
        self,
        store: TrapStore,
        listen: tuple[str, int],
        credentials: Iterable[SnmpCredentials],
    ) -> None:
        self.store = store
        self.listen = listen
        self.credentials = list(credentials)
        self._engine: Any = None
        self._last_model: int | None = None

    def open(self) -> None:
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv

        snmp_engine = engine.SnmpEngine()
        _set_identity(snmp_engine, RECEIVER_ENGINE_ID, boots())
        transport = udp.UdpAsyncioTransport().open_server_mode(self.listen)
        config.add_transport(snmp_engine, udp.DOMAIN_NAME, transport)
        users: set[str] = set()
        for i, creds in enumerate(self.credentials):
            if creds.version == "2c":
                config.add_v1_system(snmp_engine, f"govnet-{i}", creds.community.decode())
            elif creds.user not in users:
                users.add(creds.user)
                auth = getattr(config, AUTH_PROTOCOLS[creds.auth_protocol])
                if creds.level == "authPriv":
                    priv = getattr(config, PRIV_PROTOCOLS[creds.priv_protocol])
                    config.add_v3_user(
                        snmp_engine, creds.user, auth, creds.auth_key, priv, creds.priv_key
                    )
                else:
                    config.add_v3_user(snmp_engine, creds.user, auth, creds.auth_key)
        snmp_engine.observer.register_observer(self._observe, "rfc3412.receiveMessage:request")
        ntfrcv.NotificationReceiver(snmp_engine, self._notified)
        self._engine = snmp_engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None

    def _observe(self, engine: Any, point: str, variables: dict[str, Any], ctx: Any) -> None:
        model = variables.get("securityModel")
        self._last_model = None if model is None else int(model)

    def _notified(
        self,
        engine: Any,
        state: Any,
        context_engine: Any,
        context_name: Any,
        binds: Any,
        ctx: Any,
    ) -> None:
        _, address = engine.message_dispatcher.get_transport_info(state)
        pairs = [(str(oid), value.prettyPrint()) for oid, value in binds]
        trap_oid = next((v for k, v in pairs if k == SNMP_TRAP_OID), "")
        version = "3" if self._last_model == 3 else "2c"
        self.store.event(str(address[0]), trap_oid, version, pairs)
