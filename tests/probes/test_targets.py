"""Targets and their upstream parents, from the lab and national inventories."""

from __future__ import annotations

from functools import cache

from controller.inventory import load_inventory
from probes.model import Target
from probes.targets import build_targets
from tests.conftest import ROOT


@cache
def lab() -> dict[str, Target]:
    return {t.name: t for t in build_targets(load_inventory(ROOT / "inventory/lab"))}


@cache
def national() -> dict[str, Target]:
    return {t.name: t for t in build_targets(load_inventory(ROOT / "inventory/cambodia"))}


def test_every_device_but_the_nms_is_a_target() -> None:
    targets = lab()
    assert "nms-1" not in targets
    assert len(targets) == 23
    assert sum(1 for t in targets.values() if t.role == "cpe") == 12


def test_addresses_labels_and_profile_of_a_router_and_a_commune_site() -> None:
    pr = lab()["pr-kh17"]
    assert (pr.icmp_address, pr.snmp_address) == ("10.255.0.22", "172.20.20.22")
    assert (pr.site, pr.province, pr.role, pr.tenant) == ("KH-17", "KH-17", "province-router", "")
    assert pr.snmp_profile_name == "lab-v3" and pr.snmp_profile is not None
    assert pr.snmp_profile.version == "3" and pr.snmp_profile.level == "authPriv"
    cpe = lab()["cpe-171001"]
    assert (cpe.site, cpe.province, cpe.icmp_address) == ("171001", "KH-17", "10.255.0.105")
    assert lab()["mr-mef"].tenant == "MEF"


def test_parents_follow_the_links_towards_the_core() -> None:
    targets = lab()
    assert targets["core-1"].parents == () and targets["core-1"].level == 0
    assert targets["dr-1"].parents == ("core-1",)
    assert targets["ndc-1"].parents == ("core-1",)  # ndc-1 -- dr-1 is a peer link
    assert targets["pr-kh12"].parents == ("core-1",)
    assert targets["cpe-120101"].parents == ("pr-kh12",)
    assert targets["cpe-120101"].level == 2


def test_pr_kh17_is_dual_homed_to_the_core_and_the_dr_site() -> None:
    assert lab()["pr-kh17"].parents == ("core-1", "dr-1")


def test_a_mission_hangs_off_both_data_centre_gateways_its_tunnels_end_on() -> None:
    mission = lab()["ms-fr-par"]
    assert mission.parents == ("dr-1", "ndc-1") and mission.level == 2
    assert (mission.site, mission.role, mission.province) == ("FR-PAR", "mission-router", "")


def test_national_inventory_polls_every_device_with_snmpv3_authpriv() -> None:
    profiles = {t.snmp_profile_name: t.snmp_profile for t in national().values()}
    assert sorted(profiles) == ["cpe-v3", "noc-v3"]
    assert all(p and p.version == "3" and p.level == "authPriv" for p in profiles.values())
    assert profiles["cpe-v3"].user != profiles["noc-v3"].user  # type: ignore[union-attr]


def test_national_profiles_and_dual_homed_province_routers() -> None:
    targets = national()
    assert len(targets) == 1784  # 1,785 devices less the NMS
    cpes = [t for t in targets.values() if t.role == "cpe"]
    assert len(cpes) == 1652
    assert {t.snmp_profile_name for t in cpes} == {"cpe-v3"}
    assert all(t.snmp_profile and t.snmp_profile.version == "3" for t in cpes)
    routers = [t for t in targets.values() if t.role == "province-router"]
    assert len(routers) == 25
    assert all(t.snmp_profile_name == "noc-v3" for t in routers)
    assert all(t.parents == ("core-1", "core-2") for t in routers)
    assert all(len(t.parents) == 1 and t.parents[0].startswith("pr-") for t in cpes)


def test_targets_come_root_first() -> None:
    levels = [t.level for t in build_targets(load_inventory(ROOT / "inventory/lab"))]
    assert levels == sorted(levels)
