"""A mission tunnel's pings are published with the cycle's other pings (no root, no lab).

Spec: like a site's reachability, what the probes saw across each mission's tunnel is on
/metrics as soon as the cycle's pings are back, not when its SNMP polls end — a tunnel's
down edge is not published later than the mission's own."""

from __future__ import annotations

from controller.inventory import load_inventory
from probes.collector import tunnel_metrics
from probes.cycle import Pings, make_plan
from probes.model import Cycle, IcmpResult
from probes.service import ProbeState
from probes.targets import build_targets, tunnel_targets
from probes.traps import TrapStore
from tests.conftest import ROOT


def loss(cycle: Cycle) -> dict[str, float]:
    (_, family) = tunnel_metrics(cycle)
    return {s.labels["tunnel"]: s.value for s in family.samples}


def test_a_tunnels_pings_reach_metrics_before_the_cycles_snmp_ends() -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    tunnels = tunnel_targets(inv)
    assert len(tunnels) == 4  # two missions, each with a tunnel to the NDC and the DR
    plan = make_plan(build_targets(inv), tunnels=tunnels)
    state = ProbeState(plan, TrapStore())
    answered = {t.name: IcmpResult(t.name, t.icmp_address, (0.2, 0.2, 0.2)) for t in tunnels}
    state.publish(
        Cycle(
            1.0, 1.0, 0.1, plan.targets, {}, {}, {}, {}, tunnels=plan.tunnels, tunnel_icmp=answered
        )
    )
    cut = tunnels[0].name
    pings = {**answered, cut: IcmpResult(cut, tunnels[0].icmp_address, (None, None, None))}

    state.publish_reachability(Pings({}, {}, {}, pings))

    shown, _, cycles = state.snapshot()
    assert shown is not None and cycles == 1  # the pings are not a cycle of their own
    assert loss(shown) == {t.name: (1.0 if t.name == cut else 0.0) for t in tunnels}
