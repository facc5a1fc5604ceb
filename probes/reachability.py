"""Reachability from the DAG and this cycle's ICMP results (pure).

A target is ``up`` when it answered; ``down`` when it did not while some parent is up
(its own fault: alert); ``unreachable`` when every parent is down or unreachable (its
state is unknown: suppress, the upstream alert covers it). A root that does not answer
is ``down``. Parents that were not probed this cycle (e.g. owned by another shard and
not pinged) count as up: the uncertain case must not suppress alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from probes.model import Reachability, Target


def classify(
    targets: Sequence[Target], answered: Mapping[str, bool]
) -> tuple[dict[str, Reachability], dict[str, bool]]:
    """(state per target, upstream_down per target).

    ``answered`` holds this cycle's ICMP verdict per probed target name.
    ``upstream_down`` is True when the target has parents and all of them are down or
    unreachable — the label Alertmanager inhibits commune alerts on.
    """
    by_name = {t.name: t for t in targets}
    state: dict[str, Reachability] = {}
    upstream_down: dict[str, bool] = {}
    visiting: set[str] = set()

    def resolve(name: str) -> Reachability:
        if name in state:
            return state[name]
        target = by_name.get(name)
        if target is None or name in visiting:  # not a target here, or a cycle: unknown
            return _unknown(name, answered)
        visiting.add(name)
        # a parent not probed this cycle (another shard's, SNMP-only) is unknown: up
        parents = [resolve(p) if p in answered else Reachability.UP for p in target.parents]
        visiting.discard(name)
        all_down = bool(parents) and all(s is not Reachability.UP for s in parents)
        upstream_down[name] = all_down
        if answered.get(name, False):
            state[name] = Reachability.UP
        elif all_down:
            state[name] = Reachability.UNREACHABLE
        else:
            state[name] = Reachability.DOWN
        return state[name]

    for target in targets:
        resolve(target.name)
    return state, upstream_down


def _unknown(name: str, answered: Mapping[str, bool]) -> Reachability:
    if name not in answered:
        return Reachability.UP  # not probed: unknown, do not suppress
    return Reachability.UP if answered[name] else Reachability.DOWN
