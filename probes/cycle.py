"""One polling cycle: SNMP for the shard's targets and ICMP for them and their
upstream parents, concurrently; then reachability. Per-target failures are data.

Reachability is known as soon as the pings are back, which for a device that went down is
well before its SNMP poll gives up (its deadline: tries × timeout): ``reached`` is told
then, so a site's down edge is published as early as its up edge."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from probes import reachability, sharding
from probes.icmp import Pinger
from probes.model import Cycle, IcmpResult, Reachability, SnmpResult, Target
from probes.sharding import Shard
from probes.snmp import SnmpPoller
from probes.targets import ancestors

Progress = Callable[[int, int], None]  # (done, total)
# Targets reached across the public internet: pinged with a longer per-echo timeout.
ACROSS_INTERNET = frozenset({"mission-router", "tunnel"})


@dataclass(frozen=True)
class Pings:
    """A cycle's pings, known before its SNMP polls end: the shard's own targets (their
    reachability and upstream verdicts) and the missions' tunnels it pings."""

    icmp: dict[str, IcmpResult]
    reachability: dict[str, Reachability]
    upstream_down: dict[str, bool]
    tunnel_icmp: dict[str, IcmpResult]


Reached = Callable[[Pings], None]


@dataclass(frozen=True)
class Plan:
    """What one poller does each cycle (pure): its own targets, plus the upstream
    devices it only pings so reachability can tell ``down`` from ``unreachable``."""

    targets: tuple[Target, ...]
    upstream: tuple[Target, ...]
    shard: Shard
    tunnels: tuple[Target, ...] = ()  # pinged by one poller: shard 1, or their collector

    @property
    def pinged(self) -> tuple[Target, ...]:
        return self.targets + self.upstream


def make_plan(
    all_targets: Sequence[Target],
    shard: Shard = sharding.ALL,
    tunnels: Sequence[Target] = (),
    keep: Callable[[Target], bool] | None = None,
) -> Plan:
    """The shard's targets (or, with ``keep``, the targets it accepts) and their upstream;
    of the missions' ``tunnels``, shard 1 pings every one (with ``keep``: those it accepts)."""
    if keep is not None:
        own = [t for t in all_targets if keep(t)]
        own_tunnels = tuple(t for t in tunnels if keep(t))
    else:
        own = sharding.select(all_targets, [t.name for t in all_targets], shard)
        own_tunnels = tuple(tunnels) if shard.index == 1 else ()
    names = {t.name for t in own}
    by_name = {t.name: t for t in all_targets}
    upstream = [by_name[n] for n in sorted(ancestors(own, by_name) - names)]
    return Plan(tuple(own), tuple(upstream), shard, own_tunnels)


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def run_cycle(
    plan: Plan,
    snmp: SnmpPoller | None,
    pinger: Pinger | None,
    progress: Progress | None = None,
    reached: Reached | None = None,
) -> Cycle:
    started, wall0, cpu0 = time.time(), time.perf_counter(), cpu_seconds()
    total = len(plan.targets) + (1 if pinger is not None else 0)
    done = [0]
    own = {t.name for t in plan.targets}
    tunnel_names = {t.name for t in plan.tunnels}  # pinged, but no site of their own

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    def judged(answered: dict[str, bool]) -> tuple[dict[str, Reachability], dict[str, bool]]:
        states, upstream_down = reachability.classify(plan.pinged, answered)
        return (
            {k: v for k, v in states.items() if k in own},
            {k: v for k, v in upstream_down.items() if k in own},
        )

    async def icmp() -> dict[str, IcmpResult]:
        if pinger is None:
            return {}
        everything = plan.pinged + plan.tunnels
        far = [t for t in everything if t.role in ACROSS_INTERNET]
        near = [t for t in everything if t.role not in ACROSS_INTERNET]
        if far:
            first, second = await asyncio.gather(
                pinger.ping(near), pinger.across_internet().ping(far)
            )
            results = {**first, **second}
        else:
            results = await pinger.ping(near)
        tick()
        if reached is not None:
            states, upstream_down = judged(
                {n: r.ok for n, r in results.items() if n not in tunnel_names}
            )
            reached(
                Pings(
                    {k: v for k, v in results.items() if k in own},
                    states,
                    upstream_down,
                    {k: v for k, v in results.items() if k in tunnel_names},
                )
            )
        return results

    async def snmp_all() -> dict[str, SnmpResult]:
        return {} if snmp is None else await snmp.poll(plan.targets, tick)

    icmp_results, snmp_results = await asyncio.gather(icmp(), snmp_all())
    answered = {name: r.ok for name, r in icmp_results.items() if name not in tunnel_names}
    if pinger is None:  # no ICMP: SNMP answers decide reachability
        answered = {name: r.ok for name, r in snmp_results.items()}
    states, upstream_down = judged(answered)
    return Cycle(
        started=started,
        seconds=time.perf_counter() - wall0,
        cpu_seconds=cpu_seconds() - cpu0,
        targets=plan.targets,
        snmp=snmp_results,
        icmp={k: v for k, v in icmp_results.items() if k in own},
        reachability=states,
        upstream_down=upstream_down,
        shard=plan.shard.index,
        shards=plan.shard.count,
        tunnels=plan.tunnels,
        tunnel_icmp={t.name: icmp_results[t.name] for t in plan.tunnels if t.name in icmp_results},
    )
