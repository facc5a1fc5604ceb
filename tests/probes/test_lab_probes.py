"""Lab tier: poll the namespace lab (topologies/lab.clab.yml) from inside nms-1 over
SNMPv3 and ICMP, cut a province uplink and see the consequences in the next cycle."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator

import pytest

from controller.envfile import read_env_file
from controller.inventory import load_inventory
from probes.credentials import resolve_all
from probes.cycle import make_plan
from probes.icmp import IcmpSettings
from probes.model import Cycle, Reachability
from probes.service import ProbeState, ServiceConfig, run_once
from probes.snmp import SnmpSettings
from probes.targets import build_targets
from probes.traps import TrapStore
from tests.conftest import ROOT, require
from tests.probes.conftest import govnet_argv, require_binaries

pytestmark = pytest.mark.lab
TOPOLOGY = ROOT / "topologies/lab.clab.yml"
NMS = "clab-lab-nms-1"
BATTAMBANG = ["cpe-020301", "cpe-020302", "cpe-020101", "cpe-020102"]


@pytest.fixture(scope="module")
def lab_env() -> Iterator[dict[str, str]]:
    env = read_env_file(ROOT / "topologies/lab.env")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def lab(lab_env: dict[str, str]) -> Iterator[object]:
    require(os.geteuid() == 0, "the lab tier needs root")
    require_binaries("fping", "/usr/sbin/snmpd", "vtysh", "nft")
    from simulations.lab import Lab

    lab = Lab(TOPOLOGY, env=lab_env)
    result = lab.up()
    try:
        yield lab
    finally:
        if not result.already_up:  # never take down a lab someone else brought up
            lab.down()


def poll(config: ServiceConfig | None = None) -> Cycle:
    plan = make_plan(build_targets(load_inventory(ROOT / "inventory/lab")))
    state = ProbeState(plan, TrapStore(plan.targets))
    return run_once(
        state,
        resolve_all(plan.targets),
        config
        or ServiceConfig(
            netns=NMS,
            snmp=SnmpSettings(timeout=1.0, retries=1),
            icmp=IcmpSettings(count=3, period_ms=100),
        ),
    )


def poll_until(check: Callable[[Cycle], bool], timeout: float) -> Cycle:
    deadline = time.monotonic() + timeout
    cycle = poll()
    while not check(cycle) and time.monotonic() < deadline:
        time.sleep(1)
        cycle = poll()
    return cycle


def eth1_up(cycle: Cycle, device: str) -> bool | None:
    result = cycle.snmp[device]
    return next((i.oper_up for i in result.interfaces if i.name == "eth1"), None)


def test_every_node_and_commune_site_answers_snmpv3_and_icmp(lab: object) -> None:
    cycle = poll_until(lambda c: c.failed == 0, timeout=90)  # OSPF converging
    assert len(cycle.targets) == 23
    assert cycle.failed == 0, {
        name: (cycle.snmp[name].reason, cycle.icmp[name].loss_ratio)
        for name in cycle.snmp
        if not cycle.target_ok(name)
    }
    assert cycle.snmp["pr-kh17"].sys_name == "pr-kh17"
    assert cycle.snmp["cpe-170101"].sys_name == "cpe-170101"
    assert set(cycle.reachability.values()) == {Reachability.UP}
    assert eth1_up(cycle, "pr-kh2") is True


def test_a_cut_province_uplink_shows_in_the_next_cycle(lab: object) -> None:
    from simulations.faults import Faults

    faults = Faults(lab)  # type: ignore[arg-type]
    poll_until(lambda c: c.failed == 0, timeout=90)
    faults.link_down("core-1:eth5")  # Battambang's only uplink
    try:
        cycle = poll_until(
            lambda c: (
                c.reachability["pr-kh2"] is Reachability.DOWN
                and all(c.reachability[n] is Reachability.UNREACHABLE for n in BATTAMBANG)
                and eth1_up(c, "pr-kh2") is False
            ),
            timeout=60,  # snmpd caches its interface table for a few seconds
        )
        assert cycle.reachability["pr-kh2"] is Reachability.DOWN
        assert cycle.snmp["pr-kh2"].ok  # still managed over the management network
        assert eth1_up(cycle, "pr-kh2") is False  # the interface is down
        assert all(cycle.reachability[n] is Reachability.UNREACHABLE for n in BATTAMBANG)
        assert all(cycle.upstream_down[n] for n in BATTAMBANG)
        assert cycle.reachability["pr-kh17"] is Reachability.UP
        assert cycle.reachability["cpe-120101"] is Reachability.UP
    finally:
        faults.link_up("core-1:eth5")
    poll_until(lambda c: c.reachability["pr-kh2"] is Reachability.UP, timeout=60)


def test_cli_run_from_the_lab_namespace(lab: object) -> None:
    import subprocess

    poll_until(lambda c: c.failed == 0, timeout=90)
    result = subprocess.run(
        govnet_argv("probe", "run", "--once", "--json", "-i", "inventory/lab", "--netns", NMS),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["targets"] == 23 and data["failed"] == 0
