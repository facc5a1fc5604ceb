"""With the monitoring back end down, a ministry's focal officer reads one line —
"monitoring is unavailable" — on every page and in the API: no internal address, no
exception text. MPTC staff (soc, engineer) still see which back end failed, where, and
how. The back ends are the console's real HTTP clients, pointed at a loopback port that
is bound but not listening (connection refused, and nobody else can take the port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest

from controller.web import create_app
from tests.web.client import TestClient
from tests.web.conftest import add_users, make_settings, sign_in

FOCAL_PAGES = ["/alerts", "/ministries/MEF", "/sites/KH-12"]
STAFF_PAGES = ["/", "/alerts", "/ministries/MEF", "/sites/KH-12", "/links", "/drift"]
FINGERPRINT = "a000000000000001"


@dataclass
class Down:
    client: TestClient
    port: int

    def internals(self) -> list[str]:
        """What must never reach a focal officer."""
        return [
            "127.0.0.1",
            str(self.port),
            "http://",
            "Prometheus at",
            "Alertmanager at",
            "did not answer",
            "ConnectError",
            "refused",
        ]


@pytest.fixture()
def down(tmp_path: Path) -> Iterator[Down]:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = int(closed.getsockname()[1])
        url = f"http://127.0.0.1:{port}"
        settings = make_settings(
            tmp_path, prometheus_url=url, alertmanager_url=url, backend_timeout=2.0
        )
        add_users(settings)
        with TestClient(create_app(settings), follow_redirects=False) as client:
            yield Down(client, port)


def _leaks(down: Down, text: str) -> list[str]:
    return [word for word in down.internals() if word in unescape(text)]


def test_a_focal_officer_is_told_monitoring_is_unavailable_and_nothing_internal(
    down: Down,
) -> None:
    sign_in(down.client, "mef-focal")
    for path in FOCAL_PAGES:
        page = down.client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert '<p class="banner">monitoring is unavailable</p>' in page.text, path
        assert page.text.count('class="banner"') == 1, path  # one line, not one per back end
        assert _leaks(down, page.text) == [], path

    alert = down.client.get(f"/alerts/{FINGERPRINT}")
    assert alert.status_code == 503
    assert "monitoring is unavailable" in alert.text
    assert _leaks(down, alert.text) == []

    api = down.client.get("/api/alerts")
    assert api.status_code == 503
    assert api.json() == {"error": "monitoring is unavailable"}


@pytest.mark.parametrize("username", ["erin", "alice"])
def test_staff_still_see_which_back_end_failed_and_where(down: Down, username: str) -> None:
    sign_in(down.client, username)
    detail = f"at http://127.0.0.1:{down.port} did not answer (ConnectError)"
    for path in STAFF_PAGES:
        page = down.client.get(path)
        assert page.status_code == 200, (path, page.text)
        text = unescape(page.text)
        assert f"Alertmanager {detail}" in text or f"Prometheus {detail}" in text, path
        assert "monitoring is unavailable" not in text, path
    alert = down.client.get(f"/alerts/{FINGERPRINT}")
    assert alert.status_code == 503 and f"Alertmanager {detail}" in unescape(alert.text)
    api = down.client.get("/api/alerts")
    assert api.status_code == 503 and api.json()["error"] == f"Alertmanager {detail}"
