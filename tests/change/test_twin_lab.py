"""`govnet change impact --verify-lab`: the lab twin confirms the prediction (root; lab
tier). The issue's three cases are played in the built-in lab — Battambang's uplink,
Siem Reap's core uplink, core-1 down — and observed from the NMS and the data centres;
an inventory that says more than the lab has (a Battambang uplink on paper only) is a
non-zero exit with the difference. The faults are healed every time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LAB_TOPOLOGY, ROOT, lab_env

pytestmark = pytest.mark.lab

BATTAMBANG = ["cpe-020101", "cpe-020102", "cpe-020301", "cpe-020302", "pr-kh2"]
DR_SIDE = ["cpe-170101", "cpe-170102", "cpe-171001", "cpe-171002", "dr-1", "ndc-1", "pr-kh17"]
MISSIONS = ["ms-fr-par", "ms-jp-tyo"]  # tunnels to the NDC and the DR
PAPER_LINK = (
    "  - {a: ndc-1:eth3, b: pr-kh2:eth2, kind: province-core, bandwidth: 1G,"
    " prefix: 10.254.0.40/31, routing: {ospf: {area: 0, hello: 1, dead: 4}},"
    " description: a Battambang uplink on paper only}\n"
)


def verify_lab(*args: str, inventory: Path = ROOT / "inventory/lab") -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from controller.cli.main import run; run()",
            "-i",
            str(inventory),
            "change",
            "impact",
            *args,
            "--verify-lab",
            str(LAB_TOPOLOGY),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=os.environ | lab_env(),
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)["verify_lab"]


def no_faults_left(lab: Any) -> None:
    state = lab.state()
    assert state is not None and state.faults == []


def targets_of(twin: dict[str, Any]) -> list[str]:
    return sorted(twin["observed"]["connected"] + twin["observed"]["isolated"])


def test_battambangs_uplink_cut_in_the_lab_isolates_pr_kh2_and_its_four_communes(
    lab_network: Any,
) -> None:
    """Isolated from the data centres, still monitored: Battambang's collector (col-kh2)
    sits behind pr-kh2 and keeps answering for them."""
    code, twin = verify_lab("--link", "core-1:eth5--pr-kh2:eth1")
    assert code == 0 and twin["ok"], twin
    assert twin["faults"] == ["link-down core-1:eth5"]
    assert twin["observed"]["isolated"] == BATTAMBANG
    assert twin["observed"]["unmonitored"] == []
    assert twin["healed"]["ok"], twin
    no_faults_left(lab_network)


def test_siem_reaps_core_uplink_cut_in_the_lab_isolates_nothing(lab_network: Any) -> None:
    code, twin = verify_lab("--link", "core-1:eth4--pr-kh17:eth1")
    assert code == 0 and twin["ok"], twin
    assert twin["observed"]["isolated"] == [] and twin["observed"]["unmonitored"] == []
    assert "pr-kh17" in twin["observed"]["connected"]  # degraded: still there, via dr-1
    assert twin["healed"]["ok"], twin
    no_faults_left(lab_network)


def test_core_1_down_in_the_lab_leaves_the_dr_side_and_the_missions_and_blinds_the_ndcs_nms(
    lab_network: Any,
) -> None:
    code, twin = verify_lab("--device", "core-1")
    assert code == 0 and twin["ok"], twin
    assert twin["faults"] == ["node-stop core-1"]
    assert twin["observed"]["connected"] == sorted(DR_SIDE + MISSIONS)
    assert twin["observed"]["monitored"] == BATTAMBANG  # seen by their collector only
    assert "core-1" not in targets_of(twin)
    assert twin["healed"]["ok"], twin
    no_faults_left(lab_network)


def test_a_prediction_the_lab_contradicts_exits_1_with_the_difference(
    lab_network: Any, tmp_path: Path
) -> None:
    paper = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory/lab", paper)
    with (paper / "links.yaml").open("a") as handle:
        handle.write(PAPER_LINK)
    code, twin = verify_lab(
        "--link", "core-1:eth5--pr-kh2:eth1", "--settle-timeout", "15", inventory=paper
    )
    assert code == 1 and not twin["ok"]
    wrong = twin["after"]["mismatches"]
    for device in BATTAMBANG:  # their collector still sees them: no NMS-side mismatch
        assert f"{device}: from the data centres predicted reachable, observed cut off" in wrong
    assert len(wrong) == len(BATTAMBANG)
    assert twin["healed"]["ok"], twin
    no_faults_left(lab_network)
