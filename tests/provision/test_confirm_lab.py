"""The router confirms or undoes a change by itself (real FRR, sshd in the lab; root; lab tier).

Spec: before the push govnet arms an on-node timer over the router's shell login; a
change that cuts the router off from the controller (a blackhole route for the
controller's management address) is undone by the router when its timer expires, with
no controller contact, leaving the running config byte-identical and the router
reachable again; a change that verifies is confirmed, saved, and its timer is gone.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from controller.cli.provisioning import reach
from controller.inventory import load_inventory
from controller.provision import confirm
from controller.provision.engine import Engine
from controller.provision.plan import DeviceSpec, device_specs
from tests.conftest import LAB_TOPOLOGY, ROOT

pytestmark = pytest.mark.lab

NODE = "pr-kh2"
CONFIRM_TIMEOUT = 5.0


def vtysh(node: str, *commands: str) -> str:
    argv = ["ip", "netns", "exec", f"clab-lab-{node}", "vtysh", "-N", f"clab-lab-{node}"]
    for command in commands:
        argv += ["-c", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout


def startup(node: str) -> str:
    return Path(f"/etc/frr/clab-lab-{node}/frr.conf").read_text(encoding="utf-8")


def timer_processes(node: str) -> list[str]:
    """Command lines of govnet confirm timers running in the node's namespace."""
    pids = subprocess.run(
        ["ip", "netns", "pids", f"clab-lab-{node}"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.split()
    found = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "confirm.sh" in cmdline and " timer " in cmdline:
            found.append(cmdline)
    return found


def engine(spec: DeviceSpec, state: Path) -> Engine:
    where = reach(LAB_TOPOLOGY, None, 2, state, True, CONFIRM_TIMEOUT)
    return Engine(load_inventory(ROOT / "inventory/lab"), [spec], where.options)


def shipped_spec() -> DeviceSpec:
    inv = load_inventory(ROOT / "inventory/lab")
    device = next(d for d in inv.devices if d.name == NODE)
    return device_specs(inv, [device], "lab")[0]


def controller_address() -> str:
    from simulations.lab import Lab

    return Lab(LAB_TOPOLOGY).plan.mgmt_gw


def node_tmp(node: str) -> Path:
    from simulations import services
    from simulations.lab import Lab

    return services.node_tmp(Lab(LAB_TOPOLOGY).plan.node(node))


def wait_for_timer_dir(applying: Future[object]) -> list[Path]:
    """The node's timer directories, seen while the apply runs (bounded by the apply)."""
    while not applying.done():
        found = sorted(node_tmp(NODE).glob("govnet-confirm.*"))
        if found:
            return found
        time.sleep(0.05)
    return []


@pytest.fixture()
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture()
def node(lab_network: object, state: Path) -> Iterator[str]:
    """pr-kh2 as shipped; afterwards put back (and its startup config) if a test left it."""
    for key in ("GOVNET_LAB_SSH_PASSWORD",):
        assert os.environ.get(key), f"{key} comes from topologies/lab.env"
    before = vtysh(NODE, "show running-config")
    path = Path(f"/etc/frr/clab-lab-{NODE}/frr.conf")
    saved = path.read_bytes()
    yield before
    if vtysh(NODE, "show running-config") != before:
        results = engine(shipped_spec(), state.parent / "restore").apply()
        assert results[0].status == "applied", results[0].message
    path.write_bytes(saved)  # a confirmed change was saved: put the file back as shipped


def test_a_change_that_cuts_the_controller_off_is_undone_by_the_router_itself(
    node: str, state: Path
) -> None:
    before = node
    spec = shipped_spec()
    cut = f"ip route {controller_address()}/32 blackhole\n!\nrouter ospf\n"
    assert "\nrouter ospf\n" in spec.intended
    cutting = dataclasses.replace(
        spec, intended=spec.intended.replace("\nrouter ospf\n", "\n" + cut)
    )
    saved = startup(NODE)

    host_tmp = set(Path("/tmp").glob("govnet-confirm.*"))
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        applying = pool.submit(lambda: engine(cutting, state).apply()[0])
        armed = wait_for_timer_dir(applying)
        result = applying.result()
    elapsed = time.monotonic() - started

    # the timer's snapshot was kept in the lab's directory for the node, not the host's /tmp
    assert armed and armed[0].parent == node_tmp(NODE), armed
    assert set(Path("/tmp").glob("govnet-confirm.*")) == host_tmp

    assert result.commands == [f"ip route {controller_address()}/32 blackhole"]
    assert result.status == "rolled-back", result.message
    assert "lost contact" in result.message
    assert "undone by the device itself" in result.message
    assert "config restored byte-for-byte" in result.message
    # the router's own timer did it: not before the timer (confirm timeout + reserve) ran out
    assert elapsed >= confirm.FRR_MECHANISM.timer(CONFIRM_TIMEOUT)
    assert vtysh(NODE, "show running-config") == before
    assert startup(NODE) == saved, "an unconfirmed change is never saved"
    assert not timer_processes(NODE)
    # reachable again from the controller: a fresh plan over SSH finds nothing to change
    again = engine(spec, state).plan()[0]
    assert again.status == "unchanged", again.message


def test_a_change_that_verifies_is_confirmed_saved_and_its_timer_is_gone(
    node: str, state: Path
) -> None:
    spec = shipped_spec()
    old = " description Battambang uplink to core-1 eth5\n"
    new = " description Battambang uplink to core-1 eth5 (confirmed)\n"
    changed = dataclasses.replace(spec, intended=spec.intended.replace(old, new))

    result = engine(changed, state).apply()[0]

    assert result.status == "applied", result.message
    assert "ok: pr-kh2 eth1 up" in result.checks
    assert new in vtysh(NODE, "show running-config")
    assert new in startup(NODE), "a confirmed change is saved"
    assert not timer_processes(NODE), "confirming stops the router's timer"
    assert not list(node_tmp(NODE).glob("govnet-confirm.*")), "nor its directory"
