"""What each role may see and do; a focal officer never sees another ministry's data."""

from __future__ import annotations

import pytest

from tests.web.client import TestClient
from tests.web.conftest import Console, sign_in
from tests.web.fakes import PROVINCE_DOWN

STAFF_PAGES = [
    "/",
    "/links",
    "/drift",
    "/ministries",
    "/provinces/KH-2",
    "/sites/020301",
    "/api/provinces",
]


@pytest.mark.parametrize("username", ["alice", "erin"])
def test_soc_and_engineers_see_everything(client: TestClient, username: str) -> None:
    sign_in(client, username)
    for path in [*STAFF_PAGES, "/alerts", "/ministries/MoH", "/ministries/MEF"]:
        assert client.get(path).status_code == 200, path
    alerts = client.get("/api/alerts").json()["alerts"]
    assert {a["tenant"] for a in alerts} == {"none", "MEF", "MoH"}


def test_focal_officer_sees_only_their_ministry(client: TestClient) -> None:
    sign_in(client, "mef-focal")
    assert client.get("/").headers["location"] == "/ministry"
    for path in ["/links", "/drift", "/ministries", "/provinces/KH-2", "/api/provinces"]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "role" in response.text
    assert client.get("/ministries/MoH").status_code == 403
    assert client.get("/sites/020301").status_code == 403  # a commune: no MEF service there
    page = client.get("/ministries/MEF")
    assert page.status_code == 200 and "GovnetMinistryDown" in page.text
    assert "mr-moh" not in page.text
    listing = client.get("/alerts").text
    assert "GovnetMinistryDown" in listing
    assert "GovnetProvinceDown" not in listing and "mr-moh" not in listing
    alerts = client.get("/api/alerts").json()
    assert [a["tenant"] for a in alerts["alerts"]] == ["MEF"]
    assert alerts["counts"] == {"active": 1, "suppressed": 0, "silenced": 0}
    # another ministry's alert, by fingerprint: as if it did not exist
    assert client.get("/alerts/c000000000000001").status_code == 404
    assert client.get(f"/alerts/{PROVINCE_DOWN}").status_code == 404


def test_focal_site_page_shows_only_their_devices(client: TestClient, console: Console) -> None:
    sign_in(client, "mef-focal")
    page = client.get("/sites/KH-12")  # core-1, pr-kh12 and three ministry routers live here
    assert page.status_code == 200
    assert "mr-mef" in page.text
    for other in ("mr-moh", "mr-mptc", "core-1", "pr-kh12"):
        assert other not in page.text
    assert all('tenant="MEF"' in q for q in console.prometheus.queries if "site=" in q)


def test_focal_officers_and_soc_cannot_do_engineer_things(client: TestClient) -> None:
    token = sign_in(client, "mef-focal")
    response = client.post(
        "/alerts/b000000000000001/silence",
        data={"csrf_token": token, "comment": "on it", "duration": "1h"},
    )
    assert response.status_code == 403
    client.cookies.clear()
    token = sign_in(client, "alice")
    response = client.post(
        "/silences/0b6c6b9e-6a4e-4a41-9a07-4e5b6d1c1f00/expire", data={"csrf_token": token}
    )
    assert response.status_code == 403


def test_acknowledge_creates_a_signed_silence_matching_exactly_that_alert(
    client: TestClient, console: Console
) -> None:
    token = sign_in(client, "alice")
    response = client.post(
        f"/alerts/{PROVINCE_DOWN}/silence",
        data={
            "csrf_token": token,
            "comment": "field team on the way",
            "duration": "4h",
            "created_by": "someone-else",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/alerts/{PROVINCE_DOWN}?done=silenced"
    (silence,) = console.alertmanager.silences
    assert silence["by"] == "alice"  # from the session, never from the form
    assert silence["comment"] == "field team on the way"
    names = {m["name"]: m["value"] for m in silence["matchers"]}
    assert names["alertname"] == "GovnetProvinceDown" and names["province"] == "KH-2"
    assert all(m["isEqual"] and not m["isRegex"] for m in silence["matchers"])


def test_engineers_expire_silences(client: TestClient, console: Console) -> None:
    token = sign_in(client, "erin")
    sid = "0b6c6b9e-6a4e-4a41-9a07-4e5b6d1c1f00"
    response = client.post(f"/silences/{sid}/expire", data={"csrf_token": token})
    assert response.status_code == 303
    assert console.alertmanager.expired == [sid]


def test_the_nav_bar_lists_what_the_role_may_open(client: TestClient) -> None:
    sign_in(client, "alice")
    page = client.get("/alerts").text
    for title in ("Overview", "Alerts", "Links", "Config drift", "Ministries"):
        assert f">{title}</a>" in page
    assert ">My ministry</a>" not in page
    client.cookies.clear()
    sign_in(client, "mef-focal")
    page = client.get("/alerts").text
    assert ">My ministry</a>" in page and ">Alerts</a>" in page
    assert ">Overview</a>" not in page and ">Links</a>" not in page
