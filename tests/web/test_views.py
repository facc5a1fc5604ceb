"""Pure views: alert shaping (suppressed children, transitively), tiles, charts, routes."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.charts import line_chart
from controller.web.backends import Sample
from controller.web.nav import NavItem, nav_for
from controller.web.routes import discover
from controller.web.sitemap import ProvinceInfo, Site
from controller.web.users import User
from controller.web.views.alerts import parse_alerts, visible_to
from controller.web.views.overview import tiles
from tests.web.fakes import ALERTS, PROVINCE_DOWN, am_alert


def test_suppressed_alerts_roll_up_transitively_with_their_sites() -> None:
    alerts = {a.fingerprint: a for a in parse_alerts(ALERTS)}
    province = alerts[PROVINCE_DOWN]
    # SitesUnreachable is inhibited by Isolated, itself inhibited by ProvinceDown
    assert [a.name for a in province.suppressed()] == [
        "GovnetProvinceIsolated",
        "GovnetSitesUnreachableBehindProvince",
        "GovnetUplinkDown",
    ]
    assert province.suppressed_sites() == 4
    assert province.visible and not alerts["a000000000000002"].visible
    assert province.as_dict(datetime.now(UTC))["suppressed_sites"] == 4


def test_inhibition_cycles_and_malformed_alerts_are_harmless() -> None:
    raw = [
        am_alert("d000000000000001", {"alertname": "A"}, inhibited_by=["d000000000000002"]),
        am_alert("d000000000000002", {"alertname": "B"}, inhibited_by=["d000000000000001"]),
        {"fingerprint": "not-hex", "labels": {"alertname": "C"}},
        {"fingerprint": "d000000000000003", "labels": {}},
        {"nothing": True},
    ]
    alerts = {a.name: a for a in parse_alerts(raw)}
    assert sorted(alerts) == ["A", "B"]
    assert [a.name for a in alerts["A"].suppressed()] == ["B"]


def test_visibility_per_role() -> None:
    alerts = parse_alerts(ALERTS)
    assert len(visible_to(User("a", "soc"), alerts)) == len(alerts)
    assert {a.tenant for a in visible_to(User("m", "focal", "MEF"), alerts)} == {"MEF"}
    assert visible_to(User("x", "focal", None), alerts) == []


def test_tiles_colour_by_worst_visible_alert_and_commune_states() -> None:
    communes = tuple(Site(f"0201{i:02d}", f"c{i}", "commune", "KH-2") for i in range(4))
    provinces = [
        ProvinceInfo("KH-2", "Battambang", communes),
        ProvinceInfo("KH-17", "Siem Reap", communes),
        ProvinceInfo("KH-1", "Banteay Meanchey", communes),
    ]
    grid = tiles(
        provinces,
        [
            Sample({"province": "KH-2", "state": "unreachable"}, 4),
            Sample({"province": "KH-17", "state": "up"}, 4),
        ],
        [Sample({"province": "KH-2"}, 0), Sample({"province": "KH-17"}, 1)],
        parse_alerts(ALERTS),
    )
    by_code = {t.code: t for t in grid}
    assert by_code["KH-2"].colour == "critical" and by_code["KH-2"].alert is not None
    assert by_code["KH-2"].alert.name == "GovnetProvinceDown"  # not a suppressed child
    assert by_code["KH-17"].colour == "ok"
    assert by_code["KH-1"].colour == "nodata" and by_code["KH-1"].no_data == 4


def test_chart_breaks_lines_at_gaps_and_clamps() -> None:
    points = [(0.0, 0.001), (10.0, 0.002), (20.0, float("nan")), (60.0, 0.004), (70.0, 5.0)]
    chart = line_chart("rtt", [("r1", points)], 0, 100, 10, lambda v: f"{v}", y_max=0.01)
    (line,) = chart.lines
    assert len(line.segments) == 2
    assert all(
        0 <= float(p.split(",")[1]) <= chart.height for s in line.segments for p in s.split()
    )
    assert line.last == "5.0"
    assert line_chart("empty", [], 0, 100, 10, str).empty


def test_nav_and_route_discovery() -> None:
    items = [
        NavItem("B", "/b", frozenset({"soc"}), 2),
        NavItem("A", "/a", frozenset({"soc", "focal"}), 1),
    ]
    assert [i.title for i in nav_for(items, User("x", "soc"))] == ["A", "B"]
    assert [i.title for i in nav_for(items, User("x", "focal", "MEF"))] == ["A"]
    assert nav_for(items, None) == []
    names = [m.__name__.rsplit(".", 1)[1] for m in discover()]
    assert {"alerts", "api", "drift", "links", "login", "ministries", "overview", "sites"} <= set(
        names
    )
