"""Provisioning against the lab's real FRR routers over real SSH (root; lab tier).

Spec: a new ministry link is planned (diff), applied to both routers, comes up
(OSPF Full, reachable from the NDC), and a second apply changes nothing; a link
that cannot verify is rolled back byte-for-byte; hand changes show as drift;
unknown host keys and wrong passwords fail per device while the others complete.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LAB_TOPOLOGY, ROOT

pytestmark = pytest.mark.lab

NEW_LINK = """  - {name: mef-dr, a: dr-1:eth4, b: mr-mef:eth2, kind: ministry-core, bandwidth: 1G,
     prefix: 10.254.0.30/31, routing: {ospf: {area: 0, hello: 1, dead: 4}}, tenant: MEF,
     description: MEF second site link}
"""


def govnet(*args: str, state: Path, inventory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from controller.cli.main import run; run()",
            "-i",
            str(inventory),
            *args,
            "--lab",
            str(LAB_TOPOLOGY),
            "--state-dir",
            str(state),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def vtysh(node: str, *commands: str) -> str:
    argv = ["ip", "netns", "exec", f"clab-lab-{node}", "vtysh", "-N", f"clab-lab-{node}"]
    for command in commands:
        argv += ["-c", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout


def ns_run(ns: str, *argv: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, *argv], check=True, timeout=30)


def ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, timeout=30)


@pytest.fixture()
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture()
def extended(tmp_path: Path) -> Path:
    """inventory/lab plus a new MEF link to the DR site."""
    copy = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory/lab", copy)
    with (copy / "links.yaml").open("a") as handle:
        handle.write(NEW_LINK)
    return copy


@pytest.fixture()
def cable(lab_network: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A patch cable from dr-1 eth4 into a patch panel namespace (the far end, down).

    Yields the far end's name; ``plug`` moves it into mr-mef as eth2. Afterwards the
    cable is removed and both routers are put back to the shipped inventory."""
    panel = "clab-lab-patch"
    subprocess.run(["ip", "netns", "del", panel], check=False, capture_output=True)
    ip("netns", "add", panel)
    ip(
        "link",
        "add",
        "pa",
        "netns",
        "clab-lab-dr-1",
        "type",
        "veth",
        "peer",
        "name",
        "eth2",
        "netns",
        panel,
    )
    ip("-n", "clab-lab-dr-1", "link", "set", "pa", "name", "eth4")
    ip("-n", "clab-lab-dr-1", "link", "set", "eth4", "up")
    try:
        yield panel
    finally:
        subprocess.run(["ip", "-n", "clab-lab-dr-1", "link", "del", "eth4"], check=False)
        subprocess.run(["ip", "-n", "clab-lab-mr-mef", "link", "del", "eth2"], check=False)
        subprocess.run(["ip", "netns", "del", panel], check=False)
        restore = govnet(
            "link",
            "apply",
            "-d",
            "dr-1",
            "-d",
            "mr-mef",
            "--trust-on-first-use",
            state=tmp_path_factory.mktemp("restore"),
            inventory=ROOT / "inventory/lab",
        )
        assert restore.returncode == 0, restore.stdout + restore.stderr


def plug(panel: str) -> None:
    ip("-n", panel, "link", "set", "eth2", "netns", "clab-lab-mr-mef")
    ip("-n", "clab-lab-mr-mef", "link", "set", "eth2", "up")


def test_a_new_ministry_link_is_planned_applied_verified_and_idempotent(
    cable: str, extended: Path, state: Path
) -> None:
    plug(cable)
    before = vtysh("dr-1", "show running-config")
    plan = govnet(
        "link", "plan", "mef-dr", "--trust-on-first-use", "--json", state=state, inventory=extended
    )
    assert plan.returncode == 0, plan.stderr
    planned = {d["device"]: d for d in json.loads(plan.stdout)["devices"]}
    assert planned["dr-1"]["status"] == "changes" and planned["mr-mef"]["status"] == "changes"
    assert (
        "+interface eth4\n+ description MEF second site link to mr-mef eth2\n"
        in planned["dr-1"]["diff"]
    )
    assert vtysh("dr-1", "show running-config") == before, "plan must change nothing"

    applied = govnet("link", "apply", "mef-dr", "--json", state=state, inventory=extended)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    results = {d["device"]: d for d in json.loads(applied.stdout)["devices"]}
    assert {r["status"] for r in results.values()} == {"applied"}
    assert "ok: dr-1 eth4 OSPF Full" in results["dr-1"]["checks"]
    assert "ok: mr-mef pings 10.254.0.30" in results["mr-mef"]["checks"]
    # each device's steps, timed, in the order it went through them (for the operator
    # and bench/provision.py: where an apply spends its time)
    steps = results["dr-1"]["steps"]
    names = [s["step"] for s in steps]
    phases = ("connecting", "reading running config", "taking a baseline", "arming")
    phases += ("pushing", "verifying", "confirming")  # a verified device's last step
    found = [[i for i, n in enumerate(names) if n.startswith(p)][:1] for p in phases]
    assert all(found) and found == sorted(found), names
    assert names[0] == "connecting", names
    times = [s["at"] for s in steps]
    assert times == sorted(times) and times[-1] <= results["dr-1"]["seconds"] + 1.0, steps
    # the ministry is now reachable from the NDC over the new link too
    ns_run("clab-lab-ndc-1", "ping", "-c", "2", "-W", "2", "10.254.0.31")

    again = govnet("link", "apply", "mef-dr", "--json", state=state, inventory=extended)
    assert again.returncode == 0
    assert {d["status"] for d in json.loads(again.stdout)["devices"]} == {"unchanged"}
    audit = [json.loads(line) for line in (state / "audit.log").read_text().splitlines()]
    assert {a["device"] for a in audit if a["status"] == "applied"} == {"dr-1", "mr-mef"}
    assert all(a["who"] for a in audit)


def test_a_link_that_does_not_verify_is_rolled_back_byte_for_byte(
    cable: str, extended: Path, state: Path
) -> None:
    # the far end stays unplugged (down): the link cannot come up
    before = {node: vtysh(node, "show running-config") for node in ("dr-1", "mr-mef")}
    applied = govnet(
        "link",
        "apply",
        "mef-dr",
        "--trust-on-first-use",
        "--confirm-timeout",
        "6",
        "--json",
        state=state,
        inventory=extended,
    )
    assert applied.returncode == 1
    results = {d["device"]: d for d in json.loads(applied.stdout)["devices"]}
    assert results["dr-1"]["status"] == "rolled-back"
    assert "dr-1 eth4 is down" in results["dr-1"]["message"]
    assert "restored byte-for-byte" in results["dr-1"]["message"]
    after = {node: vtysh(node, "show running-config") for node in ("dr-1", "mr-mef")}
    assert after == before
    backups = list((state / "backups/dr-1").glob("*.conf"))
    assert backups, "apply backs up before it changes anything"


def test_a_hand_made_change_shows_as_drift(lab_network: object, state: Path) -> None:
    vtysh("pr-kh2", "configure terminal", "interface eth1", "description changed by hand")
    try:
        prom = state / "drift.prom"
        drift = govnet(
            "config",
            "drift",
            "--trust-on-first-use",
            "--json",
            "--prom-file",
            str(prom),
            state=state,
            inventory=ROOT / "inventory/lab",
        )
        assert drift.returncode == 3, drift.stderr
        status = {d["device"]: d["status"] for d in json.loads(drift.stdout)}
        assert status["pr-kh2"] == "drift"
        assert {s for d, s in status.items() if d != "pr-kh2"} == {"in sync"}
        assert 'govnet_config_drift{device="pr-kh2"} 1\n' in prom.read_text()
        assert 'govnet_config_drift{device="core-1"} 0\n' in prom.read_text()
    finally:
        vtysh(
            "pr-kh2",
            "configure terminal",
            "interface eth1",
            "description Battambang uplink to core-1 eth5",
        )


def test_unknown_host_keys_are_refused_without_trust_on_first_use(
    lab_network: object, state: Path
) -> None:
    plan = govnet(
        "link", "plan", "-d", "core-1", "--json", state=state, inventory=ROOT / "inventory/lab"
    )
    assert plan.returncode == 1
    result = json.loads(plan.stdout)["devices"][0]
    assert result["status"] == "failed"
    assert "unknown SSH host key" in result["message"] and "refusing" in result["message"]


def test_a_changed_host_key_is_refused_even_with_trust_on_first_use(
    lab_network: object, state: Path
) -> None:
    first = govnet(
        "link",
        "plan",
        "-d",
        "core-1",
        "--trust-on-first-use",
        state=state,
        inventory=ROOT / "inventory/lab",
    )
    assert first.returncode == 0
    known = state / "known_hosts"
    other = known.read_text().split()[2]
    forged = known.read_text().replace(other, other[:-12] + "AAAAAAAAAAA=")
    known.write_text(forged)
    again = govnet(
        "link",
        "plan",
        "-d",
        "core-1",
        "--trust-on-first-use",
        "--json",
        state=state,
        inventory=ROOT / "inventory/lab",
    )
    assert again.returncode == 1
    assert "CHANGED" in json.loads(again.stdout)["devices"][0]["message"]


def test_a_wrong_password_fails_that_device_only(
    lab_network: object, state: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory/lab", copy)
    creds = copy / "credentials.yaml"
    creds.write_text(
        creds.read_text() + "    wrong:\n      username: govnet\n"
        "      password: env:GOVNET_TEST_WRONG_PASSWORD\n"
    )
    devices = copy / "devices.yaml"
    devices.write_text(
        devices.read_text().replace(
            "  - name: pr-kh2\n", "  - name: pr-kh2\n    ssh_credential: wrong\n"
        )
    )
    os.environ["GOVNET_TEST_WRONG_PASSWORD"] = "not-the-password"
    plan = govnet(
        "link", "plan", "--all", "--trust-on-first-use", "--json", state=state, inventory=copy
    )
    assert plan.returncode == 1
    results = {d["device"]: d for d in json.loads(plan.stdout)["devices"]}
    assert results["pr-kh2"]["status"] == "failed"
    assert results["pr-kh2"]["message"] == "pr-kh2: authentication failed for user 'govnet'"
    assert {r["status"] for n, r in results.items() if n != "pr-kh2"} == {"unchanged"}


def test_a_device_that_hangs_up_fails_alone_and_the_others_complete(
    lab_network: object, state: Path
) -> None:
    # pr-kh2's SSH session meets a peer that hangs up after the banners (paramiko raises a
    # bare EOFError()); its host key still comes from the real router
    import dataclasses
    import socket

    from controller.cli.provisioning import reach
    from controller.inventory import load_inventory
    from controller.provision.engine import Engine
    from controller.provision.plan import device_specs, select_devices
    from tests.provision.sshpeers import HangsUpAfterBanner, running

    inv = load_inventory(ROOT / "inventory/lab")
    devices, notes = select_devices(inv, [], [], True)
    where = reach(LAB_TOPOLOGY, None, 8, state, True)
    specs = device_specs(inv, devices, where.lab, notes)
    victim = str(next(d.mgmt for d in inv.devices if d.name == "pr-kh2"))
    lab_socket = where.options.open_socket
    opened: list[str] = []
    with running(HangsUpAfterBanner()) as hangs_up:

        def open_socket(host: str, port: int, timeout: float) -> socket.socket:
            opened.append(host)
            if host == victim and opened.count(host) == 2:  # the session, after the key
                return socket.create_connection(("127.0.0.1", hangs_up.port), timeout=timeout)
            return lab_socket(host, port, timeout)

        options = dataclasses.replace(where.options, open_socket=open_socket)
        results = {r.device: r for r in Engine(inv, specs, options).plan()}
    assert hangs_up.connections == 1
    assert results["pr-kh2"].status == "failed"
    assert results["pr-kh2"].message == (
        "pr-kh2: SSH failed: connection closed by the peer (EOFError)"
    )
    others = {name: r.status for name, r in results.items() if name != "pr-kh2"}
    assert len(others) == len(specs) - 1 and set(others.values()) == {"unchanged"}
