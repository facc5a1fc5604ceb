"""Sign-in, sessions and the console's state files under attack (issue 10, item 4):
limits counted before the hash, the client address from a trusted proxy only, nobody
locked out of their own browser, garbage tokens refused without a 500, sessions that
survive a restart and cannot be evicted by others, and private state files."""

from __future__ import annotations

import logging
import socket
import sqlite3
import stat
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from controller.store import open_database
from controller.web import WebSettings, create_app
from controller.web.backends import Backends
from controller.web.clients import client_address
from controller.web.devices import COOKIE as DEVICE_COOKIE
from controller.web.ratelimit import LoginLimiter
from controller.web.sessions import COOKIE, SessionStore
from controller.web.users import UserStore
from tests.conftest import ROOT
from tests.web.client import TestClient
from tests.web.conftest import PASSWORD, add_users, csrf_of, make_settings, sign_in
from tests.web.fakes import FakeAlertmanager, FakePrometheus

WRONG = "not the password at all"


def app_of(settings: WebSettings, frozen: bool = False) -> FastAPI:
    """The console; ``frozen``: its sign-in limiter's clock stands still, so a wait never
    runs out during the test however slowly a busy machine runs it."""
    app = create_app(settings, Backends(FakePrometheus(), FakeAlertmanager()))
    if frozen:
        app.state.console.limiter = LoginLimiter(
            settings.login_max_failures, settings.login_window_seconds, clock=lambda: 1000.0
        )
    return app


@contextmanager
def live(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn as `govnet soc serve` runs it (uvicorn's own proxy
    header handling off), on a loopback socket bound here (no port race)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", proxy_headers=False, server_header=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "the console did not start listening"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def form(client: httpx.Client | TestClient, headers: dict[str, str] | None = None) -> str:
    page = client.get("/login", headers=headers)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def attempt(
    client: httpx.Client | TestClient,
    username: str,
    password: str,
    token: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
    )


# ------------------------------------------------------------------ 1. before the hash


def test_parallel_wrong_guesses_reach_the_password_hash_only_the_allowed_number_of_times(
    tmp_path: Path,
) -> None:
    # a slower hash (16 MiB, tens of ms) so that all 30 requests are in flight at once
    settings = WebSettings(state_dir=tmp_path, inventory=ROOT / "inventory/lab", scrypt_n=2**14)
    UserStore(settings.users_file, settings.scrypt_n).add("alice", "soc", None, PASSWORD)
    with live(app_of(settings, frozen=True)) as url, httpx.Client(base_url=url) as first:
        token = form(first)
        cookies = dict(first.cookies)

        def guess(i: int) -> int:
            with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
                return attempt(client, "alice", f"{WRONG} {i}", token).status_code

        with ThreadPoolExecutor(30) as pool:
            codes = Counter(pool.map(guess, range(30)))
    # 401: the password was checked against the hash; 429: refused before it
    free = settings.login_max_failures
    assert codes == {401: free, 429: 30 - free}


def test_the_delay_grows_with_each_failure_and_is_forgotten_after_the_window() -> None:
    now = [1000.0]
    limiter = LoginLimiter(free=3, window=300, max_delay=60, clock=lambda: now[0])
    keys = ["user:alice"]
    for _ in range(3):
        assert limiter.attempt(keys).allowed
    waits = []
    for _ in range(8):
        refused = limiter.attempt(keys)
        assert not refused.allowed
        waits.append(refused.retry_after)
        now[0] += refused.retry_after
        assert limiter.attempt(keys).allowed
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]  # progressive, capped at max_delay
    now[0] += 60 + 301  # the wait is over and the window has passed: forgotten
    assert all(limiter.attempt(keys).allowed for _ in range(3))
    # a success forgets the user's key and gives the client's attempt back
    ok = limiter.attempt(["user:erin", "client:192.0.2.7"])
    limiter.succeeded(ok)
    assert len([k for k in ("user:erin",) if not limiter.attempt([k]).allowed]) == 0


# ------------------------------------------------------------------ 2. who is the client


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    # no trusted proxy: the header is ignored, every guess counts against 127.0.0.1
    settings = make_settings(tmp_path / "direct")
    add_users(settings)
    with live(app_of(settings, frozen=True)) as url, httpx.Client(base_url=url) as client:
        token = form(client)
        per_client = 4 * settings.login_max_failures
        for i in range(per_client):
            spoofed = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
            assert attempt(client, f"nobody{i}", WRONG, token, spoofed).status_code == 401
        other = {"X-Forwarded-For": "203.0.113.9"}
        assert attempt(client, "erin", PASSWORD, token, other).status_code == 429

    # behind a trusted proxy: its X-Forwarded-For names the client
    settings = make_settings(tmp_path / "proxied", trusted_proxies=("127.0.0.1",))
    add_users(settings)
    with live(app_of(settings, frozen=True)) as url, httpx.Client(base_url=url) as client:
        attacker = {"X-Forwarded-For": "198.51.100.66"}
        token = form(client, attacker)
        for i in range(per_client):
            assert attempt(client, f"nobody{i}", WRONG, token, attacker).status_code == 401
        assert attempt(client, "nobody", WRONG, token, attacker).status_code == 429
        # everybody else behind the same proxy signs in as usual
        colleague = {"X-Forwarded-For": "10.1.2.3, 203.0.113.9"}  # proxy appended the last
        with httpx.Client(base_url=url) as browser:
            token = form(browser, colleague)
            assert attempt(browser, "erin", PASSWORD, token, colleague).status_code == 303


def request_from(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 50000), "headers": headers})


def test_the_client_address_walks_x_forwarded_for_only_past_trusted_proxies() -> None:
    proxies = ("127.0.0.1", "10.0.0.5")
    assert client_address(request_from("192.0.2.1", "203.0.113.9"), proxies) == "192.0.2.1"
    assert client_address(request_from("127.0.0.1", "203.0.113.9"), proxies) == "203.0.113.9"
    # the client may send its own X-Forwarded-For: only what the proxies appended counts
    spoofed = request_from("127.0.0.1", "1.2.3.4, 203.0.113.9, 10.0.0.5")
    assert client_address(spoofed, proxies) == "203.0.113.9"
    assert client_address(request_from("127.0.0.1", "x", "203.0.113.9"), proxies) == "203.0.113.9"
    assert client_address(request_from("127.0.0.1", "203.0.113.9, garbage"), proxies) == "127.0.0.1"
    assert client_address(request_from("127.0.0.1"), proxies) == "127.0.0.1"
    assert client_address(request_from("127.0.0.1", "2001:db8::1"), proxies) == "2001:db8::1"
    assert client_address(request_from("127.0.0.1", "203.0.113.9"), ()) == "127.0.0.1"


def test_guessing_a_users_password_elsewhere_does_not_lock_them_out_of_their_browser(
    console_settings: WebSettings,
) -> None:
    app = app_of(console_settings, frozen=True)
    with (
        TestClient(app, follow_redirects=False) as own,
        TestClient(app, follow_redirects=False) as attacker,
        TestClient(app, follow_redirects=False) as new_browser,
    ):
        token = sign_in(own, "alice")  # alice has signed in from this browser before
        assert DEVICE_COOKIE in own.cookies
        assert own.post("/logout", data={"csrf_token": token}).status_code == 303

        guess = form(attacker)
        codes = [attempt(attacker, "alice", WRONG, guess).status_code for _ in range(8)]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}

        # her own browser: signed in at once
        assert attempt(own, "alice", PASSWORD, form(own)).status_code == 303
        # an unknown browser is slowed down (seconds), not locked out of the account
        slowed = attempt(new_browser, "alice", PASSWORD, form(new_browser))
        assert slowed.status_code == 429 and 1 <= int(slowed.headers["retry-after"]) <= 2
        # a device cookie is bound to its user and signed: it cannot be moved or forged
        device = own.cookies[DEVICE_COOKIE]
        new_browser.cookies.set(DEVICE_COOKIE, device, path="/login")
        assert attempt(new_browser, "erin", PASSWORD, form(new_browser)).status_code == 303
        forged = device[:-4] + ("AAAA" if not device.endswith("AAAA") else "BBBB")
        attacker.cookies.set(DEVICE_COOKIE, forged, path="/login")
        assert attempt(attacker, "alice", WRONG, form(attacker)).status_code == 429


@pytest.fixture()
def console_settings(tmp_path: Path) -> WebSettings:
    settings = make_settings(tmp_path)
    add_users(settings)
    return settings


# ------------------------------------------------------------------ 3. garbage tokens


def test_non_ascii_or_garbage_cookies_and_tokens_are_refused_without_a_500(
    console_settings: WebSettings, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_of(console_settings)
    caplog.set_level(logging.ERROR)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        for value in ("é.é", "ក.ខ", "x" * 43 + ".é", "\udcff.x", "..", "a.b.c", "%ff.%00"):
            raw = f"{COOKIE}={value}".encode("utf-8", "surrogateescape")
            page = client.get("/", headers={"cookie": raw})
            assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
            api = client.get("/api/alerts", headers={"cookie": raw})
            assert api.status_code == 401
        token = form(client)
        for bad in ("é" * 43, "ក", "\x00", "x" * 5000):
            refused = client.post(
                "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": bad}
            )
            assert refused.status_code == 403, bad
        refused = client.post("/logout", headers={"x-csrf-token": "é".encode()})  # raw UTF-8
        assert refused.status_code == 403
        device = {"cookie": f"{DEVICE_COOKIE}=é.é.é.é; {COOKIE}={client.cookies[COOKIE]}".encode()}
        accepted = client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            headers=device,
        )
        assert accepted.status_code == 303
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


# ------------------------------------------------------------------ 5. durable sessions


def test_a_restart_keeps_people_signed_in(console_settings: WebSettings) -> None:
    with TestClient(app_of(console_settings), follow_redirects=False) as before:
        sign_in(before, "alice")
        cookie = before.cookies[COOKIE]
        assert before.get("/").status_code == 200
    # a new process: a new app on the same state directory
    with TestClient(app_of(console_settings), follow_redirects=False) as after:
        after.cookies.set(COOKIE, cookie)
        assert after.get("/").status_code == 200
    stored = console_settings.sessions_file.read_bytes()
    assert cookie.partition(".")[0].encode() not in stored  # only the id's hash is kept


def test_idle_and_absolute_timeouts_still_end_stored_sessions(backend: str, tmp_path: Path) -> None:
    now = [1_000_000.0]
    db = open_database(tmp_path / "sessions.db", "sessions")
    store = SessionStore(db, b"k" * 32, idle=60, absolute=300, clock=lambda: now[0])
    cookie = store.cookie_value(store.create("alice"))
    now[0] += 59
    assert store.get(cookie) is not None
    # a restart: another store on the same file and key
    again = SessionStore(db, b"k" * 32, idle=60, absolute=300, clock=lambda: now[0])
    now[0] += 30
    assert again.get(cookie) is not None  # the touch before the restart was kept
    now[0] += 61
    assert again.get(cookie) is None


def test_anonymous_floods_never_evict_other_clients_forms_or_signed_in_sessions(
    backend: str, tmp_path: Path
) -> None:
    db = open_database(tmp_path / "sessions.db", "sessions")
    store = SessionStore(db, b"k" * 32, anonymous_per_client=20, anonymous_limit=500)
    signed_in = store.cookie_value(store.create("alice", client="192.0.2.1"))
    pending = store.cookie_value(store.create(None, client="192.0.2.2"))
    for _ in range(300):
        store.create(None, client="198.51.100.66")
    assert store.count() == 1 + 1 + 20  # the flooder keeps only its own newest 20
    assert store.get(signed_in) is not None and store.get(pending) is not None


def test_cookie_less_sign_in_page_visits_are_bounded_per_client(
    console_settings: WebSettings,
) -> None:
    app = app_of(console_settings)
    with TestClient(app, follow_redirects=False) as client:
        for _ in range(60):
            client.cookies.clear()
            assert client.get("/login").status_code == 200
        sessions = app.state.console.sessions
        assert sessions.count() == console_settings.anonymous_sessions_per_client


def test_a_user_has_at_most_n_sessions_and_the_oldest_is_signed_out(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sessions_per_user=3)
    add_users(settings)
    app = app_of(settings)
    browsers = [TestClient(app, follow_redirects=False) for _ in range(5)]
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, "alice")
        for browser in browsers:
            sign_in(browser, "erin")
        signed_in = [browser.get("/").status_code == 200 for browser in browsers]
        assert signed_in == [False, False, True, True, True]
        assert other.get("/").status_code == 200  # nobody else's session was touched
    for browser in browsers:
        browser.close()


def test_a_locked_or_damaged_session_store_is_a_503_not_a_500(
    console_settings: WebSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVNET_STORE_TIMEOUT", "0.2")
    app = app_of(console_settings)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        sign_in(client, "alice")
        signed_in = client.cookies[COOKIE]
        holder = sqlite3.connect(console_settings.sessions_file, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another writer holds sessions.db
            client.cookies.clear()
            locked = client.get("/login")  # a new anonymous session must be written
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert locked.status_code == 503
        assert "state store is unavailable" in locked.text
        console_settings.sessions_file.write_bytes(b"not a database " * 400)
        for name in ("sessions.db-wal", "sessions.db-shm"):
            (console_settings.sessions_file.parent / name).unlink(missing_ok=True)
        client.cookies.set(COOKIE, signed_in)
        damaged = client.get("/")
        assert damaged.status_code == 503


# ------------------------------------------------------------------ 6. private state files


def test_the_consoles_state_files_are_private(console_settings: WebSettings) -> None:
    with TestClient(app_of(console_settings), follow_redirects=False) as client:
        sign_in(client, "alice")
        soc = console_settings.state_dir / "soc"
        with sqlite3.connect(console_settings.sessions_file) as reader:  # -wal, -shm open
            reader.execute("SELECT COUNT(*) FROM sessions").fetchone()
            files = [
                console_settings.users_file,
                console_settings.secret_file,
                console_settings.sessions_file,
                Path(f"{console_settings.sessions_file}-wal"),
                Path(f"{console_settings.sessions_file}-shm"),
            ]
            modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
        assert modes == {p.name: "0o600" for p in files}
        leftovers = {
            p.name: oct(stat.S_IMODE(p.stat().st_mode))
            for p in soc.iterdir()
            if p.is_file() and stat.S_IMODE(p.stat().st_mode) & 0o077
        }
        assert leftovers == {}


def test_an_older_world_readable_signing_key_is_narrowed(console_settings: WebSettings) -> None:
    key = console_settings.secret_file
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("ab" * 32 + "\n", encoding="ascii")
    key.chmod(0o644)
    app_of(console_settings)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text(encoding="ascii").strip() == "ab" * 32  # the same key: nobody signed out
