"""Web console fixtures: the app on the lab inventory with in-memory back ends, users of
every role, and a signed-in TestClient helper."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from controller.web import WebSettings, create_app
from controller.web.backends import Backends, Sample
from controller.web.users import UserStore
from tests.conftest import ROOT
from tests.web.client import TestClient
from tests.web.fakes import FakeAlertmanager, FakePrometheus

FAST_SCRYPT = 2**10  # tests only: production hashes use 2**17
PASSWORD = "correct horse battery"
USERS = {
    "alice": ("soc", None),
    "erin": ("engineer", None),
    "mef-focal": ("focal", "MEF"),
    "moh-focal": ("focal", "MoH"),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    app: FastAPI
    prometheus: FakePrometheus
    alertmanager: FakeAlertmanager
    settings: WebSettings


def make_settings(state_dir: Path, **overrides: object) -> WebSettings:
    return WebSettings(
        state_dir=state_dir,
        inventory=ROOT / "inventory/lab",
        scrypt_n=FAST_SCRYPT,
        **overrides,  # type: ignore[arg-type]
    )


def add_users(settings: WebSettings) -> None:
    store = UserStore(settings.users_file, FAST_SCRYPT)
    for name, (role, tenant) in USERS.items():
        store.add(name, role, tenant, PASSWORD)


@pytest.fixture()
def console(tmp_path: Path) -> Console:
    settings = make_settings(tmp_path)
    add_users(settings)
    prometheus = FakePrometheus(
        samples={
            "count by (province, state)": [
                Sample({"province": "KH-2", "state": "unreachable"}, 4),
                Sample({"province": "KH-12", "state": "up"}, 4),
                Sample({"province": "KH-17", "state": "up"}, 3),
                Sample({"province": "KH-17", "state": "down"}, 1),
            ],
            'govnet_site_up{role="province-router"}': [
                Sample({"province": "KH-2", "device": "pr-kh2"}, 0),
                Sample({"province": "KH-12", "device": "pr-kh12"}, 1),
                Sample({"province": "KH-17", "device": "pr-kh17"}, 1),
            ],
        }
    )
    alertmanager = FakeAlertmanager()
    app = create_app(settings, Backends(prometheus, alertmanager))
    return Console(app, prometheus, alertmanager, settings)


@pytest.fixture()
def client(console: Console) -> Iterator[TestClient]:
    with TestClient(console.app, follow_redirects=False) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the CSRF token of the signed-in session."""
    page = client.get("/login")
    assert page.status_code == 200
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/alerts").text)
