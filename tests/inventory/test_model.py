"""The inventory model: inheritance, link addressing, value forms, merging files."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.inventory import load_inventory, validate_inventory
from controller.inventory.model import DEFAULT_SLO, Link, Platform, Role, SloLevel
from tests.conftest import ROOT

BASE = (ROOT / "tests/inventory/base.yaml").read_text()


def test_settings_inherit_from_device_then_groups_then_defaults(tmp_path: Path) -> None:
    text = (
        BASE.replace(
            "defaults: {platform: frr, snmp_profile: v3, ssh_credential: lab}",
            "defaults: {platform: frr, snmp_profile: v3, ssh_credential: lab}\n"
            "groups:\n  huawei: {platform: huawei_vrp}\n  ios: {platform: cisco_ios}",
        )
        .replace(
            "{name: pr-kh17, role: province-router,",
            "{name: pr-kh17, groups: [huawei, ios], role: province-router,",
        )
        .replace(
            "{name: core-1, role: core,",
            "{name: core-1, platform: linux, groups: [ios], role: core,",
        )
    )
    (tmp_path / "inv.yaml").write_text(text)
    inv = load_inventory(tmp_path / "inv.yaml")
    assert inv.platform(inv.device("pr-kh17")) is Platform.HUAWEI_VRP  # first group wins
    assert inv.platform(inv.device("core-1")) is Platform.LINUX  # the device itself wins
    assert inv.platform(inv.device("cpe-120101")) is Platform.FRR  # defaults


@pytest.mark.parametrize(
    ("prefix", "a", "b"),
    [("10.0.0.0/31", "10.0.0.0/31", "10.0.0.1/31"), ("10.0.0.4/30", "10.0.0.5/30", "10.0.0.6/30")],
)
def test_link_sides_take_the_first_and_second_address(prefix: str, a: str, b: str) -> None:
    link = Link.model_validate(
        {"a": "x:eth1", "b": "y:eth1", "kind": "core", "bandwidth": "1G", "prefix": prefix}
    )
    assert (str(link.a_address), str(link.b_address)) == (a, b)


@pytest.mark.parametrize(
    ("text", "mbps"), [("10G", 10_000), ("100M", 100), ("2.5G", 2500), (50, 50)]
)
def test_bandwidth_reads_rates_with_units(text: object, mbps: float) -> None:
    link = Link.model_validate(
        {"a": "x:e1", "b": "y:e1", "kind": "core", "bandwidth": text, "prefix": "10.0.0.0/31"}
    )
    assert link.bandwidth == mbps


def test_a_folder_merges_list_sections_and_reports_clashing_mapping_keys(tmp_path: Path) -> None:
    head, _, tail = BASE.partition("pools:")
    (tmp_path / "a.yaml").write_text(head)
    (tmp_path / "b.yaml").write_text("pools:" + tail)
    assert load_inventory(tmp_path).network.name == "golden"
    (tmp_path / "c.yaml").write_text(
        "credentials:\n  ssh:\n    lab: {username: x, password: env:OTHER}\n"
        "provinces:\n  - {code: KH-1, name: Banteay Meanchey}\n"
    )
    result = validate_inventory(tmp_path)
    assert [str(p) for p in result.problems] == [
        f"{tmp_path}/c.yaml:3: credentials.ssh.lab: already defined at {tmp_path}/b.yaml:15"
    ]
    assert result.inventory is not None and len(result.inventory.provinces) == 3


def test_a_missing_inventory_is_one_clear_problem(tmp_path: Path) -> None:
    result = validate_inventory(tmp_path / "nowhere")
    assert [p.message for p in result.problems] == ["no such file or folder"]


def test_slo_section_overrides_a_roles_defaults_field_by_field(tmp_path: Path) -> None:
    (tmp_path / "inv.yaml").write_text(
        BASE + "slo:\n  cpe: {availability_percent: 99.0}\n"
        "  ministry-router: {availability_percent: 99.95, rtt_p95_seconds: 0.02}\n"
    )
    inv = load_inventory(tmp_path / "inv.yaml")
    assert inv.slo_for(Role.CPE) == SloLevel(99.0, 0.150, 0.050)
    assert inv.slo_for(Role.MINISTRY_ROUTER) == SloLevel(99.95, 0.02, 0.010)
    assert inv.slo_for(Role.CORE) == DEFAULT_SLO[Role.CORE]


def test_every_role_has_an_slo_and_a_mission_router_gets_the_internet_one(tmp_path: Path) -> None:
    assert set(DEFAULT_SLO) == set(Role)
    assert DEFAULT_SLO[Role.MISSION_ROUTER] == SloLevel(99.5, 0.350, 0.020)
    (tmp_path / "inv.yaml").write_text(BASE + "slo:\n  mission-router: {rtt_p95_seconds: 0.3}\n")
    inv = load_inventory(tmp_path / "inv.yaml")
    assert inv.slo_for(Role.MISSION_ROUTER) == SloLevel(99.5, 0.3, 0.020)


def test_slo_values_and_roles_are_validated_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "inv.yaml").write_text(
        BASE + "slo:\n  cpe: {availability_percent: 120}\n  router: {loss_ratio: 0.1}\n"
    )
    problems = [str(p) for p in validate_inventory(tmp_path / "inv.yaml").problems]
    assert len(problems) == 2, problems
    assert "slo.cpe.availability_percent" in problems[0]
    assert problems[0].endswith(":49: slo.cpe.availability_percent: must be at most 100.0, got 120")
    assert "slo.router" in problems[1]


def test_the_notifications_section_is_a_known_section(tmp_path: Path) -> None:
    (tmp_path / "inv.yaml").write_text(
        BASE + "notifications:\n  receivers:\n    soc: {webhook: ['http://127.0.0.1:9/hook']}\n"
    )
    result = validate_inventory(tmp_path / "inv.yaml")
    assert [str(p) for p in result.problems] == []
    assert result.inventory is not None
    assert result.inventory.notifications.receivers["soc"].webhook == ["http://127.0.0.1:9/hook"]
