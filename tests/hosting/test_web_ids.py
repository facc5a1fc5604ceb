"""Request numbers in the console's paths: anything that is not a request number in
SQLite's INTEGER range (1 … 2**63-1) is a plain 404, never a 500; and a focal officer
cannot tell another ministry's request from a missing one (the same 404, byte for byte),
so request numbers cannot be counted. The CLI refuses such numbers with one line too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from controller.hosting.errors import UnknownRequest
from controller.hosting.request import MAX_REQUEST_ID, parse_request_id
from tests.hosting.conftest import Workspace, request_values
from tests.hosting.web import PASSWORD, console_app, csrf_of

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

OUT_OF_RANGE = [
    "99999999999999999999",  # the reported one: OverflowError in SQLite
    str(2**63),  # one past SQLite's largest INTEGER
    str(2**64 + 1),
    "0",
    "-1",
    "-9223372036854775809",
    "01",  # not how a request number is written
    "+1",
    "1_0",  # int() accepts it; a request number does not
    "%D9%A1",  # ARABIC-INDIC DIGIT ONE: int() accepts it too
    "1%0A",  # a trailing newline
    "1.0",
    "1e3",
    "abc",
]


@dataclass
class Web:
    ws: Workspace
    client: Any  # fastapi.testclient.TestClient

    def sign_in(self, username: str) -> str:
        self.client.cookies.clear()
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        assert response.status_code == 303, response.text
        return csrf_of(self.client.get("/hosting").text)


@pytest.fixture()
def web(lab_copy: Workspace) -> Iterator[Web]:
    from fastapi.testclient import TestClient

    lab_copy.service().submit(request_values(tenant="MoH", service="HMIS"), "test")  # no. 1
    app = console_app(lab_copy.inventory, lab_copy.state)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        yield Web(lab_copy, client)


@pytest.mark.parametrize("ident", OUT_OF_RANGE)
def test_a_request_number_outside_sqlites_range_is_a_404_for_every_role(
    web: Web, ident: str
) -> None:
    for username in ("erin", "alice", "moh-focal"):
        web.sign_in(username)
        response = web.client.get(f"/hosting/{ident}")
        assert response.status_code == 404, (username, response.text)
        assert "no such hosting request" in response.text


@pytest.mark.parametrize("ident", OUT_OF_RANGE)
def test_approving_or_rejecting_a_number_outside_the_range_is_a_404(web: Web, ident: str) -> None:
    csrf = web.sign_in("erin")
    for step in ("approve", "reject"):
        response = web.client.post(
            f"/hosting/{ident}/{step}", data={"csrf_token": csrf, "reason": "a reason"}
        )
        assert response.status_code == 404, (step, response.text)
        assert "no such hosting request" in response.text


def test_the_largest_sqlite_integer_is_a_request_number_that_does_not_exist(web: Web) -> None:
    web.sign_in("erin")
    response = web.client.get(f"/hosting/{MAX_REQUEST_ID}")
    assert response.status_code == 404
    assert "no such hosting request" in response.text
    assert web.client.get("/hosting/1").status_code == 200


def _shown(response: Any) -> tuple[int, bytes, list[tuple[str, str]]]:
    """What the client sees, but the date and the path it asked for itself (the language
    switch on every page returns to that path: it echoes the client's own URL)."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "date"]
    path = response.request.url.path.encode()
    return response.status_code, response.content.replace(path, b"<asked-path>"), headers


def test_another_ministrys_request_looks_exactly_like_a_missing_one(web: Web) -> None:
    csrf = web.sign_in("mef-focal")
    foreign = web.client.get("/hosting/1")  # MoH's request
    missing = web.client.get("/hosting/2")  # there is no request 2
    assert foreign.status_code == 404
    assert "no such hosting request" in foreign.text
    assert _shown(foreign) == _shown(missing)
    for step in ("approve", "reject"):  # refused for the role, whatever the number
        data = {"csrf_token": csrf, "reason": "a reason"}
        one = web.client.post(f"/hosting/1/{step}", data=data)
        two = web.client.post(f"/hosting/2/{step}", data=data)
        assert one.status_code == 403
        assert _shown(one) == _shown(two)


def test_the_ministrys_own_officer_still_sees_the_request(web: Web) -> None:
    web.sign_in("moh-focal")
    page = web.client.get("/hosting/1")
    assert page.status_code == 200 and "HMIS" in page.text


def test_the_service_refuses_numbers_outside_the_range_without_touching_sqlite(
    lab_copy: Workspace,
) -> None:
    svc = lab_copy.service()
    svc.submit(request_values(), "test")
    for ident in (0, -1, MAX_REQUEST_ID + 1, 10**20):
        with pytest.raises(UnknownRequest, match="no hosting request"):
            svc.get(ident)
        with pytest.raises(UnknownRequest):
            svc.reject(ident, "test", "a reason")
        with pytest.raises(UnknownRequest):
            svc.approve(ident, "test")


def test_request_numbers_are_plain_decimal_digits_in_sqlites_range() -> None:
    assert parse_request_id("1") == 1
    assert parse_request_id(str(MAX_REQUEST_ID)) == MAX_REQUEST_ID == 2**63 - 1
    for text in ("", *(t for t in OUT_OF_RANGE if "%" not in t), "\u0661", "1\n", " 1"):
        assert parse_request_id(text) is None, text


@pytest.mark.parametrize("ident", ["99999999999999999999", str(2**63), "0"])
def test_the_cli_refuses_a_number_outside_the_range_in_one_line(
    lab_copy: Workspace, ident: str
) -> None:
    assert lab_copy.cli("request", *_good_options()).returncode == 0
    for command in ("show", "approve", "reject"):
        extra = ["--reason", "a reason"] if command == "reject" else []
        result = lab_copy.cli(command, ident, *extra)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
        assert "Invalid value for 'ident'" in result.stderr


def _good_options() -> list[str]:
    options = []
    for key, value in request_values().items():
        name = {"power_kw": "power", "prefix_len": "prefix", "bandwidth_mbps": "bandwidth"}.get(
            key, key
        )
        options += [f"--{name}", str(value)]
    return options
