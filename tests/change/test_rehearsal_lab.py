"""Rehearse, apply, then check with the probes (root; lab tier).

A change that accidentally breaks a commune's path — the access link of commune 020101
deleted from the inventory: pr-kh2 drops the link's address, the commune's static route
dies with it — is caught at rehearsal (the probes see the commune go, the lab is put
back) and refused at apply. A good change (a new description on Battambang's uplink) rehearses,
then — started, its silences on, with the probes, Prometheus and Alertmanager running —
applies through the probe gate and stays, and no alert pages. Both are recorded on the
change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulations.campaign import CampaignSoc
from simulations.scenario import check_alerts
from tests.conftest import LAB_TOPOLOGY, ROOT, lab_env

pytestmark = pytest.mark.lab

COMMUNE_LINK = "pr-kh2:eth5, b: cpe-020101:eth1"
OLD_DESCRIPTION = "description: Battambang uplink}"
NEW_DESCRIPTION = "description: Battambang uplink (new optic 2026-12)}"


def govnet(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from controller.cli.main import run; run()", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=os.environ | lab_env() | {"GOVNET_STATE_DIR": str(state)},
    )


def vtysh(node: str, command: str) -> str:
    argv = ["ip", "netns", "exec", f"clab-lab-{node}", "vtysh", "-N", f"clab-lab-{node}"]
    return subprocess.run(
        [*argv, "-c", command], capture_output=True, text=True, timeout=30, check=True
    ).stdout


def edited(tmp_path: Path, name: str, edit: Any) -> Path:
    copy = tmp_path / name
    shutil.copytree(ROOT / "inventory/lab", copy)
    links = copy / "links.yaml"
    links.write_text(edit(links.read_text()))
    return copy


def new_change(inventory: Path, state: Path, title: str) -> int:
    made = govnet(
        "-i", str(inventory), "change", "new", "--title", title,
        "--window", "2030-01-05T22:00..02:00", "--device", "pr-kh2", "--json", state=state,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return int(json.loads(made.stdout)["id"])


def rehearse(ident: int, state: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = govnet(
        "change", "rehearse", str(ident), "--lab", str(LAB_TOPOLOGY),
        "--trust-on-first-use", "--json", *extra, state=state,
    )  # fmt: skip
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def apply(inventory: Path, state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return govnet(
        "-i", str(inventory), "link", "apply", "--all", "--lab", str(LAB_TOPOLOGY),
        "--trust-on-first-use", *extra, state=state,
    )  # fmt: skip


@pytest.fixture()
def state(lab_network: object, tmp_path: Path) -> Iterator[Path]:
    """A state dir; afterwards every router is put back to the shipped inventory."""
    folder = tmp_path / "state"
    try:
        yield folder
    finally:
        back = apply(ROOT / "inventory/lab", tmp_path / "restore-state")
        assert back.returncode == 0, back.stdout + back.stderr


def test_a_change_that_breaks_a_communes_path_is_caught_at_rehearsal_and_refused_at_apply(
    state: Path, tmp_path: Path
) -> None:
    def drop_commune_link(text: str) -> str:
        kept = [line for line in text.splitlines(keepends=True) if COMMUNE_LINK not in line]
        assert len(kept) == len(text.splitlines()) - 1
        return "".join(kept)

    broken = edited(tmp_path, "broken", drop_commune_link)
    ident = new_change(broken, state, "Tidy Battambang access links")
    code, out = rehearse(ident, state, "--confirm-timeout", "15")
    assert code == 1, out
    rehearsal = out["rehearsal"]
    assert not rehearsal["ok"]
    # the probes saw the commune go; core-1 also lost its two routes to it (verification)
    assert rehearsal["report"]["sites_lost"] == ["020101"]
    assert rehearsal["report"]["sites_changed"] == [
        {"site": "020101", "before": "up", "after": "down", "devices": ["cpe-020101"]}
    ]
    assert rehearsal["report"]["summary"].endswith("1 site(s) up before are not after: 020101")
    devices = {d["device"]: d for d in out["devices"]}
    assert devices["pr-kh2"]["status"] == "rolled-back"
    assert "config restored byte-for-byte" in devices["pr-kh2"]["message"]
    assert "ip address 10.253.0.20/31" in vtysh("pr-kh2", "show running-config")  # put back

    refused = apply(broken, state, "--change", str(ident))
    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert f"change {ident}: its rehearsal of this inventory" in refused.stderr
    assert "ip address 10.253.0.20/31" in vtysh("pr-kh2", "show running-config")
    shown = json.loads(govnet("change", "show", str(ident), "--json", state=state).stdout)
    assert [e["step"] for e in shown["events"]] == ["new", "rehearse"]


def test_a_good_change_rehearses_then_applies_through_the_probe_gate(
    state: Path, tmp_path: Path
) -> None:
    good = edited(tmp_path, "good", lambda text: text.replace(OLD_DESCRIPTION, NEW_DESCRIPTION))
    ident = new_change(good, state, "Battambang uplink: new optic")

    early = apply(good, state, "--change", str(ident))  # not rehearsed yet
    assert early.returncode == 5 and "never rehearsed" in early.stderr

    code, out = rehearse(ident, state)
    assert code == 0, out
    assert out["rehearsal"]["ok"], out["rehearsal"]
    assert out["rehearsal"]["report"]["sites_changed"] == []
    statuses = {d["device"]: d["status"] for d in out["devices"]}
    assert statuses["core-1"] == statuses["pr-kh2"] == "rehearsed"
    assert "new optic" not in vtysh("core-1", "show running-config")  # the lab is put back

    # the real thing, watched by the SOC: the change's silences on, nothing else may page
    with CampaignSoc(ROOT / "inventory/lab", "clab-lab-nms-1", tmp_path / "soc") as soc:
        started = govnet(
            "change", "start", str(ident), "--alertmanager-url", soc.alertmanager_url,
            state=state,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        done = apply(good, state, "--change", str(ident))
        assert done.returncode == 0, done.stdout + done.stderr
        # every alert's `for` is at least 30 s: 45 s on, anything the apply broke would page
        quiet, detail = check_alerts({"quiet": [{"alertname": "~.+"}], "hold": 45}, soc.alerts, "t")
        assert quiet, detail
        finished = govnet(
            "change", "finish", str(ident), "--alertmanager-url", soc.alertmanager_url,
            state=state,
        )  # fmt: skip
        assert finished.returncode == 0, finished.stderr
    assert "probe gate: every site answers as before" in done.stdout
    assert "new optic 2026-12" in vtysh("core-1", "show running-config")
    shown = json.loads(govnet("change", "show", str(ident), "--json", state=state).stdout)
    assert [e["step"] for e in shown["events"]] == ["new", "rehearse", "start", "apply", "finish"]
    assert shown["events"][3]["detail"].startswith("applied on 2 device(s)")
    assert shown["rehearsals"][0]["digest"] == out["rehearsal"]["digest"]
