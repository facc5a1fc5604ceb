"""Fault to alert, end to end in the namespace lab (topologies/lab.clab.yml):

    govnet probe serve --netns clab-lab-nms-1 --interval 15   (the real exporter)
    → Prometheus (scrape and evaluate every 10 s, soc/rules)  → Alertmanager (inhibition)
    → the SOC console's /api/alerts, signed in like a browser

Battambang's only uplink (core-1:eth5) is cut together with one of Siem Reap's two
(core-1:eth4): within 90 s the console shows exactly one critical alert for KH-2 with
its four communes counted as suppressed under it, and nothing critical for dual-homed
KH-17; after link-up the alert resolves. Time-to-detect and time-to-resolve are printed
(bench/soc.py repeats the drill). Everything started is stopped by PID, even on failure.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.soc.drill import ConsoleClient, LoopPorts, SocLoop, run_drill
from controller.web.users import UserStore
from tests.conftest import ROOT, require
from tests.soc.helpers import free_ports, own_pids_alive

pytestmark = pytest.mark.lab
PASSWORD = "e2e-lab-password"
TARGETS = 23  # every lab device but the NMS


@dataclass
class SocLab:
    lab: object
    console: ConsoleClient
    state: Path


@pytest.fixture(scope="module")
def soc_lab(lab_network: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocLab]:
    for binary in ("fping", "prometheus", "prometheus-alertmanager", "promtool", "amtool"):
        require(shutil.which(binary) is not None, f"{binary} is not installed")
    state = tmp_path_factory.mktemp("soc-e2e")
    ports = LoopPorts(*free_ports(5))
    # probes every 15 s; Prometheus scrapes and evaluates every 10 s (the defaults)
    loop = SocLoop(state, ROOT / "inventory/lab", ports, probe_interval=15, scrypt_n=2**12)
    try:
        loop.start()
        UserStore(state / "soc" / "users.json", 2**12).add("soc-e2e", "soc", None, PASSWORD)
        client = ConsoleClient(loop.console_url, "soc-e2e", PASSWORD)
        loop.wait_for_targets(TARGETS, 120)
        yield SocLab(lab_network, client, state)
    finally:
        pids = list(loop.pids)
        loop.stop()
        assert own_pids_alive(pids) == [], "a process of the e2e test outlived it"


def test_a_cut_province_uplink_is_one_critical_alert_then_resolves(soc_lab: SocLab) -> None:
    from simulations.faults import Faults

    lines: list[str] = []
    result = run_drill(Faults(soc_lab.lab), soc_lab.console, log=lines.append)  # type: ignore[arg-type]
    report = {**result.as_dict(), "log": lines}
    (soc_lab.state / "drill.json").write_text(json.dumps(report, indent=2))
    print("\nSOC drill:", json.dumps(report, indent=2))
    if os.environ.get("GOVNET_DRILL_REPORT"):
        Path(os.environ["GOVNET_DRILL_REPORT"]).write_text(json.dumps(report, indent=2))

    assert result.detect_seconds < 90, report
    assert result.alert["alertname"] == "GovnetProvinceDown"
    assert result.alert["labels"]["device"] == "pr-kh2"
    # one visible alert for Battambang; the consequences are suppressed under it
    assert result.visible_in_province == ["GovnetProvinceDown/critical"], report
    assert result.suppressed_sites == 4, report
    assert result.suppressed_alerts == [
        "GovnetProvinceIsolated",  # SNMP: every uplink of KH-2 down (core-1 side)
        "GovnetSitesUnreachableBehindProvince",  # the four communes
        "GovnetUplinkDown",  # core-1:eth5--pr-kh2:eth1
    ], report
    # dual-homed Siem Reap lost one uplink: no province or site alert, nothing critical —
    # only the lost redundancy, as a warning
    assert result.dual_homed_visible == ["GovnetUplinkDown/warning"], report
    assert result.resolve_seconds < 90, report
