"""Regional collectors: which collector polls which target (pure).

A target's candidates are the collectors whose region (``provinces``) holds the target's
province; when none does, the collectors without provinces (the national ones). Among
its candidates a target goes to the one with the highest ``hash(collector, target)`` —
the same rendezvous hashing as ``--shard``, keyed by collector name, so adding a
collector to a region moves only the targets it now wins, and none of another region's.
"""

from __future__ import annotations

from collections.abc import Sequence

from controller.errors import UsageError
from controller.inventory.model import Collector, Collectors
from probes.cycle import Plan, make_plan
from probes.model import Target
from probes.sharding import Shard, weight


def candidates(target: Target, collectors: Sequence[Collector]) -> list[Collector]:
    regional = [c for c in collectors if target.province in c.provinces]
    return regional or [c for c in collectors if not c.provinces]


def owner(target: Target, collectors: Sequence[Collector]) -> Collector | None:
    """The collector that polls ``target``; None when no collector covers it."""
    found = candidates(target, collectors)
    if not found:
        return None
    return max(found, key=lambda c: weight(c.name, target.name))


def assign(targets: Sequence[Target], collectors: Sequence[Collector]) -> dict[str, list[Target]]:
    """Collector name → the targets it polls (in the order given); every collector listed."""
    out: dict[str, list[Target]] = {c.name: [] for c in collectors}
    for target in targets:
        chosen = owner(target, collectors)
        if chosen is not None:
            out[chosen.name].append(target)
    return out


def collector_plan(
    targets: Sequence[Target], section: Collectors, name: str, tunnels: Sequence[Target] = ()
) -> Plan:
    """What collector ``name`` polls each cycle (its targets, plus their upstream to ping;
    of the missions' ``tunnels``, those it owns by the same rule: a tunnel's province is
    its data centre, which no region lists, so the collectors without provinces share them).

    ``shard`` is its position among the collectors (for the ``shard`` labels)."""
    names = [c.name for c in section.regions]
    if name not in names:
        known = ", ".join(names) or "none"
        raise UsageError(f"--collector {name!r}: no such collector in the inventory ({known})")
    own = {t.name for t in assign([*targets, *tunnels], section.regions)[name]}
    shard = Shard(names.index(name) + 1, len(names))
    return make_plan(targets, shard, tunnels, keep=lambda t: t.name in own)
