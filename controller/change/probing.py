"""One probe cycle as the probe gate sees it: every target of the inventory polled by
the real probes (SNMP + ICMP, `govnet probe run`'s cycle), reduced to device → answered
ICMP (reachability ``up``)."""

from __future__ import annotations

from collections.abc import Mapping

from controller.change.gate import Poll
from controller.errors import GovnetError
from controller.inventory.model import Inventory
from probes.credentials import resolve_all
from probes.cycle import make_plan
from probes.icmp import IcmpError
from probes.model import Reachability
from probes.safety import check_targets
from probes.service import ProbeState, ServiceConfig, run_once
from probes.targets import build_targets
from probes.traps import TrapStore


class ProbeGateError(GovnetError):
    """The probes could not complete a cycle for the gate."""


def probe_poller(inv: Inventory, netns: str | None, production: bool = False) -> Poll:
    """A poll function for :class:`controller.change.gate.ProbeGate`, probing from
    ``netns`` (a lab's NMS namespace) or, with ``production``, from this namespace."""
    plan = make_plan(build_targets(inv))
    check_targets(plan.pinged, netns, production)
    credentials = resolve_all(plan.targets)

    def poll() -> Mapping[str, bool]:
        state = ProbeState(plan, TrapStore(plan.targets))
        try:
            cycle = run_once(state, credentials, ServiceConfig(netns=netns))
        except (TimeoutError, IcmpError) as exc:
            raise ProbeGateError(f"probe gate: no probe cycle: {exc}") from exc
        return {t.name: cycle.reachability.get(t.name) == Reachability.UP for t in cycle.targets}

    return poll


def sites_of(inv: Inventory) -> dict[str, str]:
    """Device → its site, for every probe target."""
    return {t.name: t.site for t in build_targets(inv)}
