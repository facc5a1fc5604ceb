"""The two inventories govnet ships are valid and describe what they promise."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from controller.inventory import load_inventory
from controller.inventory.model import LinkKind, Role
from controller.inventory.views import summary


def test_the_national_inventory_covers_all_provinces_communes_and_tenants(at_root: Path) -> None:
    inv = load_inventory(Path("inventory/cambodia"))
    totals = summary(inv)["totals"]
    assert (totals["provinces"], totals["communes"], totals["tenants"]) == (25, 1652, 29)
    assert {p.code for p in inv.provinces} == {f"KH-{n}" for n in range(1, 26)}
    assert next(p for p in inv.provinces if p.code == "KH-12").name == "Phnom Penh"


def test_every_commune_has_a_cpe_linked_to_its_province_router(at_root: Path) -> None:
    inv = load_inventory(Path("inventory/cambodia"))
    cpes = {d.site: d for d in inv.devices if d.role is Role.CPE}
    assert set(cpes) == {c.code for c in inv.communes}
    access = [link for link in inv.links if link.kind is LinkKind.COMMUNE_ACCESS]
    assert len(access) == 1652
    province_of = {c.code: c.province for c in inv.communes}
    for link in access:
        cpe = inv.device(link.b_device)
        router = inv.device(link.a_device)
        assert router.role is Role.PROVINCE_ROUTER
        assert router.site == province_of[cpe.site]


def test_each_province_router_is_dual_homed_to_the_core(at_root: Path) -> None:
    inv = load_inventory(Path("inventory/cambodia"))
    uplinks = Counter(link.b_device for link in inv.links if link.kind is LinkKind.PROVINCE_CORE)
    assert len(uplinks) == 25 and set(uplinks.values()) == {2}


def test_the_national_platforms_are_services_of_their_tenants(at_root: Path) -> None:
    inv = load_inventory(Path("inventory/cambodia"))
    services = {s.name for t in inv.tenants for s in t.services}
    for name in ("CamDX", "Form.gov.kh", "Go.gov.kh", "VerifyKH", "Flow.gov.kh", "Nomsa.gov.kh"):
        assert name in services
    codes = {t.code for t in inv.tenants}
    assert {"MAFF", "MCS", "MoC", "MEF", "MPTC", "OCM", "CDC"} <= codes


def test_the_lab_inventory_is_small_and_matches_the_lab_shape(at_root: Path) -> None:
    inv = load_inventory(Path("inventory/lab"))
    roles = Counter(d.role for d in inv.devices)
    assert roles[Role.PROVINCE_ROUTER] == 3
    assert roles[Role.MINISTRY_ROUTER] == 3
    assert roles[Role.CPE] == 12
    assert {d.code for d in inv.datacentres} == {"NDC", "DR"}
