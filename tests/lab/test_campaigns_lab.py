"""The shipped fault campaigns against the built-in lab and a real SOC (root; lab tier):
the probes polling from the lab's NMS, Prometheus and Alertmanager on loopback, each
campaign's alerts — paging, suppressed, quiet, resolved — asserted on Alertmanager.

One SOC serves every campaign of the module (started once, stopped by PID). The 20 %
ministry-link loss needs its 5-minute SLO window: it is marked ``slow``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulations.campaign import CampaignSoc
from simulations.scenario import run_scenario
from tests.conftest import ROOT, lab_env, require

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def soc(lab_network: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CampaignSoc]:
    import shutil

    require(shutil.which("prometheus") is not None, "prometheus is not installed")
    for key, value in lab_env().items():
        os.environ.setdefault(key, value)
    state: Path = tmp_path_factory.mktemp("campaign-soc")
    with CampaignSoc(ROOT / "inventory/lab", "clab-lab-nms-1", state) as running:
        yield running


def run(lab: Any, soc: CampaignSoc, name: str) -> None:
    result = run_scenario(lab, f"{name}.yaml", alerts=soc.alerts)
    report = [f"{s.index} {s.kind} {s.description}: {s.ok} {s.detail}" for s in result.steps]
    assert result.ok, "\n".join(report)
    state = lab.state()
    assert state is not None and state.faults == []  # healed


def test_a_province_cut_pages_once_with_its_communes_and_uplink_inhibited(
    lab_network: Any, soc: CampaignSoc
) -> None:
    run(lab_network, soc, "province-cut")


def test_a_dual_homed_uplink_loss_is_a_warning_and_nothing_critical(
    lab_network: Any, soc: CampaignSoc
) -> None:
    run(lab_network, soc, "dual-homed-uplink-loss")


def test_the_core_node_lost_is_one_national_page(lab_network: Any, soc: CampaignSoc) -> None:
    run(lab_network, soc, "core-node-loss")


def test_a_flapping_commune_never_pages(lab_network: Any, soc: CampaignSoc) -> None:
    run(lab_network, soc, "flapping-commune")


def test_the_soc_drill_as_a_campaign(lab_network: Any, soc: CampaignSoc) -> None:
    run(lab_network, soc, "soc-drill")


@pytest.mark.slow
def test_twenty_percent_loss_on_a_ministry_link_warns_and_never_pages_it_down(
    lab_network: Any, soc: CampaignSoc
) -> None:
    run(lab_network, soc, "ministry-link-loss")
