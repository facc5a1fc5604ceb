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

from controller.i18n import say
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
    TILE_TEXT,
    MapTile,
    NationalMap,
    _province_tile,
    fit,
    national_map,
    width,
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
    return national_map(grid, core, dcs, states or [], alerts, say("en"))


def _overlap(a: MapTile, b: MapTile) -> bool:
    return abs(a.x - b.x) < CELL_W and abs(a.y - b.y) < CELL_H


def test_the_position_table_has_every_province_of_the_national_inventory_once(
    national: SiteIndex,
) -> None:
    table = {code: name for code, name, _, _, _ in POSITIONS}
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
    m = national_map([extra], core, dcs, [], [], say("en"))
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


def _card(page: str, code: str) -> str:
    match = re.search(rf'<a class="tile tile-\w+" href="/provinces/{code}">.*?</a>', page, re.S)
    assert match, f"no card for {code}"
    return match.group(0)


def _tile(page: str, code: str) -> str:
    match = re.search(
        rf'<a class="province province-\w+" href="/provinces/{code}".*?</a>', page, re.S
    )
    assert match, f"no map tile for {code}"
    return match.group(0)


def test_a_province_card_and_its_map_tile_say_the_same_status_when_no_alert_is_shown(
    client: TestClient, console: Console
) -> None:
    """Battambang's router is down and its communes unreachable, but its alerts are
    acknowledged (or not fired yet): the tile said "major", the card "no alert" in green."""
    console.alertmanager.raw = [
        am_alert(a["fingerprint"], a["labels"], a["annotations"], silenced_by=["s-1"])
        for a in ALERTS
        if a["labels"].get("province") == "KH-2"
    ]
    sign_in(client, "alice")
    page = client.get("/").text
    card, tile = _card(page, "KH-2"), _tile(page, "KH-2")
    assert 'class="province province-major"' in tile and ">router down</text>" in tile
    assert 'class="tile tile-major"' in card
    assert "no alert" not in card  # it said so, in green, beside a major tile
    assert "router down" in card and 'class="sev sev-major"' in card
    # a province with nothing wrong says "no alert" in both
    assert ">ok: no alert</text>" in _tile(page, "KH-12") and "no alert" in _card(page, "KH-12")


def test_the_position_tables_khmer_names_are_the_national_inventorys_official_ones(
    national: SiteIndex,
) -> None:
    assert {code: km for code, _, km, _, _ in POSITIONS} == {
        p.code: p.name_km for p in national.provinces
    }


# Latin words a Khmer map may show: codes, alert names, technical terms (GLOSSARY.md).
LATIN_ON_KHMER_MAP = re.compile(r"KH-\d+|NDC|DR\b|[A-Z][a-z]+(?:[A-Z][a-z]+)+|\d+")


def _map_words(page: str) -> list[str]:
    """Everything the map says: its SVG texts, titles and aria labels, and its legend."""
    figure = page[page.index('<figure class="map">') : page.index("</figure>")]
    texts = [t for _, t in re.findall(r"<(text|title|li|p)\b[^>]*>(.*?)</\1>", figure, re.S)]
    labels = re.findall(r'aria-label="([^"]*)"', figure)
    return [re.sub(r"<[^>]+>", "", t) for t in texts + labels]


def test_a_khmer_map_says_every_word_in_khmer_with_khmer_province_names(
    client: TestClient, console: Console
) -> None:
    for alert in console.alertmanager.raw:  # as the rules have them (test_i18n checks it)
        alert["annotations"]["summary_km"] = "ខេត្តត្រូវបានកាត់ផ្ដាច់"
    sign_in(client, "alice")
    page = client.get("/", headers={"accept-language": "km"}).text
    words = _map_words(page)
    assert len(words) > 60
    english = [w for w in words if re.search(r"[A-Za-z]{2,}", LATIN_ON_KHMER_MAP.sub("", w))]
    assert english == []
    battambang = _tile(page, "KH-2")
    assert ">ខេត្តបាត់ដំបង</text>" in battambang and "ខេត្តត្រូវបានកាត់ផ្ដាច់" in battambang
    assert ">ធ្ងន់ធ្ងរខ្លាំង</text>" in battambang  # critical
    assert "+3 បានទប់" in battambang  # the suppressed count, in the corner
    ghost = re.search(r'<g class="province province-ghost".*?</g>', page, re.S)
    assert ghost and ">ខេត្តបន្ទាយមានជ័យ</text>" in ghost.group(0)  # not in the lab's inventory
    assert "បណ្ដាញស្នូល" in page and "NDC — មជ្ឈមណ្ឌលទិន្នន័យជាតិ" in page
    assert not re.search("[\u17e0-\u17e9]", " ".join(words))  # Latin digits (GLOSSARY.md)


def test_an_english_map_keeps_english_names(client: TestClient) -> None:
    sign_in(client, "alice")
    page = client.get("/", headers={"accept-language": "en"}).text
    assert ">Battambang</text>" in _tile(page, "KH-2")
    assert "NDC — National Data Centre" in page and ">Core</text>" in page
    assert not re.search("[\u1780-\u17ff]", " ".join(_map_words(page)))


def test_the_map_cuts_a_khmer_name_between_clusters_never_inside_one() -> None:
    name = "ខេត្តបន្ទាយមានជ័យ"
    assert fit(name, 40) == name
    cut = fit(name * 3, 12)
    assert cut.endswith("…") and (name * 3).startswith(cut[:-1])
    following = (name * 3)[len(cut) - 1]  # the first character left out starts a cluster
    assert not ("\u17b6" <= following <= "\u17d3") and cut[-2] != "\u17d2"
    assert fit("Banteay Meanchey and more", 10) == "Banteay M…"  # as before for Latin


def test_a_khmer_tile_keeps_its_alert_count_when_the_words_do_not_fit() -> None:
    alert = parse_alerts(
        [am_alert("d000000000000001", {"alertname": "GovnetMinistryDown", "severity": "critical"})]
    )[0]
    tile = Tile("KH-12", "Phnom Penh", 4, 4, 0, 0, True, alert, 12, name_km="រាជធានីភ្នំពេញ")
    status = {lang: _province_tile(tile, 0, 0, say(lang)).lines[2] for lang in ("en", "km")}
    assert status == {"en": "critical · 12 alerts", "km": "ធ្ងន់ធ្ងរខ្លាំង · 12"}
    assert all(width(line) <= TILE_TEXT for line in _province_tile(tile, 0, 0, say("km")).lines)
