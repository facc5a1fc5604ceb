"""When the inventory cannot be read, a focal officer's hosting form says so in one plain
line — no file paths, no parser messages; an engineer gets the detail to fix it."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest

from controller.web.routes.hosting import HOSTING_UNAVAILABLE
from tests.hosting.conftest import Workspace
from tests.hosting.web import PASSWORD, console_app, csrf_of

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture()
def client(lab_copy: Workspace) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    app = console_app(lab_copy.inventory, lab_copy.state)
    (lab_copy.inventory / "tenants.yaml").write_text("tenants: [unclosed\n")
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def _sign_in(client: Any, username: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303
    return csrf_of(client.get("/hosting").text)


def test_a_focal_officer_sees_one_plain_line_when_the_inventory_is_broken(
    client: Any, lab_copy: Workspace
) -> None:
    csrf = _sign_in(client, "moh-focal")
    form = client.get("/hosting/new")
    submitted = client.post(
        "/hosting/new", data={"service": "HMIS", "contact": "x", "csrf_token": csrf}
    )
    for response in (form, submitted):
        assert response.status_code == 503
        text = unescape(response.text)
        assert HOSTING_UNAVAILABLE in text
        assert str(lab_copy.inventory) not in text and ".yaml" not in text


def test_an_engineer_sees_where_the_inventory_is_broken(client: Any, lab_copy: Workspace) -> None:
    _sign_in(client, "erin")
    form = client.get("/hosting/new")
    assert form.status_code == 503
    assert f"the inventory cannot be read: {lab_copy.inventory}/" in unescape(form.text)
