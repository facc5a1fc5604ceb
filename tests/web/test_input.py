"""Bad input to every form and endpoint is a 4xx with a clear message; whatever reaches
Prometheus is validated and quoted; whatever reaches a page is escaped."""

from __future__ import annotations

from html import unescape

import pytest

from controller.web import promql
from tests.web.client import TestClient
from tests.web.conftest import Console, sign_in
from tests.web.fakes import PROVINCE_DOWN


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/sites/nope", 404, "no site 'nope' in the inventory"),
        ('/sites/020301"}or vector(1)', 404, "in the inventory"),
        ("/sites/020301?range=2y", 400, "range '2y': choose one of 1h, 6h, 24h, 7d"),
        ("/provinces/KH-99", 404, "no province 'KH-99'"),
        ("/alerts/not-a-fingerprint", 404, "a fingerprint is 16 hex digits"),
        ("/alerts/ffffffffffffffff", 404, "it may have resolved"),
        ("/alerts?severity=apocalyptic", 400, "severity 'apocalyptic': choose one of"),
        ("/alerts?province=KH-99", 400, "province 'KH-99': not in the inventory"),
        ("/links?kind=wormhole", 400, "kind 'wormhole': choose one of"),
        ("/ministries/NOPE", 404, "no ministry 'NOPE'"),
        ("/nowhere", 404, "no page"),
    ],
)
def test_bad_input_to_pages(client: TestClient, path: str, status: int, message: str) -> None:
    sign_in(client, "erin")
    response = client.get(path)
    assert response.status_code == status
    assert message in unescape(response.text)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("state=gone", "state 'gone': choose one of active, suppressed, silenced, all"),
        ("severity=x", "severity 'x'"),
        ("province=%22%7D", "not in the inventory"),
    ],
)
def test_bad_input_to_the_api(client: TestClient, query: str, message: str) -> None:
    sign_in(client, "erin")
    response = client.get(f"/api/alerts?{query}")
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"comment": "on it", "duration": "forever"}, 400, "duration 'forever': choose one of"),
        ({"comment": "", "duration": "1h"}, 400, "comment: say why"),
        ({"comment": "x" * 501, "duration": "1h"}, 400, "at most 500 characters"),
        ({"comment": "x" * 3000, "duration": "1h"}, 400, "comment"),
        ({"comment": "line\nbreak", "duration": "1h"}, 400, "no control characters"),
        ({"duration": "1h"}, 400, "comment"),
    ],
)
def test_bad_input_to_the_acknowledge_form(
    client: TestClient, console: Console, data: dict[str, str], status: int, message: str
) -> None:
    token = sign_in(client, "alice")
    response = client.post(f"/alerts/{PROVINCE_DOWN}/silence", data={**data, "csrf_token": token})
    assert response.status_code == status
    assert message in unescape(response.text)
    assert console.alertmanager.silences == []


def test_bad_silence_id_and_bad_sign_in_form(client: TestClient) -> None:
    token = sign_in(client, "erin")
    response = client.post("/silences/../../etc/expire", data={"csrf_token": token})
    assert response.status_code in (404, 405)
    response = client.post("/silences/not-a-uuid/expire", data={"csrf_token": token})
    assert response.status_code == 404 and "a UUID" in response.text
    client.cookies.clear()
    from tests.web.conftest import csrf_of

    page_token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": page_token, "username": "alice"})
    assert response.status_code == 400 and "Enter your user name and password." in response.text
    response = client.post(
        "/login", data={"csrf_token": page_token, "username": "a" * 100, "password": "x"}
    )
    assert response.status_code == 400 and "username" in response.text


def test_promql_values_are_quoted() -> None:
    assert promql.string('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert (
        promql.selector("govnet_site_up", site='x"}or{a="')
        == 'govnet_site_up{site="x\\"}or{a=\\""}'
    )
    with pytest.raises(ValueError):
        promql.selector("govnet_site_up", **{"bad-label": "x"})


def test_site_queries_carry_only_validated_quoted_values(
    client: TestClient, console: Console
) -> None:
    sign_in(client, "erin")
    assert client.get("/sites/020301?range=6h").status_code == 200
    site_queries = [q for q in console.prometheus.queries if "site=" in q]
    assert site_queries
    assert all('site="020301"' in q for q in site_queries)


def test_alert_text_is_escaped(client: TestClient) -> None:
    sign_in(client, "erin")
    page = client.get("/alerts").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_back_ends_down_give_a_banner_on_pages_and_503_on_the_api(
    client: TestClient, console: Console
) -> None:
    sign_in(client, "erin")
    console.prometheus.down = True
    console.alertmanager.down = True
    page = client.get("/")
    assert page.status_code == 200
    assert "Prometheus at http://127.0.0.1:1 did not answer" in page.text
    assert "Alertmanager at http://127.0.0.1:1 did not answer" in page.text
    response = client.get("/api/alerts")
    assert response.status_code == 503 and "Alertmanager" in response.json()["error"]
    assert client.get(f"/alerts/{PROVINCE_DOWN}").status_code == 503
