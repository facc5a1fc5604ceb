"""The national map: a tile per province at its place in Cambodia, coloured by its worst
active alert and saying it in words, suppressed counts, the core and data centres above;
on the national inventory (25 provinces) and on the lab (3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from controller.inventory import load_inventory
from controller.web import WebSettings, create_app
from controller.web.backends import Backends, Sample
from controller.web.routes.overview import backbone
from controller.web.sitemap import SiteIndex
from controller.web.views.alerts import parse_alerts
from controller.web.views.map import (
    CELL_H,
    CELL_W,
    POSITIONS,
    MapTile,
    NationalMap,
    national_map,
)
from controller.web.views.overview import Tile, tiles
from tests.conftest import ROOT
from tests.web.client import TestClient
from tests.web.conftest import FAST_SCRYPT, Console, add_users, sign_in
from tests.web.fakes import ALERTS, FakeAlertmanager, FakePrometheus, am_alert

NATIONAL = ROOT / "inventory/cambodia"
LAB = ROOT / "inventory/lab"


@pytest.fixture(scope="module")
def national() -> SiteIndex:
    return SiteIndex(load_inventory(NATIONAL))


@pytest.fixture(scope="module")
def lab() -> SiteIndex:
    return SiteIndex(load_inventory(LAB))


def _map(
    sites: SiteIndex, raw: list[dict[str, Any]], states: list[Sample] | None = None
) -> NationalMap:
    alerts = parse_alerts(raw)
    core, dcs = backbone(sites)
    grid = tiles(sites.provinces, [], [], alerts, dc_sites=[d.code for d in dcs])
    return national_map(grid, core, dcs, states or [], alerts)


def _overlap(a: MapTile, b: MapTile) -> bool:
    return abs(a.x - b.x) < CELL_W and abs(a.y - b.y) < CELL_H


def test_the_position_table_has_every_province_of_the_national_inventory_once(
    national: SiteIndex,
) -> None:
    table = {code: name for code, name, _, _ in POSITIONS}
    assert len(POSITIONS) == len(table) == 25
    assert table == {p.code: p.name for p in national.provinces}
    assert len({(c, r) for *_, c, r in POSITIONS}) == 25  # one cell each


def test_the_national_map_draws_25_clickable_provinces_where_they_are(
    national: SiteIndex,
) -> None:
    m = _map(national, [])
    assert len(m.tiles) == 25 and not any(t.ghost for t in m.tiles)
    assert m.provinces == 25 and m.datacentres == 2
    assert not any(_overlap(a, b) for a, b in combinations(m.tiles, 2))
    assert all(t.x >= 0 and t.x + CELL_W <= m.width and t.y + CELL_H <= m.height for t in m.tiles)
    at = {t.code: t for t in m.tiles}
    assert {t.href for t in m.tiles} == {f"/provinces/{p.code}" for p in national.provinces}
    # west → east and north → south as on a map of Cambodia
    assert at["KH-1"].x < at["KH-17"].x < at["KH-16"].x  # Banteay Meanchey, Siem Reap, Ratanakiri
    assert at["KH-22"].y < at["KH-17"].y < at["KH-4"].y < at["KH-12"].y < at["KH-7"].y
    assert at["KH-9"].x < at["KH-12"].x < at["KH-20"].x  # Koh Kong, Phnom Penh, Svay Rieng
    # the backbone above every province
    assert [b.code for b in m.boxes] == ["core", "NDC", "DR"]
    assert all(b.y + m.box_h < min(t.y for t in m.tiles) for b in m.boxes)


def test_on_the_lab_three_provinces_are_drawn_and_the_rest_outlined(lab: SiteIndex) -> None:
    m = _map(lab, ALERTS)
    real = {t.code: t for t in m.tiles if not t.ghost}
    assert sorted(real) == ["KH-12", "KH-17", "KH-2"]
    assert sum(1 for t in m.tiles if t.ghost) == 22
    assert all(
        t.href is None and t.label.endswith("not in this inventory") for t in m.tiles if t.ghost
    )
    battambang = real["KH-2"]
    assert battambang.colour == "critical"
    assert battambang.lines[2:] == ("critical", "ProvinceDown")  # the colour, in words
    assert battambang.corner == "+3 suppressed"
    assert "Province KH-2 is cut off" in battambang.label and "3 suppressed" in battambang.label
    assert real["KH-12"].colour == "critical"  # MEF's ministry router, in Phnom Penh
    assert real["KH-17"].lines[-1] == "no data"


def test_backbone_alerts_colour_the_core_or_a_data_centre_not_phnom_penh(lab: SiteIndex) -> None:
    core_down = am_alert(
        "d000000000000001",
        {
            "alertname": "GovnetCoreDown",
            "severity": "critical",
            "scope": "core",
            "province": "KH-12",
            "site": "KH-12",
            "device": "core-1",
            "role": "core",
        },
    )
    dr_down = am_alert(
        "d000000000000002",
        {
            "alertname": "GovnetDatacentreDown",
            "severity": "critical",
            "scope": "datacentre",
            "province": "KH-17",
            "site": "DR",
            "device": "dr-1",
            "role": "dc-gateway",
        },
    )
    interconnect = am_alert(
        "d000000000000003",
        {"alertname": "GovnetNdcDrLinkDown", "severity": "critical", "scope": "datacentre"},
        inhibited_by=["d000000000000002"],
    )
    states = [Sample({"device": n}, 1) for n in ("core-1", "ndc-1", "dr-1")]
    m = _map(lab, [core_down, dr_down, interconnect], states)
    boxes = {b.code: b for b in m.boxes}
    assert boxes["core"].colour == "critical" and boxes["core"].lines[2] == "critical: CoreDown"
    assert boxes["core"].lines[1] == "1/1 routers up"
    assert boxes["DR"].colour == "critical" and "+1 suppressed" in boxes["DR"].lines
    assert boxes["NDC"].colour == "ok" and "+1 suppressed" in boxes["NDC"].lines
    assert boxes["NDC"].href == "/sites/NDC" and boxes["core"].href == "/sites/KH-12"
    provinces = {t.code: t for t in m.tiles if not t.ghost}
    assert provinces["KH-12"].colour == "nodata" and provinces["KH-17"].colour == "nodata"


def test_a_province_the_table_does_not_know_goes_in_a_row_below(lab: SiteIndex) -> None:
    core, dcs = backbone(lab)
    extra = Tile("KH-99", "Nowhere", 0, 0, 0, 0, None, None, 0)
    m = national_map([extra], core, dcs, [], [])
    nowhere = next(t for t in m.tiles if t.code == "KH-99")
    assert nowhere.href == "/provinces/KH-99"
    assert nowhere.y > max(t.y for t in m.tiles if t.code != "KH-99")
    assert nowhere.y + CELL_H <= m.height


@pytest.fixture()
def national_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = WebSettings(state_dir=tmp_path, inventory=NATIONAL, scrypt_n=FAST_SCRYPT)
    add_users(settings)
    app = create_app(settings, Backends(FakePrometheus(), FakeAlertmanager(raw=[])))
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_the_overview_map_on_the_national_inventory(national_client: TestClient) -> None:
    sign_in(national_client, "alice")
    page = national_client.get("/").text
    provinces = re.findall(r'<a class="province province-(\w+)" href="/provinces/(KH-\d+)"', page)
    assert len(provinces) == 25
    assert 'class="province province-ghost"' not in page
    assert "not in this inventory" not in page  # no outline in the legend either
    assert "National map: the core, 2 data centre(s) and 25 province(s)" in page


def test_the_overview_map_on_the_lab_is_accessible_and_clickable(
    client: TestClient, console: Console
) -> None:
    sign_in(client, "alice")
    page = client.get("/").text
    assert page.count('<g class="province province-ghost" aria-hidden="true">') == 22
    battambang = re.search(
        r'<a class="province province-critical" href="/provinces/KH-2" aria-label="([^"]+)"',
        page,
    )
    assert battambang and "critical: ProvinceDown" in battambang.group(1)
    assert ">critical</text>" in page and ">ProvinceDown</text>" in page
    assert f"<title>{battambang.group(1)}</title>" in page
    for text in ("critical alert", "no alert", "no data", "not in this inventory"):
        assert f"</span>{text}</li>" in page  # the legend says what the colours mean
    assert 'href="/sites/NDC"' in page and 'href="/sites/DR"' in page
    # a summary with markup from Alertmanager is text, never markup
    assert "<script>alert(1)</script>" not in page


def test_the_provinces_api_counts_suppressed_alerts_and_leaves_the_backbone_out(
    client: TestClient, console: Console
) -> None:
    console.alertmanager.raw.append(
        am_alert(
            "d000000000000001",
            {
                "alertname": "GovnetCoreDown",
                "severity": "critical",
                "scope": "core",
                "province": "KH-12",
                "site": "KH-12",
                "tenant": "none",
                "device": "core-1",
                "role": "core",
            },
        )
    )
    sign_in(client, "alice")
    provinces = {p["code"]: p for p in client.get("/api/provinces").json()["provinces"]}
    assert provinces["KH-2"]["suppressed"] == 3
    assert provinces["KH-12"]["worst_alert"]["alertname"] == "GovnetMinistryDown"
    assert provinces["KH-12"]["alerts"] == 2  # MEF's and MoH's ministry routers, not core-1
