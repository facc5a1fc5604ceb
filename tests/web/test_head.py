"""HEAD works on every GET page (uptime checkers use it): the same status and headers as
the GET — Content-Length included — and no body; for signed-in users of every role and for
anonymous ones (the redirect to the sign-in page). Through the app and through a real
uvicorn server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.routing import APIRoute

from controller.hosting.service import HostingService
from controller.hosting.workspace import InventoryCache
from controller.web import create_app, routes
from controller.web.backends import Backends
from tests.hosting.conftest import request_values
from tests.hosting.web import NoPrometheus, free_port
from tests.soc.helpers import wait_until
from tests.web.changes import MEF_UPLINK, record_change
from tests.web.client import TestClient
from tests.web.conftest import add_users, make_settings, sign_in
from tests.web.fakes import PROVINCE_DOWN, FakeAlertmanager

# One real path for every GET route of the console (a new route must be added here).
SAMPLES = {
    "/provinces/{code}": "/provinces/KH-2",
    "/alerts/{fingerprint}": f"/alerts/{PROVINCE_DOWN}",
    "/sites/{code}": "/sites/120101",
    "/ministries/{code}": "/ministries/MEF",
    "/hosting/{ident}": "/hosting/1",
    "/changes/{ident}": "/changes/1",
    "/reports/sla/{scope}/{code}": "/reports/sla/tenant/MEF",
    "/reports/sla/{scope}/{code}/download/{fmt}": "/reports/sla/tenant/MEF/download/csv",
}
EXTRA = [
    "/static/style.css",
    "/nowhere",  # 404
    "/hosting/99999999999999999999",  # 404
    "/changes/2",  # 404
    "/alerts?severity=apocalyptic",  # 400
    "/logout",  # POST only: 405 for GET, and so for HEAD
]


@dataclass
class App:
    app: FastAPI
    paths: list[str]


@pytest.fixture()
def app(tmp_path: Path) -> App:
    """The console with no Prometheus data (pages are the same from one second to the
    next) and a fixed set of alerts; one hosting request, MEF's."""
    settings = make_settings(tmp_path)
    add_users(settings)
    HostingService(settings.inventory, settings.state_dir, InventoryCache()).submit(
        request_values(tenant="MEF", service="CamDX"), "test"
    )
    record_change(settings.state_dir, "MEF uplink optics", links=(MEF_UPLINK,))
    console = create_app(settings, Backends(NoPrometheus(), FakeAlertmanager()))
    gets = sorted(
        r.path
        for module in routes.discover()  # the app's own routes, as create_app includes them
        for r in module.router.routes
        if isinstance(r, APIRoute) and "GET" in r.methods
    )
    assert len(gets) >= 15, gets
    paths = [SAMPLES.get(path, path) for path in gets]
    unsampled = [p for p in paths if "{" in p]
    assert not unsampled, f"give these GET routes a sample path: {unsampled}"
    return App(console, [*paths, *EXTRA])


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The headers to compare: all but Date; a new session's cookie by name and attributes
    (its random value differs from one request to the next)."""
    out = []
    for name, value in response.headers.multi_items():
        if name == "date":
            continue
        if name == "set-cookie":
            cookie, _, attributes = value.partition(";")
            value = cookie.split("=", 1)[0] + "=…;" + attributes
        out.append((name, value))
    return out


def _same_but_bodiless(get: httpx.Response, head: httpx.Response, path: str) -> None:
    assert head.status_code == get.status_code, path
    assert head.content == b"", path
    assert _headers(head) == _headers(get), path
    if get.content:
        assert int(head.headers["content-length"]) == len(get.content), path


@pytest.mark.parametrize("username", ["erin", "alice", "mef-focal"])
def test_head_answers_like_get_without_the_body_for_every_role(app: App, username: str) -> None:
    with TestClient(app.app, follow_redirects=False) as client:
        sign_in(client, username)
        statuses = set()
        for path in app.paths:
            get = client.get(path)
            head = client.head(path)
            _same_but_bodiless(get, head, path)
            statuses.add(get.status_code)
        assert 200 in statuses  # the pages themselves, not only refusals


def test_head_answers_like_get_when_not_signed_in(app: App) -> None:
    with TestClient(app.app, follow_redirects=False) as client:
        for path in [*app.paths, "/login"]:
            client.cookies.clear()
            get = client.get(path)
            client.cookies.clear()
            head = client.head(path)
            _same_but_bodiless(get, head, path)
        client.cookies.clear()
        assert client.head("/").headers["location"] == "/login?next=/"
        assert client.head("/login").status_code == 200


def test_head_pages_of_note(app: App) -> None:
    with TestClient(app.app, follow_redirects=False) as client:
        sign_in(client, "erin")
        overview = client.head("/")
        assert overview.status_code == 200
        assert overview.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in overview.headers["content-security-policy"]
        assert client.head("/hosting/1").status_code == 200
        assert client.head("/api/alerts").headers["content-type"] == "application/json"
        logout = client.head("/logout")
        assert logout.status_code == 405 and logout.headers["allow"] == "POST"


@pytest.fixture()
def served(app: App) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 20, "the console to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_head_through_a_real_server_keeps_the_connection_usable(served: str) -> None:
    with httpx.Client(base_url=served, trust_env=False, timeout=10) as client:
        for _ in range(3):  # one keep-alive connection: no stray body between answers
            head = client.head("/login")
            assert head.status_code == 200 and head.content == b""
            length = int(head.headers["content-length"])
            get = client.get("/login")
            assert get.status_code == 200 and len(get.content) == length
            assert client.head("/").status_code == 303
