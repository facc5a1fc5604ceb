"""Lab tier: a hosting request from a ministry to a live subnet in the NDC and back.

request → approve → plan (check mode) → provision on ndc-1 over SSH with Ansible → the
tenant's gateway answers ping from the ministry's router across the private network, the
tenant zone lets HTTPS through to a server and drops other ports → decommission → the
gateway is gone, ndc-1 is as before, the capacity is back.

Works on a copy of inventory/lab (never the shipped one) with a state dir in a
world-traversable temp dir; the lab is the session's ``lab_network``.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.ansible.lab import lab_target
from controller.cli.provisioning import lab_name
from controller.hosting import provision
from controller.hosting.capacity import as_json, capacity
from controller.hosting.service import HostingService
from controller.hosting.states import State
from controller.hosting.workflow import decommission_request, provision_request
from controller.hosting.workspace import InventoryCache
from controller.inventory import load_inventory
from simulations.lab import Lab
from simulations.netns import netns_connect, netns_exists, netns_socket
from simulations.ping import ping
from tests.conftest import LAB_TOPOLOGY, require
from tests.hosting.conftest import LAB_INVENTORY, request_values

pytestmark = pytest.mark.lab
MINISTRY = "clab-lab-mr-moh"  # the MoH ministry router: the tenant's own site
CONVERGE = 40.0


@dataclass(frozen=True)
class World:
    lab: Lab
    svc: HostingService
    inventory: Path
    target: provision.Target


@pytest.fixture()
def world(lab_network: Lab) -> Iterator[World]:
    require(shutil.which("ssh") is not None, "missing binary: ssh (package openssh-client)")
    base = Path(tempfile.mkdtemp(prefix="govnet-hosting-lab-"))
    base.chmod(0o755)
    try:
        inventory = Path(shutil.copytree(LAB_INVENTORY, base / "inventory"))
        lab_name(LAB_TOPOLOGY)  # the topology's ${VAR:=default}s, as the CLI does
        target = provision.Target(
            state_dir=base / "state", lab=lab_target(LAB_TOPOLOGY), trust_on_first_use=True
        )
        svc = HostingService(inventory, base / "state", InventoryCache())
        yield World(lab_network, svc, inventory, target)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _until(check: object, timeout: float, step: float = 1.0) -> bool:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())


def _answers(address: str) -> bool:
    return ping(MINISTRY, address, count=2, interval=0.2, timeout=1.0).received > 0


def _tcp_open(server_ns: str, address: str, port: int) -> bool:
    listener = netns_socket(server_ns, socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", port))
        listener.listen(4)
        try:
            netns_connect(MINISTRY, (address, port), timeout=2.0).close()
        except OSError:
            return False
        return True
    finally:
        listener.close()


def _ndc1(lab: Lab, *argv: str) -> str:
    proc = lab.exec("ndc-1", list(argv))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _frr(lab: Lab) -> str:
    instance = lab.plan.node("ndc-1").frr_instance
    return _ndc1(lab, "vtysh", "-N", instance, "-c", "show running-config")


def _scrub(lab: Lab, vlan: int) -> None:
    """Put ndc-1 back by hand if the test failed half-way (best effort)."""
    instance = lab.plan.node("ndc-1").frr_instance
    for argv in (
        ["vtysh", "-N", instance, "-c", "configure terminal", "-c", f"interface v{vlan}",
         "-c", "no ip ospf passive", "-c", "no ip ospf area", "-c", "exit"],
        ["ip", "link", "del", f"v{vlan}"],
        ["nft", "delete", "table", "inet", f"govnet_h{vlan}"],
        ["vtysh", "-N", instance, "-c", "configure terminal", "-c", f"no interface v{vlan}"],
    ):  # fmt: skip
        lab.exec("ndc-1", argv)
    server = f"clab-lab-ndc-1-h{vlan}"
    if netns_exists(server):
        import subprocess

        subprocess.run(["ip", "netns", "del", server], check=False, timeout=30)


def test_request_to_live_subnet_and_back(world: World) -> None:
    lab, svc = world.lab, world.svc
    original = (world.inventory / "hosting.yaml").read_bytes()
    free_before = as_json(capacity(load_inventory(world.inventory)))
    frr_before = _frr(lab)

    ident = svc.submit(request_values(units=2, power_kw=0.5, prefix_len=28), "focal-moh").id
    (alloc,) = svc.approve(ident, "engineer").allocations
    assert alloc.datacentre == "NDC" and alloc.vlan is not None and alloc.prefix is not None
    vlan, net = alloc.vlan, alloc.prefix
    gateway, server = str(net.network_address + 1), str(net.network_address + 2)
    server_ns = f"clab-lab-ndc-1-h{vlan}"
    assert not _answers(gateway)
    try:
        # the plan: check mode reports, changes nothing
        plan = provision_request(
            svc, ident, "engineer", provision.Target(**{**world.target.__dict__, "check": True})
        )
        assert not plan.failure, plan.failure
        assert plan.run is not None and [h.host for h in plan.run.hosts] == ["ndc-1"]
        diffs = "".join(plan.run.hosts[0].diffs)
        assert f"+ interface v{vlan}" in diffs and f"+ nft table inet govnet_h{vlan}" in diffs
        assert "ip saddr @private tcp dport { 80, 443 } accept" in diffs  # the ruleset diff
        assert svc.get(ident).state is State.APPROVED
        assert f"v{vlan}" not in _ndc1(lab, "ip", "-o", "link") and not netns_exists(server_ns)

        started = time.monotonic()
        done = provision_request(svc, ident, "engineer", world.target)
        provision_s = time.monotonic() - started
        assert not done.failure, done.failure
        assert done.record.state is State.ACTIVE
        steps = [(e.action, e.to_state) for e in done.record.events]
        assert steps[-2:] == [("provision", "provisioning"), ("provisioned", "active")]

        # the tenant's gateway answers from the ministry, across core-1, over OSPF
        assert _until(lambda: _answers(gateway), CONVERGE), f"{gateway} never answered"
        assert _answers(server)
        route = lab.exec("mr-moh", ["ip", "route", "show", str(net)]).stdout
        assert "proto ospf" in route
        # the tenant zone: HTTPS from the private network passes, other ports are dropped
        assert _tcp_open(server_ns, server, 443)
        assert not _tcp_open(server_ns, server, 8080)
        running = _frr(lab)
        assert (
            f"interface v{vlan}\n" in running
            and f" ip address {gateway}/{net.prefixlen}" in running
        )

        again = provision_request(svc, ident, "engineer", world.target)
        assert again.run is not None and [h.changed for h in again.run.hosts] == [0]
        assert again.record.state is State.ACTIVE

        started = time.monotonic()
        gone = decommission_request(svc, ident, "engineer", world.target, "service moved")
        decommission_s = time.monotonic() - started
        assert not gone.failure, gone.failure
        assert gone.record.state is State.DECOMMISSIONED and gone.record.allocations == []
        assert _until(lambda: not _answers(gateway), CONVERGE), f"{gateway} still answers"
        assert f"v{vlan}" not in _ndc1(lab, "ip", "-o", "link")
        assert f"govnet_h{vlan}" not in _ndc1(lab, "nft", "list", "tables")
        assert not netns_exists(server_ns)
        assert _frr(lab) == frr_before
        assert (world.inventory / "hosting.yaml").read_bytes() == original
        assert as_json(capacity(load_inventory(world.inventory))) == free_before
        print(f"provision {provision_s:.1f} s, decommission {decommission_s:.1f} s")
    finally:
        if svc.get(ident).state is not State.DECOMMISSIONED:
            _scrub(lab, vlan)
