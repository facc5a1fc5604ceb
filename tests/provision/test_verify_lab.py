"""Verification of everything a change touches, against the lab's real FRR (root; lab tier).

Spec: a change that only touches ``router ospf`` and breaks an adjacency (here
``passive-interface default`` on Battambang's router, which silences its uplink) is
seen — the adjacency lost on both ends — and rolled back, leaving every
router byte-identical to before; a harmless change verifies with every adjacency,
route count and loopback as before; FRR's own CLI ping (vtysh, interrupted) answers
for reachable and unreachable peers.

The inventory has no way to say ``passive-interface``, so the test gives the engine an
intended configuration with it added — the push, verification and rollback are the
engine's, over SSH, as ``link apply`` runs them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from controller.cli.provisioning import reach
from controller.inventory import load_inventory
from controller.inventory.model import Platform
from controller.provision.engine import Engine
from controller.provision.plan import device_specs, select_devices
from controller.provision.verify import device_ping
from tests.conftest import LAB_TOPOLOGY, ROOT
from tests.provision.test_provision_lab import vtysh

pytestmark = pytest.mark.lab

ROUTERS = ("core-1", "pr-kh2")
LOOPBACKS = {
    "core-1": "10.255.0.1",
    "pr-kh2": "10.255.0.23",
    "pr-kh12": "10.255.0.21",
    "mr-mef": "10.255.0.31",
}


@pytest.fixture()
def converged(lab_network: Any) -> Any:
    """The lab as the baseline must find it: every core adjacency Full and the NMS
    reaching the routers' loopbacks (an earlier test's rollback may still be
    reconverging)."""
    from simulations.checks import parse_check, run_check

    checks = [{"ospf": {"node": "core-1", "full": 8}, "timeout": 60}]
    checks += [
        {"ping": {"from": "nms-1", "to": address}, "timeout": 60} for address in LOOPBACKS.values()
    ]
    for spec in checks:
        result = run_check(lab_network, parse_check(spec))
        assert result.ok, f"lab did not reconverge: {result.detail}"
    return lab_network


def engine(state: Path, edit: str | None, devices: tuple[str, ...] = ROUTERS) -> Engine:
    """An engine for ``devices`` of the lab; ``edit`` is added to pr-kh2's ``router ospf``."""
    inv = load_inventory(ROOT / "inventory/lab")
    chosen, _notes = select_devices(inv, [], list(devices), False)
    where = reach(LAB_TOPOLOGY, None, 4, state, True, confirm_timeout=15)
    specs = device_specs(inv, chosen, where.lab)
    if edit is not None:
        specs = [
            replace(s, intended=s.intended.replace("router ospf\n", f"router ospf\n{edit}\n"))
            if s.device.name == "pr-kh2"
            else s
            for s in specs
        ]
    return Engine(inv, specs, where.options)


def test_an_ospf_only_change_that_breaks_the_uplink_is_rolled_back_byte_for_byte(
    converged: object, tmp_path: Path
) -> None:
    before = {node: vtysh(node, "show running-config") for node in ROUTERS}
    planned = {r.device: r for r in engine(tmp_path / "state", " passive-interface default").plan()}
    assert planned["pr-kh2"].commands == ["router ospf", "passive-interface default", "exit"]
    assert planned["core-1"].status == "unchanged"

    results = {
        r.device: r for r in engine(tmp_path / "state", " passive-interface default").apply()
    }
    assert results["core-1"].status == "unchanged"
    result = results["pr-kh2"]
    assert result.status == "rolled-back", result
    assert "pr-kh2 lost OSPF adjacency with 10.255.0.1 on eth1" in result.message
    assert "core-1 lost OSPF adjacency with 10.255.0.23 on eth5" in result.message, result.checks
    assert "restored byte-for-byte" in result.message
    assert {node: vtysh(node, "show running-config") for node in ROUTERS} == before


def test_a_harmless_change_verifies_adjacencies_routes_and_every_loopback_as_before(
    converged: object, tmp_path: Path
) -> None:
    before = vtysh("pr-kh2", "show running-config")
    try:
        results = engine(tmp_path / "state", " timers throttle spf 20 200 6000").apply()
    finally:
        back = {r.device: r for r in engine(tmp_path / "back", None).apply()}
    assert vtysh("pr-kh2", "show running-config") == before, back
    result = {r.device: r for r in results}["pr-kh2"]
    assert result.status == "applied", result
    assert back["pr-kh2"].status == "applied", back
    checks = "\n".join(result.checks)
    assert "ok: pr-kh2 OSPF Full adjacencies: 1 before, 1 after" in checks
    assert "ok: core-1 OSPF Full adjacencies: 8 before, 8 after" in checks
    assert "ok: pr-kh2 OSPF routes:" in checks
    assert "ok: nms-1 reaches core-1 loopback 10.255.0.1" in checks
    assert "ok: nms-1 reaches pr-kh2 loopback 10.255.0.23" in checks
    assert "ok: pr-kh2 eth1 OSPF Full" in checks and "ok: pr-kh2 pings 10.254.0.10" in checks


def test_frr_cli_ping_is_bounded_and_tells_reachable_from_unreachable(
    converged: object, tmp_path: Path
) -> None:
    probe = engine(tmp_path / "state", None, ("pr-kh2",))
    (spec,) = probe.specs
    session = probe._connect(spec)
    try:
        assert device_ping(Platform.FRR, session, "10.254.0.10") is True
        assert device_ping(Platform.FRR, session, "10.254.0.200") is False
        assert "pr-kh2" in session.show("show running-config"), "the CLI is usable afterwards"
    finally:
        session.close()
