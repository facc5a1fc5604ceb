"""A mission's IPsec side through the safe-change path, on the lab's real charon (root;
lab tier).

Spec: `link plan` shows a hand edit of Paris's swanctl.conf as a diff of that file (no
CLI command), and `link apply` puts the rendered file back over the node's shell login,
loads it, restarts the connection it changed and checks every tunnel's IKE and child SA
up — the file journalled and backed up (masked) like the configuration. A change whose
tunnel does not come back (a proposal the DR does not accept) is rolled back: the old
file is back byte for byte, loaded, and both tunnels up again.

The inventory has no way to say a wrong IKE proposal, so the second test gives the
engine an intended swanctl.conf with one — the push, verification and rollback are the
engine's, over SSH, as ``link apply`` runs them.
"""

from __future__ import annotations

import json
import stat
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from controller.cli.provisioning import reach
from controller.inventory import load_inventory
from controller.provision import ipsec
from controller.provision.engine import Engine
from controller.provision.plan import device_specs, select_devices
from simulations import services
from simulations.lab import Lab
from tests.conftest import LAB_TOPOLOGY, ROOT
from tests.provision.test_provision_lab import govnet, vtysh

pytestmark = pytest.mark.lab
PARIS = "ms-fr-par"
TUNNELS = {"fr-par-ndc", "fr-par-dr"}


def swanctl(lab: Lab, *args: str) -> str:
    """The node's own swanctl, as root (the test's view of the device)."""
    node = lab.plan.node(PARIS)
    done = subprocess.run(
        services.swanctl_argv(node, *args),
        env=services.charon_env(node),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def rekeying(lab: Lab, connection: str) -> str:
    """``rekeying every …s`` of one loaded connection (``swanctl --list-conns``)."""
    for line in swanctl(lab, "--list-conns").splitlines():
        if line.startswith(f"{connection}: "):
            return next(p for p in line.split(", ") if p.startswith("rekeying every"))
    raise AssertionError(f"{connection} is not loaded")


def conf(lab: Lab) -> Path:
    return services.charon_paths(lab.plan.node(PARIS))["swanctl"]


def wait_up(lab: Lab, timeout: float = 60.0) -> dict[str, bool]:
    """Both tunnels of Paris established (bounded: an earlier test may have restarted one)."""
    deadline = time.monotonic() + timeout
    while True:
        up = ipsec.established(swanctl(lab, "--list-sas"))
        if all(up.get(n) for n in TUNNELS) or time.monotonic() > deadline:
            return up
        time.sleep(0.5)


@pytest.fixture()
def paris(lab_network: Lab) -> Any:
    """Paris as the lab renders it, both tunnels up; put back that way afterwards."""
    lab = lab_network
    rendered = conf(lab).read_text()
    assert all(wait_up(lab).get(n) for n in TUNNELS), "Paris's tunnels are not up"
    yield lab
    if conf(lab).read_text() != rendered:
        conf(lab).write_text(rendered)
        swanctl(lab, "--load-conns", "--file", str(conf(lab)))
    assert all(wait_up(lab).get(n) for n in TUNNELS), "Paris's tunnels did not come back"


def test_a_hand_edit_of_a_missions_swanctl_conf_is_planned_then_put_back_by_link_apply(
    paris: Lab, tmp_path: Path
) -> None:
    lab = paris
    rendered = conf(lab).read_text()
    # by hand on the router: the NDC tunnel rekeys every 3 h instead of 4 h, loaded
    conf(lab).write_text(rendered.replace("rekey_time = 4h", "rekey_time = 3h", 1))
    swanctl(lab, "--load-conns", "--file", str(conf(lab)))
    assert rekeying(lab, "fr-par-ndc") == "rekeying every 10800s"
    state = tmp_path / "state"
    inventory = ROOT / "inventory/lab"

    planned = govnet(
        "link",
        "plan",
        "--device",
        PARIS,
        "--trust-on-first-use",
        "--json",
        state=state,
        inventory=inventory,
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    (device,) = json.loads(planned.stdout)["devices"]
    assert device["status"] == "changes" and device["commands"] == []
    assert device["message"] == "swanctl.conf: 1 connection(s) changed (fr-par-ndc)"
    assert "-    rekey_time = 3h\n" in device["diff"] and "+    rekey_time = 4h\n" in device["diff"]
    assert f"{PARIS} swanctl.conf (intended)" in device["diff"]

    applied = govnet("link", "apply", "--device", PARIS, "--json", state=state, inventory=inventory)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    (device,) = json.loads(applied.stdout)["devices"]
    assert device["status"] == "applied", device
    for name in TUNNELS:
        assert f"ok: IPsec {name}: IKE SA established, child SA installed" in device["checks"]
    steps = [s["step"] for s in device["steps"]]
    assert "reading swanctl.conf" in steps and "loading swanctl.conf (1 changed)" in steps
    assert conf(lab).read_text() == rendered
    assert rekeying(lab, "fr-par-ndc") == "rekeying every 14400s"
    assert all(wait_up(lab).get(n) for n in TUNNELS)
    # journalled and backed up like the configuration: masked to read, 0600 to restore
    (journal,) = (state / "changes").glob("*.json")
    entry = json.loads(journal.read_text())["devices"][PARIS]
    assert json.loads(journal.read_text())["state"] == "closed"
    restorable = Path(entry["ipsec"]["pre_file"])
    assert "rekey_time = 3h" in restorable.read_text()
    assert stat.S_IMODE(restorable.stat().st_mode) == 0o600
    assert list((state / "backups" / PARIS).glob("*.swanctl.conf"))
    again = govnet("link", "plan", "--device", PARIS, "--json", state=state, inventory=inventory)
    assert json.loads(again.stdout)["devices"][0]["status"] == "unchanged"  # idempotent


def test_a_swanctl_change_whose_tunnel_does_not_come_back_is_rolled_back_byte_for_byte(
    paris: Lab, tmp_path: Path
) -> None:
    lab = paris
    before = conf(lab).read_text()
    running = vtysh(PARIS, "show running-config")
    blocks = ipsec.connections(before)
    wrong = blocks["fr-par-dr"].replace("aes256-sha256-modp3072", "aes128-sha1-modp2048")
    assert wrong != blocks["fr-par-dr"]
    inv = load_inventory(ROOT / "inventory/lab")
    chosen, _ = select_devices(inv, [], [PARIS], False)
    where = reach(LAB_TOPOLOGY, None, 4, tmp_path / "state", True, confirm_timeout=15)
    specs = [
        replace(s, ipsec=before.replace(blocks["fr-par-dr"], wrong))
        for s in device_specs(inv, chosen, where.lab)
    ]
    (result,) = Engine(inv, specs, where.options).apply()
    assert result.status == "rolled-back", result
    assert "IPsec fr-par-dr: not established" in result.message, result.message
    assert "ok: IPsec fr-par-ndc: IKE SA established, child SA installed" in result.checks
    assert "restored byte-for-byte" in result.message
    assert conf(lab).read_text() == before
    assert vtysh(PARIS, "show running-config") == running
    up = wait_up(lab)
    assert all(up.get(n) for n in TUNNELS), up
