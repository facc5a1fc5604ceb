"""The polling service: a dedicated thread with its own event loop that (optionally)
enters the lab namespace, then polls every ``interval`` until stopped.

Threads: the caller's (HTTP server, signals) stays in the root namespace; the polling
thread calls setns first, so its SNMP sockets, trap listener and fping children all live
in the lab. Results cross threads only through :class:`ProbeState`, under a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from controller.io import atomic_write_text
from probes import netns
from probes.credentials import SnmpCredentials
from probes.cycle import Pings, Plan, Progress, run_cycle
from probes.icmp import IcmpSettings, Pinger
from probes.model import Cycle
from probes.snmp import SnmpPoller, SnmpSettings
from probes.syslog import LoginStore, SyslogReceiver
from probes.traps import TrapReceiver, TrapStore, polled_interfaces

log = logging.getLogger(__name__)
START_TIMEOUT = 30.0
TRAP_FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class ServiceConfig:
    interval: float = 15.0
    netns: str | None = None
    snmp: SnmpSettings = field(default_factory=SnmpSettings)
    icmp: IcmpSettings | None = field(default_factory=IcmpSettings)  # None: no ICMP
    traps_listen: tuple[str, int] | None = None
    traps_file: Path | None = None
    syslog_listen: tuple[str, int] | None = None  # UDP and TCP
    max_cycles: int | None = None  # None: until stopped
    cycle_deadline: float | None = None  # default: max(2 × interval, 30 s)

    @property
    def deadline(self) -> float:
        return self.cycle_deadline or max(2 * self.interval, 30.0)


@dataclass
class ProbeState:
    """What the collector reads: the last completed cycle and the service counters."""

    plan: Plan
    traps: TrapStore
    logins: LoginStore = field(default_factory=LoginStore)
    lock: threading.Lock = field(default_factory=threading.Lock)
    cycle: Cycle | None = None
    cycles: int = 0
    overruns: int = 0
    deadline_misses: int = 0

    def publish(self, cycle: Cycle) -> None:
        with self.lock:
            self.cycle = cycle
            self.cycles += 1

    def publish_reachability(self, pings: Pings) -> None:
        """This cycle's pings, before its SNMP polls end: /metrics shows the new
        reachability (and the missions' tunnels) at once and the previous cycle's SNMP
        values until this one's are in (nothing before a first complete cycle)."""
        with self.lock:
            if self.cycle is not None:
                self.cycle = replace(
                    self.cycle,
                    icmp=pings.icmp,
                    reachability=pings.reachability,
                    upstream_down=pings.upstream_down,
                    tunnel_icmp=pings.tunnel_icmp,
                )

    def overran(self, missed_deadline: bool = False) -> None:
        with self.lock:
            self.overruns += 1
            if missed_deadline:
                self.deadline_misses += 1

    def snapshot(self) -> tuple[Cycle | None, int, int]:
        with self.lock:
            return self.cycle, self.overruns, self.cycles

    def events_json(self) -> str:
        """``/traps`` and the traps file: the last notifications and the last refused SNMP
        requests, each naming its requester (from the devices' logs)."""
        return json.dumps(
            {
                "generated": time.time(),
                "events": self.traps.events(),
                "snmp_auth_failures": self.logins.snmp_auth_events(),
            },
            indent=1,
        )

    def flush(self, path: Path | None) -> None:
        """Write the traps file (atomically) if anything in it changed since the last."""
        if path is None or not (self.traps.dirty or self.logins.dirty):
            return
        self.traps.dirty = self.logins.dirty = False
        atomic_write_text(path, self.events_json())


class ProbeService:
    def __init__(
        self,
        state: ProbeState,
        credentials: dict[str, SnmpCredentials],
        config: ServiceConfig,
        progress: Progress | None = None,
        on_cycle: Callable[[Cycle], None] | None = None,
    ) -> None:
        self.state = state
        self.credentials = credentials
        self.config = config
        self.progress = progress
        self.on_cycle = on_cycle
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stop_requested = False

    # ---------------------------------------------------------------- control

    def start(self) -> None:
        """Start polling; raises here (in the caller's thread) if setup failed."""
        self._thread = threading.Thread(target=self._run, name="govnet-probes", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError("the polling thread did not start")
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 15.0) -> None:
        self._stop_requested = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def error(self) -> BaseException | None:
        return self._error

    # ---------------------------------------------------------------- the thread

    def _run(self) -> None:
        try:
            if self.config.netns is not None:
                netns.enter(self.config.netns)
            asyncio.run(self._main())
        except BaseException as exc:  # handed to the caller of start()/join()
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stop_requested:
            return
        config = self.config
        snmp = SnmpPoller(self.credentials, config.snmp) if self.credentials else None
        pinger = Pinger(config.icmp) if config.icmp is not None else None
        receiver = None
        if config.traps_listen is not None:
            receiver = TrapReceiver(
                self.state.traps, config.traps_listen, self.credentials.values()
            )
        syslog = None
        if config.syslog_listen is not None:
            syslog = SyslogReceiver(self.state.logins, config.syslog_listen)
        try:
            if snmp is not None:
                await snmp.open()
            if receiver is not None:
                receiver.open()
                await asyncio.sleep(0)  # let the listening endpoint open
            if syslog is not None:
                await syslog.open()
            self._ready.set()
            await self._loop_cycles(snmp, pinger)
        finally:
            if syslog is not None:
                await syslog.close()
            if receiver is not None:
                receiver.close()
            if snmp is not None:
                snmp.close()
            self.state.flush(config.traps_file)

    async def _loop_cycles(self, snmp: SnmpPoller | None, pinger: Pinger | None) -> None:
        config = self.config
        assert self._stop is not None
        done = 0
        while not self._stop.is_set():
            if config.max_cycles is not None and done >= config.max_cycles:
                break
            began = time.monotonic()
            try:
                cycle = await asyncio.wait_for(
                    run_cycle(
                        self.state.plan,
                        snmp,
                        pinger,
                        self.progress,
                        self.state.publish_reachability,
                    ),
                    config.deadline,
                )
            except TimeoutError:
                log.warning("cycle missed its %.0f s deadline", config.deadline)
                self.state.overran(missed_deadline=True)
            else:
                self.state.publish(cycle)
                self.state.traps.reconcile(cycle.started, polled_interfaces(cycle))
                if self.on_cycle is not None:
                    self.on_cycle(cycle)
            done += 1
            self.state.flush(config.traps_file)
            elapsed = time.monotonic() - began
            if elapsed > config.interval:
                self.state.overran()
                continue  # start the next cycle now; missed ticks are not made up
            if config.max_cycles is not None and done >= config.max_cycles:
                break
            await self._sleep_until(began + config.interval)
        # Traps may still arrive while a one-shot run is finishing: nothing to wait for.

    async def _sleep_until(self, when: float) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            left = when - time.monotonic()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self._stop.wait(), min(left, TRAP_FLUSH_SECONDS))
            except TimeoutError:
                self.state.flush(self.config.traps_file)


def run_once(
    state: ProbeState,
    credentials: dict[str, SnmpCredentials],
    config: ServiceConfig,
    progress: Progress | None = None,
) -> Cycle:
    """Poll once (in the polling thread, inside ``config.netns`` if set)."""
    once = ServiceConfig(
        interval=config.interval,
        netns=config.netns,
        snmp=config.snmp,
        icmp=config.icmp,
        max_cycles=1,
        cycle_deadline=config.cycle_deadline,
    )
    service = ProbeService(state, credentials, once, progress)
    service.start()
    service.join(once.deadline + START_TIMEOUT)
    if service.running:
        service.stop()
        raise TimeoutError("the polling cycle did not finish")
    if service.error is not None:
        raise service.error
    cycle, _, _ = state.snapshot()
    if cycle is None:
        raise TimeoutError(f"the polling cycle missed its {once.deadline:.0f} s deadline")
    return cycle
