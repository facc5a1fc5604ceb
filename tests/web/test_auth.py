"""Sign-in, sessions and their cookie, CSRF, rate limiting, security headers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from controller.store import open_database
from controller.web.ratelimit import LoginLimiter
from controller.web.sessions import COOKIE, SessionStore
from controller.web.users import UserStore
from tests.web.client import TestClient
from tests.web.conftest import FAST_SCRYPT, PASSWORD, Console, csrf_of, sign_in


def test_every_page_needs_sign_in(client: TestClient) -> None:
    for path in (
        "/",
        "/alerts",
        "/alerts/a000000000000001",
        "/sites/020301",
        "/links",
        "/drift",
        "/ministries",
        "/ministries/MEF",
        "/provinces/KH-2",
    ):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"
    for path in ("/api/alerts", "/api/provinces"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json() == {"error": "sign in first"}


def test_sign_in_sets_a_hardened_session_cookie_and_rotates_the_session(
    backend: str, client: TestClient
) -> None:
    page = client.get("/login")
    anonymous = client.cookies[COOKIE]
    cookie_header = page.headers["set-cookie"].lower()
    assert "httponly" in cookie_header and "samesite=strict" in cookie_header
    assert "secure" not in cookie_header  # plain http in tests; see test_secure_cookie
    response = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert client.cookies[COOKIE] != anonymous  # no session fixation
    assert client.get("/").status_code == 200


def test_secure_cookie_when_served_over_https(tmp_path: object) -> None:
    from pathlib import Path

    from controller.web import create_app
    from controller.web.backends import Backends
    from tests.web.conftest import add_users, make_settings
    from tests.web.fakes import FakeAlertmanager, FakePrometheus

    settings = make_settings(Path(str(tmp_path)), secure_cookies=True)
    add_users(settings)
    app = create_app(settings, Backends(FakePrometheus(), FakeAlertmanager()))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as https:
        page = https.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert page.headers["strict-transport-security"].startswith("max-age=")


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    wrong = client.post(
        "/login", data={"username": "alice", "password": "nope-nope-nope", "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"username": "mallory", "password": "nope-nope-nope", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert (
        "Wrong user name or password." in wrong.text
        and "Wrong user name or password." in unknown.text
    )


def test_login_is_rate_limited(client: TestClient, console: Console) -> None:
    # the limiter's clock stands still: its 1 s wait cannot run out on a slow machine
    console.app.state.console.limiter = LoginLimiter(
        console.settings.login_max_failures, clock=lambda: 1000.0
    )
    token = csrf_of(client.get("/login").text)
    for _ in range(console.settings.login_max_failures):
        response = client.post(
            "/login", data={"username": "alice", "password": "x" * 12, "csrf_token": token}
        )
        assert response.status_code == 401
    blocked = client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in blocked.text
    # another user from the same address is not blocked yet (per-address limit is higher)
    other = client.post(
        "/login", data={"username": "erin", "password": PASSWORD, "csrf_token": token}
    )
    assert other.status_code == 303


def test_post_without_a_valid_csrf_token_is_refused(client: TestClient) -> None:
    page = client.get("/login")
    for data in (
        {"username": "alice", "password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "csrf_token": "forged"},
    ):
        response = client.post("/login", data=data)
        assert response.status_code == 403
        assert "CSRF" in response.text
    token = sign_in(client, "alice")
    assert token != csrf_of(page.text)  # a new token with the new session
    for path, data in (
        ("/alerts/a000000000000001/silence", {"comment": "on it", "duration": "1h"}),
        ("/logout", {}),
        ("/silences/00000000-0000-0000-0000-000000000000/expire", {}),
    ):
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": "x" + token}).status_code == 403, path
    # a JSON body cannot carry the form token either
    assert client.post("/logout", json={"csrf_token": token}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_sign_out_ends_the_session(backend: str, client: TestClient) -> None:
    token = sign_in(client, "alice")
    old_cookie = client.cookies[COOKIE]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login?done=signed-out"
    assert client.get("/").status_code == 303
    client.cookies.set(COOKIE, old_cookie)  # replaying the old cookie does not work
    assert client.get("/").status_code == 303


def test_a_forged_or_tampered_cookie_is_ignored(client: TestClient) -> None:
    sign_in(client, "alice")
    sid, _, signature = client.cookies[COOKIE].partition(".")
    client.cookies.set(COOKIE, f"{sid}.{'A' * len(signature)}")
    assert client.get("/").status_code == 303
    client.cookies.set(COOKIE, "x" * 5000)
    assert client.get("/").status_code == 303


def test_server_side_expiry(backend: str, tmp_path: Path) -> None:
    now = [1000.0]
    db = open_database(tmp_path / "sessions.db", "sessions")
    store = SessionStore(db, b"k" * 32, idle=60, absolute=300, clock=lambda: now[0])
    session = store.create("alice")
    cookie = store.cookie_value(session)
    now[0] += 59
    assert store.get(cookie) is not None  # touched: idle timer restarts
    now[0] += 59
    assert store.get(cookie) is not None
    now[0] += 61
    assert store.get(cookie) is None  # idle
    session = store.create("alice")
    cookie = store.cookie_value(session)
    for _ in range(7):  # 350 s, active every 50 s
        now[0] += 50
        store.get(cookie)
    assert store.get(cookie) is None  # absolute lifetime, however active


def test_the_session_store_is_bounded(backend: str, tmp_path: Path) -> None:
    db = open_database(tmp_path / "sessions.db", "sessions")
    store = SessionStore(db, b"k" * 32, anonymous_per_client=1000, anonymous_limit=100)
    signed_in = store.create("alice")
    first = store.create(None)
    for _ in range(300):
        store.create(None)
    assert len(store) == 100 + 1  # at most 100 anonymous, and the signed-in one
    assert store.get(store.cookie_value(first)) is None  # the oldest anonymous went first
    assert store.get(store.cookie_value(signed_in)) is not None  # a flood signs nobody out


def test_a_password_change_or_removal_ends_open_sessions(
    client: TestClient, console: Console
) -> None:
    sign_in(client, "alice")
    store = UserStore(console.settings.users_file, FAST_SCRYPT)
    time.sleep(0.01)
    store.set_password("alice", "another long password")
    assert client.get("/").status_code == 303
    sign_in(client, "alice", "another long password")
    store.remove("alice")
    assert client.get("/").status_code == 303


def test_security_headers(client: TestClient) -> None:
    for response in (client.get("/login"), client.get("/static/style.css"), client.get("/nope")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "'unsafe-inline'" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert client.get("/login").headers["cache-control"] == "no-store"
    page = client.get("/login").text
    assert "<script" not in page and "style=" not in page  # nothing the CSP would block


def test_no_open_redirect_after_sign_in(client: TestClient) -> None:
    for target, expected in (
        ("/alerts", "/alerts"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
    ):
        client.cookies.clear()
        page = client.get("/login")
        response = client.post(
            "/login",
            data={
                "username": "alice",
                "password": PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": target,
            },
        )
        assert response.headers["location"] == expected, target


def test_focal_users_land_on_their_ministry(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "mef-focal", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.headers["location"] == "/ministry"
    assert client.get("/ministry").headers["location"] == "/ministries/MEF"


def test_the_console_answers_503_when_its_postgresql_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controller.web import create_app
    from controller.web.backends import Backends
    from tests.web.conftest import make_settings
    from tests.web.fakes import FakeAlertmanager, FakePrometheus

    hidden = tmp_path / "db-socket-dir"
    monkeypatch.setenv("GOVNET_DATABASE_URL", f"postgresql://govnet@/govnet?host={hidden}")
    app = create_app(make_settings(tmp_path), Backends(FakePrometheus(), FakeAlertmanager()))
    with TestClient(app, follow_redirects=False) as client:
        page = client.get("/login")
    assert page.status_code == 503
    assert "the console&#39;s state store is unavailable" in page.text
    assert str(hidden) not in page.text  # where the database is stays in the log
