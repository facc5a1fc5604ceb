"""`down` after a crashed `up` (kill -9 midway) leaves nothing behind; `down` on
nothing is a no-op."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulations import executor
from simulations.lab import Lab
from simulations.netns import NETNS_DIR
from simulations.procs import pid_alive, pids_in_netns
from tests.conftest import ROOT
from tests.lab.conftest import MINI, require_lab_prerequisites

pytestmark = pytest.mark.lab
LAB = "crash"


def _namespaces() -> list[str]:
    return sorted(p.name for p in NETNS_DIR.glob(f"clab-{LAB}-*")) if NETNS_DIR.exists() else []


def _daemons() -> list[int]:
    """PIDs of long-lived lab daemons (they outlive a killed ``up``)."""
    out = []
    for pid in (p for ps in pids_in_netns(_namespaces()).values() for p in ps):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm in {"watchfrr", "zebra", "ospfd", "snmpd", "sshd"}:
            out.append(pid)
    return out


def _processes_using(path: Path) -> list[int]:
    """PIDs whose command line names ``path`` (a daemon of that lab, wherever it runs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmdline and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def _root_links() -> set[str]:
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def test_down_on_nothing_is_a_noop(tmp_path: Path) -> None:
    require_lab_prerequisites()
    result = Lab(MINI, tmp_path / "clab-x", env={"GOVNET_MINI_LAB": LAB}).down()
    assert not result.was_up and result.killed == 0


def test_kill_9_during_up_then_down_leaves_nothing(tmp_path: Path) -> None:
    require_lab_prerequisites()
    lab_dir = tmp_path / "clab-crash"
    links_before = _root_links()
    code = (
        "import sys; from simulations.lab import Lab; "
        "Lab(sys.argv[1], sys.argv[2], env={'GOVNET_MINI_LAB': 'crash'}).up()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(MINI), str(lab_dir)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        # wait until up is midway: namespaces made and some daemons running
        while time.monotonic() < deadline:
            if len(_daemons()) >= 3:
                break
            time.sleep(0.01)
        else:
            pytest.fail("up did not get midway within 20s")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        state_file = lab_dir / "govnet-lab-state.json"
        state = json.loads(state_file.read_text())
        assert state["complete"] is False  # really killed midway
        assert _namespaces()
        leftover = _daemons()
        assert leftover
        recorded = [p["pid"] for p in state["processes"]]

        lab = Lab(MINI, lab_dir, env={"GOVNET_MINI_LAB": LAB})
        assert not lab.is_up()
        result = lab.down()
        assert result.was_up and not result.survivors
    finally:
        if proc.poll() is None:
            proc.kill()
        Lab(MINI, lab_dir, env={"GOVNET_MINI_LAB": LAB}).down()

    assert _namespaces() == []
    assert not any(pid_alive(p) for p in leftover + recorded)
    time.sleep(1.0)  # a daemon that was still starting when up was killed must be gone too
    assert _processes_using(lab_dir) == []
    assert not executor.guard_routes_present(executor.guard_metric(LAB))
    assert _root_links() == links_before  # no veth or bridge left in the root namespace
    assert not list(Path("/etc/frr").glob(f"clab-{LAB}-*"))
    assert not list(Path("/var/run/frr").glob(f"clab-{LAB}-*"))
    assert not state_file.exists()


def test_up_then_down_leaves_nothing(tmp_path: Path) -> None:
    require_lab_prerequisites()
    lab = Lab(MINI, tmp_path / "clab-crash", env={"GOVNET_MINI_LAB": LAB})
    links_before = _root_links()
    result = lab.up()
    state = lab.state()
    assert state is not None
    pids = [p.pid for p in state.processes]
    assert result.processes == len(pids) == 19 and all(pid_alive(p) for p in pids)
    down = lab.down()
    assert not down.survivors
    assert _namespaces() == [] and not any(pid_alive(p) for p in pids)
    assert not executor.guard_routes_present(executor.guard_metric(LAB))
    assert _root_links() == links_before
    assert lab.down().was_up is False  # second down: nothing to do
