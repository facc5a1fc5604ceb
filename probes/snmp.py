"""The SNMP poller: every target walked concurrently, bounded, each failure kept as data.

v2c targets go through the lean client (:mod:`probes.snmp_v2c`), v3 targets through the
lean USM client (:mod:`probes.snmp_usm`) — or pysnmp (:mod:`probes.snmp_v3`) for the
profiles it does not cover (DES privacy); all feed :class:`probes.snmp_walk.Walk`. A semaphore
bounds the targets in flight; each target has its own timeout, retries and an overall
deadline, so one slow or dead agent only ever costs its own slot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from probes.counters import CounterTracker
from probes.credentials import SnmpCredentials
from probes.model import SnmpResult, Target
from probes.snmp_usm import UsmClient, lean_supports
from probes.snmp_v2c import MalformedReply, SnmpTimeout, V2cClient
from probes.snmp_v3 import SnmpAgentError, V3Client
from probes.snmp_walk import C32_COLUMNS, HC_COLUMNS, NoIfXTable, Walk, WalkError

log = logging.getLogger(__name__)
ERROR_STATUS = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    16: "authorizationError",
}


@dataclass(frozen=True)
class SnmpSettings:
    timeout: float = 1.0  # per request
    retries: int = 1
    concurrency: int = 256
    max_repetitions: int = 12  # first cycle; later cycles fit the interface count seen
    deadline: float | None = None  # per target; default 3 × timeout × tries

    @property
    def target_deadline(self) -> float:
        return self.deadline or 3 * self.timeout * (self.retries + 1)


class SnmpPoller:
    """Open inside the event loop (and namespace) that polls; close when done."""

    def __init__(self, credentials: dict[str, SnmpCredentials], settings: SnmpSettings) -> None:
        self.credentials = credentials
        self.settings = settings
        self._v2c: V2cClient | None = None
        self._usm: UsmClient | None = None
        self._v3: V3Client | None = None
        self._rows: dict[str, int] = {}
        self._no_ifx: set[str] = set()  # targets whose agent has no ifXTable
        self.counters = CounterTracker()

    async def open(self) -> None:
        if any(c.version == "2c" for c in self.credentials.values()):
            self._v2c = V2cClient()
            await self._v2c.open()
        v3 = [c for c in self.credentials.values() if c.version == "3"]
        if any(lean_supports(c) for c in v3):
            self._usm = UsmClient()
            await self._usm.open()
        if any(not lean_supports(c) for c in v3):
            self._v3 = V3Client()

    def close(self) -> None:
        if self._v2c is not None:
            self._v2c.close()
        if self._usm is not None:
            self._usm.close()
        if self._v3 is not None:
            self._v3.close()

    async def poll(
        self, targets: Sequence[Target], progress: Callable[[], None] | None = None
    ) -> dict[str, SnmpResult]:
        semaphore = asyncio.Semaphore(max(1, self.settings.concurrency))

        async def one(target: Target) -> SnmpResult:
            async with semaphore:
                result = await self.poll_one(target)
            if progress is not None:
                progress()
            return result

        polled = [t for t in targets if t.snmp_profile_name in self.credentials]
        results = await asyncio.gather(*(one(t) for t in polled))
        names = {t.name for t in polled}
        self.counters.keep(names)
        self._no_ifx &= names
        return {r.target: r for r in results}

    async def poll_one(self, target: Target) -> SnmpResult:
        started = time.perf_counter()
        creds = self.credentials[target.snmp_profile_name or ""]
        rows = self._rows.get(target.name)
        repetitions = rows + 1 if rows is not None else self.settings.max_repetitions
        walk = self._walk_for(target.name, repetitions)
        try:
            async with asyncio.timeout(self.settings.target_deadline):
                await self._walk(target, creds, walk)
                try:
                    interfaces = walk.interfaces()
                except NoIfXTable:  # learnt once; this cycle walks again, 32-bit
                    self._no_ifx.add(target.name)
                    spent = walk.rounds
                    walk = self._walk_for(target.name, repetitions)
                    walk.rounds_before = spent
                    await self._walk(target, creds, walk)
                    interfaces = walk.interfaces()
        except (WalkError, MalformedReply, SnmpAgentError, SnmpTimeout) as exc:
            return self._failed(target, str(exc), walk, started)
        except TimeoutError:
            reason = f"deadline of {self.settings.target_deadline:g} s exceeded"
            return self._failed(target, reason, walk, started)
        except OSError as exc:
            return self._failed(target, f"socket error: {exc.strerror or exc}", walk, started)
        self._rows[target.name] = len(interfaces)
        ticks = walk.uptime_ticks or 0
        extended = self.counters.extend(target.name, walk.uptime_ticks, interfaces)
        notes = []
        if target.name in self._no_ifx:
            notes.append("no ifXTable: 32-bit octet counters, extended across wraps")
        if extended.restarted:
            notes.append("agent restarted (sysUpTime went back): counters start again")
        return SnmpResult(
            target=target.name,
            ok=True,
            uptime_seconds=ticks / 100.0,
            sys_name=walk.sys_name,
            interfaces=extended.interfaces,
            values=walk.values,
            requests=walk.rounds_before + walk.rounds,
            seconds=time.perf_counter() - started,
            notes=tuple(notes),
        )

    def _walk_for(self, target: str, repetitions: int) -> Walk:
        columns = C32_COLUMNS if target in self._no_ifx else HC_COLUMNS
        return Walk(repetitions, columns=columns)

    def _failed(self, target: Target, reason: str, walk: Walk, started: float) -> SnmpResult:
        log.debug("snmp %s (%s): %s", target.name, target.snmp_address, reason)
        return SnmpResult(
            target=target.name,
            ok=False,
            reason=reason,
            requests=walk.rounds,
            seconds=time.perf_counter() - started,
        )

    async def _walk(self, target: Target, creds: SnmpCredentials, walk: Walk) -> None:
        address = (target.snmp_address, creds.port)
        timeout, retries = self.settings.timeout, self.settings.retries
        while not walk.done:
            request = walk.request()
            if creds.version == "2c":
                assert self._v2c is not None
                message = await self._v2c.bulk(
                    address,
                    creds.community,
                    request.non_repeaters,
                    request.max_repetitions,
                    request.oids,
                    timeout,
                    retries,
                )
                if message.error_status:
                    name = ERROR_STATUS.get(message.error_status, str(message.error_status))
                    raise SnmpAgentError(f"agent error {name} at varbind {message.error_index}")
                walk.feed(message.varbinds)
            else:
                client = self._usm if lean_supports(creds) else self._v3
                assert client is not None
                binds = await client.bulk(
                    address,
                    creds,
                    request.non_repeaters,
                    request.max_repetitions,
                    request.oids,
                    timeout,
                    retries,
                )
                walk.feed(binds)
