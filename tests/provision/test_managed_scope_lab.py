"""Managed scope on the lab's real FRR routers over real SSH (root; lab tier).

Spec: lines an engineer adds by hand outside govnet's scope (a static route, a
prefix-list, a log setting, ``line vty``, a description on the management port the
inventory does not name) survive ``govnet link apply --all``; a hand change inside
the scope (an OSPF cost on a managed interface) is reverted; ``config compliance``
reports that difference before and every feature compliant after.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.provision.test_provision_lab import govnet, vtysh

pytestmark = pytest.mark.lab

ROUTER = "pr-kh2"
UNMANAGED = [
    ("ip route 192.0.2.0/24 blackhole",),
    ("ip prefix-list HAND-MADE seq 5 permit 192.0.2.0/24",),
    ("log timestamp precision 3",),
    ("line vty", "exec-timeout 30 0"),
    ("interface eth0", "description management port, by hand"),
]
UNDO = [
    ("no ip route 192.0.2.0/24 blackhole",),
    ("no ip prefix-list HAND-MADE seq 5 permit 192.0.2.0/24",),
    ("no log timestamp precision",),
    ("line vty", "exec-timeout 10 0"),  # the default: not shown
    ("interface eth0", "no description"),
    ("interface eth1", "no ip ospf cost 77"),
]


def configure(*lines: str) -> None:
    vtysh(ROUTER, "configure terminal", *lines)


@pytest.fixture()
def hand_made(lab_network: object) -> Iterator[str]:
    """pr-kh2 with unmanaged lines and one in-scope change added by hand; afterwards
    the router is put back exactly as it was found."""
    before = vtysh(ROUTER, "show running-config")
    try:
        for block in UNMANAGED:
            configure(*block)
        configure("interface eth1", "ip ospf cost 77")
        yield before
    finally:
        failed = []
        for block in UNDO:
            try:
                configure(*block)
            except subprocess.CalledProcessError as exc:
                failed.append(f"{block}: {exc.stdout}{exc.stderr}")
        assert not failed, failed
        assert vtysh(ROUTER, "show running-config") == before


def compliance(state: Path, prom: Path) -> tuple[int, dict[str, dict[str, object]]]:
    result = govnet(
        "config",
        "compliance",
        "--trust-on-first-use",
        "--json",
        "--prom-file",
        str(prom),
        state=state,
        inventory=ROOT / "inventory/lab",
    )
    assert result.returncode in {0, 3}, result.stdout + result.stderr
    return result.returncode, {d["device"]: d for d in json.loads(result.stdout)}


def test_apply_reverts_in_scope_hand_changes_and_keeps_every_unmanaged_line(
    hand_made: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    running = vtysh(ROUTER, "show running-config")
    for block in UNMANAGED:
        assert all(line in running for line in block), f"{block} was not configured"

    code, report = compliance(state, tmp_path / "before.prom")
    assert code == 3
    features = {f["feature"]: f for f in report[ROUTER]["features"]}  # type: ignore[attr-defined]
    assert features["interfaces"]["extra"] == [["interface eth1", "ip ospf cost 77"]]
    assert features["interfaces"]["missing"] == []
    assert {n for n, f in features.items() if not f["compliant"]} == {"interfaces"}
    assert {d for d, r in report.items() if not r["compliant"]} == {ROUTER}
    table = govnet(
        "config", "compliance", "-d", ROUTER, state=state, inventory=ROOT / "inventory/lab"
    )
    assert table.returncode == 3, table.stdout + table.stderr
    assert "NOT" in table.stdout and "ip ospf cost 77" in table.stdout.replace("\n", "")
    prom = (tmp_path / "before.prom").read_text()
    assert f'govnet_config_compliant{{device="{ROUTER}",feature="interfaces"}} 0\n' in prom
    assert f'govnet_config_compliant{{device="{ROUTER}",feature="ospf"}} 1\n' in prom

    applied = govnet(
        "link",
        "apply",
        "--all",
        "--json",
        state=state,
        inventory=ROOT / "inventory/lab",
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    results = {d["device"]: d for d in json.loads(applied.stdout)["devices"]}
    assert results[ROUTER]["status"] == "applied"
    assert results[ROUTER]["commands"] == ["interface eth1", "no ip ospf cost 77", "exit"]
    assert {r["status"] for n, r in results.items() if n != ROUTER} == {"unchanged"}

    after = vtysh(ROUTER, "show running-config")
    assert "ip ospf cost 77" not in after
    for block in UNMANAGED:
        assert all(line in after for line in block), f"{block} was removed"

    code, report = compliance(state, tmp_path / "after.prom")
    assert code == 0
    assert all(r["compliant"] for r in report.values())
    assert " 0\n" not in (tmp_path / "after.prom").read_text()
