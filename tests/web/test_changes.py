"""Changes in the console: the list and a change's stored impact for MPTC staff, only the
changes affecting their ministry (and only that part) for a focal officer, a banner on
the overview while a change runs, and change windows shaded on a site's charts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from controller.charts import Annotation, line_chart
from tests.web.changes import BATTAMBANG_UPLINK, MEF_UPLINK, record_change
from tests.web.client import TestClient
from tests.web.conftest import Console, sign_in
from tests.web.test_i18n import KM

NOT_FOUND = "no such change"


@pytest.fixture()
def changes(console: Console) -> dict[str, int]:
    """Battambang's uplink (running now), MEF's uplink (planned), mr-moh (finished)."""
    state = console.settings.state_dir
    return {
        "battambang": record_change(
            state,
            "Battambang optics",
            links=(BATTAMBANG_UPLINK,),
            starts_in=timedelta(minutes=-30),
            state="running",
        ).id,
        "mef": record_change(state, "MEF uplink re-patch", links=(MEF_UPLINK,)).id,
        "moh": record_change(
            state,
            "MoH router firmware",
            devices=("mr-moh",),
            starts_in=timedelta(hours=-5),
            state="finished",
        ).id,
    }


def _section(html: str, group: str) -> str:
    match = re.search(rf'<section class="changes changes-{group}">(.*?)</section>', html, re.S)
    assert match, f"no {group} section"
    return match.group(1)


@pytest.mark.parametrize("username", ["alice", "erin"])
def test_staff_see_every_change_by_state_with_window_elements_and_impact(
    client: TestClient, changes: dict[str, int], username: str
) -> None:
    sign_in(client, username)
    page = client.get("/changes")
    assert page.status_code == 200
    running, planned = _section(page.text, "running"), _section(page.text, "planned")
    finished = _section(page.text, "finished")
    assert "Battambang optics" in running and f"link {BATTAMBANG_UPLINK}" in running
    # pr-kh2, its four communes and Battambang's collector (col-kh2, at pr-kh2's site KH-2)
    assert "6 isolated (5 sites)" in running
    assert "MEF uplink re-patch" in planned and "cuts off MEF" in planned
    assert "MoH router firmware" in finished and "1 down" in finished
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d – \d\d:\d\d ICT", running)
    assert "Changes" in client.get("/").text  # in the nav bar


def test_a_change_page_shows_the_stored_impact_and_history(
    client: TestClient, changes: dict[str, int]
) -> None:
    sign_in(client, "alice")
    page = client.get(f"/changes/{changes['battambang']}")
    assert page.status_code == 200
    text = page.text
    assert "Battambang optics" in text and "running" in text
    isolated = text.split("Isolated: no path left")[1].split("</table>")[0]
    for device in ("pr-kh2", "cpe-020301", "cpe-020302", "cpe-020101", "cpe-020102"):
        assert device in isolated
    assert "cli:test" in text and "start" in text  # the history: who started it
    assert BATTAMBANG_UPLINK in text


def test_in_khmer_a_change_says_its_state_roles_and_history_steps_in_khmer(
    client: TestClient, changes: dict[str, int]
) -> None:
    sign_in(client, "alice")
    page = client.get(f"/changes/{changes['battambang']}", headers=KM).text
    assert '<span class="sev sev-warning">កំពុងដំណើរការ</span>' in page  # running
    assert "<td>រ៉ោតទ័រខេត្ត</td>" in page and "<td>province-router</td>" not in page
    assert "<td>ឧបករណ៍ឃុំ (CPE)</td>" in page  # the isolated communes' CPEs
    assert "<td>បានចាប់ផ្ដើម៖ ការជូនដំណឹងត្រូវបាន silence</td>" in page  # the start step
    assert "<td>ដាច់ឆ្ងាយ 6 (ទីតាំង 5)</td>" in page  # the impact: 6 isolated (5 sites)
    assert ">បេសកកម្ម</a>" in page  # the nav's Missions
    listing = client.get("/changes", headers=KM).text
    assert ">បានគ្រោងទុក</span>" in listing and ">បានបញ្ចប់</span>" in listing
    assert ">planned</span>" not in listing and ">finished</span>" not in listing


def test_a_focal_officer_sees_only_changes_affecting_their_ministry(
    client: TestClient, changes: dict[str, int]
) -> None:
    sign_in(client, "mef-focal")
    listing = client.get("/changes")
    assert listing.status_code == 200
    assert "MEF uplink re-patch" in listing.text
    assert "Battambang optics" not in listing.text and "MoH" not in listing.text
    assert MEF_UPLINK not in listing.text  # no MPTC elements, only what it means for MEF
    page = client.get(f"/changes/{changes['mef']}")
    assert page.status_code == 200
    assert "What it means for MEF" in page.text and "mr-mef" in page.text
    assert "cli:test" not in page.text  # no author, no history
    # another ministry's change, MPTC's own, a missing one, junk: one and the same 404
    answers = [
        client.get(f"/changes/{ident}")
        for ident in (changes["moh"], changes["battambang"], 999, "0", "+1", "1e3", "9" * 20)
    ]
    assert {r.status_code for r in answers} == {404}
    assert all(NOT_FOUND in r.text for r in answers)


def test_the_moh_focal_officer_sees_the_moh_change_only(
    client: TestClient, changes: dict[str, int]
) -> None:
    sign_in(client, "moh-focal")
    listing = client.get("/changes").text
    assert "MoH router firmware" in listing and "MEF uplink" not in listing
    assert client.get(f"/changes/{changes['mef']}").status_code == 404


def test_titles_are_escaped(client: TestClient, console: Console) -> None:
    record = record_change(
        console.settings.state_dir,
        "<script>alert(1)</script> & co",
        links=(MEF_UPLINK,),
        starts_in=timedelta(minutes=-5),
        state="running",
    )
    sign_in(client, "erin")
    for path in ("/changes", f"/changes/{record.id}", "/"):
        text = client.get(path).text
        assert "<script>alert(1)" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text, path


def test_the_overview_has_a_banner_for_each_running_change_only(
    client: TestClient, changes: dict[str, int]
) -> None:
    sign_in(client, "alice")
    banners = re.findall(r'<p class="banner-change">(.*?)</p>', client.get("/").text, re.S)
    assert len(banners) == 1
    assert f"Change {changes['battambang']} is running" in banners[0]
    assert "Battambang optics" in banners[0] and "6 isolated" in banners[0]
    assert f'href="/changes/{changes["battambang"]}"' in banners[0]


def test_a_broken_change_store_is_a_banner_on_the_overview_and_a_503_on_changes(
    client: TestClient, console: Console
) -> None:
    (console.settings.state_dir / "changes.db").mkdir()  # not a database
    sign_in(client, "alice")
    overview = client.get("/")
    assert overview.status_code == 200
    assert "change records cannot be read" in overview.text
    assert 'class="province' in overview.text  # the map is still there
    assert client.get("/changes").status_code == 503


def test_a_site_chart_shades_the_windows_of_changes_touching_the_site(
    client: TestClient, changes: dict[str, int]
) -> None:
    sign_in(client, "alice")
    page = client.get("/sites/020301")  # a Battambang commune: isolated by the change
    assert page.status_code == 200
    bands = re.findall(r'<rect class="band" x="([\d.]+)" y="\d+" width="([\d.]+)"', page.text)
    assert len(bands) == 2  # on both charts (RTT and loss)
    assert f"#{changes['battambang']} Battambang optics" in page.text
    assert f'<a href="/changes/{changes["battambang"]}">change' in page.text
    # the running change began 30 min ago: its band covers the last half of the hour
    x, width = (float(v) for v in bands[0])
    assert 340 < x < 400 and x + width == pytest.approx(692, abs=1)
    other = client.get("/sites/170101").text  # Siem Reap: no change touches it
    assert 'class="band"' not in other
    moh = client.get("/sites/KH-12?range=24h").text  # mr-moh's finished change, 5 h ago
    assert "MoH router firmware" in moh and "MEF uplink" not in moh  # planned: in the future


def test_a_focal_officer_sees_bands_of_their_ministry_changes_only(
    client: TestClient, console: Console, changes: dict[str, int]
) -> None:
    record_change(
        console.settings.state_dir,
        "MEF router swap",
        devices=("mr-mef",),
        starts_in=timedelta(minutes=-20),
        state="running",
    )
    record_change(
        console.settings.state_dir,
        "MoH router swap",
        devices=("mr-moh",),
        starts_in=timedelta(minutes=-20),
        state="running",
    )
    sign_in(client, "mef-focal")
    page = client.get("/sites/KH-12").text
    assert "MEF router swap" in page and "MoH router swap" not in page


def test_bands_are_clipped_to_the_chart_and_labels_cut_to_fit() -> None:
    notes = [
        Annotation(-50, 20, "#1 a very long change title that cannot fit", "t1", "/changes/1"),
        Annotation(200, 300, "#2 outside", "t2", "/changes/2"),
        Annotation(90, 100, "#3 short", "t3", "/changes/3"),
    ]
    chart = line_chart("rtt", [("r", [(0.0, 1.0), (10.0, 2.0)])], 0, 100, 10, str, None, notes)
    first, last = chart.bands
    left, _, right, _ = chart.plot
    assert first.x == left and first.clipped_left and not first.clipped_right
    assert first.label.endswith("…") and len(first.label) < len(notes[0].label)
    assert last.x + last.width == pytest.approx(right)
    assert [b.href for b in chart.bands] == ["/changes/1", "/changes/3"]


def test_without_change_records_every_section_says_so(client: TestClient) -> None:
    sign_in(client, "erin")
    page = client.get("/changes").text
    for text in ("No change is running.", "No change is planned.", "No finished change."):
        assert text in page
    assert 'class="banner-change"' not in client.get("/").text


def test_chart_times_are_cambodia_time_whatever_the_host_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        start = 1_764_547_200.0  # 2025-12-01 00:00 UTC = 07:00 ICT
        chart = line_chart("rtt", [], start, start + 3600, 30, str)
        assert [text for _, text in chart.x_ticks] == ["07:00", "07:15", "07:30", "07:45", "08:00"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_ministry_page_announces_its_running_and_coming_changes_and_shades_its_chart(
    client: TestClient, console: Console, changes: dict[str, int]
) -> None:
    swap = record_change(
        console.settings.state_dir,
        "MEF router swap",
        devices=("mr-mef",),
        starts_in=timedelta(minutes=-20),
        state="running",
    )
    sign_in(client, "mef-focal")
    page = client.get("/ministries/MEF").text
    banners = re.findall(r'<p class="banner-change">(.*?)</p>', page, re.S)
    assert len(banners) == 2
    assert f"Change {swap.id} is running" in banners[0] and "MEF router swap" in banners[0]
    assert f"Change {changes['mef']} is planned" in banners[1]
    assert "MoH" not in "".join(banners) and "Battambang" not in page
    assert page.count('<rect class="band"') == 1  # the running swap, on the RTT chart
    assert f"#{swap.id} MEF router swap" in page
