"""The change journal against the lab's real FRR routers (root; lab tier).

Spec: an apply killed with SIGKILL — before its push, between two devices, or while
verifying — leaves its journal open; the next apply is refused with a message naming
the journal and the command to run; `govnet link recover` puts every router back
byte for byte and closes the journal; a second recover finds nothing to do. SIGTERM
and SIGINT instead restore at once, audit every device and close the journal.

The engine's test hook GOVNET_TEST_CHECKPOINT makes it print a marker at the chosen
step and wait there, so the kill lands exactly at that moment (no sleeps).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LAB_TOPOLOGY, ROOT
from tests.provision.test_confirm_lab import node_tmp, timer_processes
from tests.provision.test_provision_lab import govnet, vtysh

pytestmark = pytest.mark.lab

ROUTERS = ("core-1", "pr-kh2")
"""The two ends of Battambang's uplink, whose description the test change edits."""


@pytest.fixture()
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture()
def described(
    lab_network: object, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """inventory/lab with a new description on Battambang's uplink (a change to both
    ends); afterwards both routers are put back to the shipped inventory."""
    copy = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory/lab", copy)
    links = copy / "links.yaml"
    links.write_text(
        links.read_text().replace(
            "description: Battambang uplink}", "description: Battambang uplink via journal}"
        )
    )
    try:
        yield copy
    finally:
        restore = govnet(
            "link",
            "apply",
            *[arg for router in ROUTERS for arg in ("-d", router)],
            "--trust-on-first-use",
            state=tmp_path_factory.mktemp("restore"),
            inventory=ROOT / "inventory/lab",
        )
        assert restore.returncode == 0, restore.stdout + restore.stderr


def running() -> dict[str, str]:
    return {router: vtysh(router, "show running-config") for router in ROUTERS}


def start_apply(inventory: Path, state: Path, checkpoint: str) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-c",
        "from controller.cli.main import run; run()",
        "-i",
        str(inventory),
        "link",
        "apply",
        *[arg for router in ROUTERS for arg in ("-d", router)],
        "--workers",
        "1",
        "--trust-on-first-use",
        "--json",
        "--lab",
        str(LAB_TOPOLOGY),
        "--state-dir",
        str(state),
    ]
    env = dict(os.environ, GOVNET_TEST_CHECKPOINT=checkpoint)
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_checkpoint(proc: subprocess.Popen[str], checkpoint: str, timeout: float) -> None:
    """Read the apply's stderr until it says it reached ``checkpoint``."""
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                continue
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith(f"govnet-checkpoint: {checkpoint} "):
                return
    proc.kill()
    proc.wait(timeout=30)
    pytest.fail(f"apply never reached {checkpoint}: {''.join(seen)}")


def open_journals(state: Path) -> list[Path]:
    return [
        path
        for path in sorted((state / "changes").glob("*.json"))
        if json.loads(path.read_text())["state"] != "closed"
    ]


@pytest.mark.parametrize("moment", ["before-push", "between-devices", "verifying"])
def test_an_apply_killed_with_sigkill_is_refused_until_recover_restores_every_router(
    described: Path, state: Path, moment: str
) -> None:
    before = running()
    proc = start_apply(described, state, moment)
    wait_for_checkpoint(proc, moment, timeout=120)
    if moment == "between-devices":
        assert running()["core-1"] != before["core-1"], "the first device was pushed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    (journal,) = open_journals(state)
    assert journal.stat().st_mode & 0o777 == 0o600, "the journal holds configs: owner only"
    recorded = json.loads(journal.read_text())
    assert set(recorded["devices"]) == set(ROUTERS)
    pre = Path(recorded["devices"]["core-1"]["pre_file"])
    assert "Battambang uplink to pr-kh2 eth1" in pre.read_text()
    assert pre.stat().st_mode & 0o777 == 0o600 and state / "restore" in pre.parents
    assert recorded["devices"]["core-1"]["commands"], "the commands are journalled"
    assert recorded["author"]

    refused = govnet("link", "apply", "-d", "core-1", state=state, inventory=described)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert str(journal) in refused.stderr and "govnet link recover" in refused.stderr
    assert "Traceback" not in refused.stderr

    recovered = govnet("link", "recover", "--json", state=state, inventory=described)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    report = json.loads(recovered.stdout)
    assert report["closed"] is True and report["change"] == recorded["id"]
    assert {d["status"] for d in report["devices"]} == {"restored"}
    assert running() == before, "every router byte-identical to its pre-change config"
    # the killed apply had armed the routers' own undo timers: recover ended them, or
    # they would undo whatever the next change does
    for router in ROUTERS:
        assert not timer_processes(router), f"{router}'s timer still counts"
        assert not list(node_tmp(router).glob("govnet-confirm.*"))
    assert open_journals(state) == []
    audit = [json.loads(line) for line in (state / "audit.log").read_text().splitlines()]
    assert {a["device"] for a in audit if a["event"] == "recover"} == set(ROUTERS)

    again = govnet("link", "recover", "--json", state=state, inventory=described)
    assert again.returncode == 0
    assert json.loads(again.stdout)["devices"] == []
    assert running() == before


@pytest.mark.parametrize(
    ("sig", "moment"), [(signal.SIGTERM, "verifying"), (signal.SIGINT, "between-devices")]
)
def test_sigterm_or_sigint_restores_audits_and_closes_the_journal(
    described: Path, state: Path, sig: signal.Signals, moment: str
) -> None:
    before = running()
    proc = start_apply(described, state, moment)
    wait_for_checkpoint(proc, moment, timeout=120)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert f"interrupted by {sig.name}" in err and "Traceback" not in err
    results = {d["device"]: d for d in json.loads(out)["devices"]}
    assert "restored byte-for-byte" in results["core-1"]["message"]
    assert running() == before
    for router in ROUTERS:  # armed, pushed or not: no timer is left to undo a later change
        assert not timer_processes(router), f"{router}'s timer still counts"
    assert open_journals(state) == []
    audit = [json.loads(line) for line in (state / "audit.log").read_text().splitlines()]
    assert {a["device"] for a in audit if a["event"] == "apply"} == set(ROUTERS)

    applied = govnet("link", "apply", "-d", "core-1", "--json", state=state, inventory=described)
    assert applied.returncode == 0, applied.stdout + applied.stderr
