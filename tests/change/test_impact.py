"""Blast radius from the inventory: the lab's three cases from the issue, the national
network's dual homing, tenants, monitoring, and bad input."""

from __future__ import annotations

import json
from functools import cache

import pytest
from typer.testing import CliRunner

from controller.change.impact import Failure, ImpactError, Network
from controller.cli.main import app
from controller.inventory import load_inventory
from tests.cli.test_inventory_cli import govnet
from tests.conftest import ROOT

BATTAMBANG_UPLINK = "core-1:eth5--pr-kh2:eth1"
SIEM_REAP_CORE_UPLINK = "core-1:eth4--pr-kh17:eth1"
runner = CliRunner()


@cache
def lab() -> Network:
    return Network(load_inventory(ROOT / "inventory/lab"))


@cache
def national() -> Network:
    return Network(load_inventory(ROOT / "inventory/cambodia"))


def test_battambangs_uplink_isolates_pr_kh2_its_four_communes_and_its_collector() -> None:
    result = lab().impact(Failure(links=(BATTAMBANG_UPLINK,)))
    assert result.names("isolated") == [
        "col-kh2",
        "cpe-020101",
        "cpe-020102",
        "cpe-020301",
        "cpe-020302",
        "pr-kh2",
    ]
    assert result.isolated_sites == ("020101", "020102", "020301", "020302", "KH-2")
    assert result.names("degraded") == [] and result.names("down") == []
    assert result.tenants == ()
    # Battambang's regional collector (an NMS node) is cut off with them and still polls them
    assert result.names("unmonitored") == []


def test_siem_reaps_core_uplink_isolates_nothing_and_degrades_pr_kh17_only() -> None:
    """pr-kh17 is dual-homed (core-1 and dr-1); its communes never had a second path."""
    result = lab().impact(Failure(links=(SIEM_REAP_CORE_UPLINK,)))
    assert result.names("isolated") == []
    assert result.names("degraded") == ["pr-kh17"]
    assert result.names("unmonitored") == []


def test_core_1_down_isolates_every_site_but_the_dr_side() -> None:
    result = lab().impact(Failure(devices=("core-1",)))
    assert result.names("down") == ["core-1"]
    isolated = set(result.names("isolated"))
    dr_side = {"pr-kh17", "cpe-170101", "cpe-170102", "cpe-171001", "cpe-171002"}
    dr_side |= {"ms-fr-par", "ms-jp-tyo"}  # missions tunnel to both data centres
    assert isolated.isdisjoint(dr_side | {"ndc-1", "dr-1"})
    everything_else = {d.name for d in lab().inv.devices} - dr_side - {"ndc-1", "dr-1", "core-1"}
    assert isolated == everything_else
    assert result.names("degraded") == ["pr-kh17"]  # only dr-1 is left to it


def test_a_ministry_cut_off_from_the_core_loses_its_hosted_services_in_both_dcs() -> None:
    result = lab().impact(Failure(devices=("core-1",)))
    mef = {(t.service, t.datacentres, t.devices) for t in result.tenants if t.tenant == "MEF"}
    assert ("CamDX", ("DR", "NDC"), ("mr-mef",)) in mef  # replicated, and still cut off
    assert ("FMIS", ("NDC",), ("mr-mef",)) in mef


def test_the_nms_behind_a_failed_core_leaves_the_whole_network_unmonitored() -> None:
    result = lab().impact(Failure(devices=("core-1",)))
    assert "nms-1" in result.names("isolated")
    assert {"ndc-1", "dr-1", "pr-kh17"} <= set(result.names("unmonitored"))


def test_a_whole_site_down_is_down_not_isolated() -> None:
    result = lab().impact(Failure(sites=("KH-2",)))
    assert result.names("down") == ["col-kh2", "pr-kh2"]  # the site's collector with it
    assert "pr-kh2" not in result.names("isolated")
    assert "KH-2" not in result.isolated_sites
    assert result.names("isolated") == ["cpe-020101", "cpe-020102", "cpe-020301", "cpe-020302"]


def test_nationally_one_core_down_degrades_every_province_router_and_isolates_none() -> None:
    """Every province router is dual-homed to core-1 and core-2."""
    result = national().impact(Failure(devices=("core-1",)))
    degraded = result.names("degraded")
    assert sum(1 for name in degraded if name.startswith("pr-")) == 25
    assert not any(name.startswith(("pr-", "cpe-")) for name in result.names("isolated"))


def test_nationally_a_province_router_down_isolates_exactly_its_communes() -> None:
    net = national()
    communes = sorted(d.name for d in net.inv.devices if d.role == "cpe" and d.site[:2] == "02")
    result = net.impact(Failure(devices=("pr-kh2",)))
    assert result.names("isolated") == communes and len(communes) > 50


def test_every_list_is_sorted() -> None:
    result = national().impact(Failure(devices=("core-1", "core-2")))
    for section in ("down", "isolated", "degraded", "unmonitored"):
        names = result.names(section)
        assert names == sorted(names), section
    assert list(result.tenants) == sorted(result.tenants)


def test_unknown_elements_are_all_named_with_a_suggestion() -> None:
    with pytest.raises(ImpactError) as caught:
        lab().impact(Failure(links=("core-1:eth5--pr-kh2",), devices=("core-9",), sites=("KH-99",)))
    message = str(caught.value)
    assert "--link core-1:eth5--pr-kh2: not in the inventory (did you mean " in message
    assert "--device core-9: not in the inventory" in message
    assert "--site KH-99: not in the inventory" in message


def test_cli_json_for_scripts_and_a_one_line_error_for_people() -> None:
    inv = str(ROOT / "inventory/lab")
    good = runner.invoke(
        app, ["change", "impact", "-i", inv, "--link", BATTAMBANG_UPLINK, "--json"]
    )
    assert good.exit_code == 0, good.output
    data = json.loads(good.stdout)
    assert [d["device"] for d in data["isolated"]][-1] == "pr-kh2"
    assert data["failure"]["links"] == [BATTAMBANG_UPLINK]
    bad = govnet("change", "impact", "-i", inv, "--device", "core-9")
    assert bad.returncode != 0 and "--device core-9: not in the inventory" in bad.stderr
    assert "Traceback" not in bad.stderr and bad.stdout == ""
    nothing = govnet("change", "impact", "-i", inv)
    assert nothing.returncode == 2 and "say what fails" in nothing.stderr


def test_cli_table_lists_at_most_twenty_rows_a_section_unless_all() -> None:
    inv = str(ROOT / "inventory/cambodia")
    short = runner.invoke(app, ["change", "impact", "-i", inv, "--device", "pr-kh2"])
    assert short.exit_code == 0, short.output
    assert "more (--all or --json for every one)" in short.output
    full = runner.invoke(app, ["change", "impact", "-i", inv, "--device", "pr-kh2", "--all"])
    assert "more (--all" not in full.output
