"""The hosting pages of the console: who may do what, forms that explain mistakes next to
the field, hostile input refused with 4xx and shown escaped, nothing written on error."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from controller.inventory import validate_inventory
from tests.hosting.conftest import Workspace
from tests.hosting.web import PASSWORD, console_app, csrf_of

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
FORM = {
    "tenant": "MoH",
    "service": "HMIS",
    "site": "ndc",
    "units": "2",
    "servers": "2",
    "power_kw": "1.5",
    "vlans": "1",
    "prefix_len": "27",
    "bandwidth_mbps": "1G",
    "contact": "Dara Chan, dara@moh.gov.kh, 012 345 678",
    "justification": "HMIS reporting servers for the provincial health departments",
}


@dataclass
class Web:
    ws: Workspace
    client: Any  # fastapi.testclient.TestClient (imported after its warning is filtered)

    def sign_in(self, username: str) -> str:
        self.client.cookies.clear()
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        assert response.status_code == 303, response.text
        return csrf_of(self.client.get("/hosting").text)

    def submit(self, csrf: str, **changes: str) -> Any:
        return self.client.post("/hosting/new", data={**FORM, **changes, "csrf_token": csrf})

    def written(self) -> tuple[bytes, list[tuple[object, ...]]]:
        db = self.ws.state / "hosting.db"
        rows: list[tuple[object, ...]] = []
        if db.exists():
            with sqlite3.connect(db) as conn:
                rows = [
                    *conn.execute("SELECT * FROM requests"),
                    *conn.execute("SELECT * FROM events"),
                ]
        return self.ws.hosting_yaml.read_bytes(), rows


@pytest.fixture()
def web(lab_copy: Workspace) -> Iterator[Web]:
    from fastapi.testclient import TestClient

    app = console_app(lab_copy.inventory, lab_copy.state)
    with TestClient(app, follow_redirects=False) as client:
        yield Web(lab_copy, client)


def test_a_focal_officer_requests_and_follows_the_state(web: Web) -> None:
    csrf = web.sign_in("moh-focal")
    form = web.client.get("/hosting/new")
    assert form.status_code == 200
    assert "Ministry of Health (MoH)" in form.text
    assert 'name="tenant" value="MoH"' in form.text and "CamDX" not in form.text  # own only
    assert "1 U = 4.45 cm" in form.text  # help next to the field
    response = web.submit(csrf)
    assert response.status_code == 303
    assert response.headers["location"] == "/hosting/1?done=submitted"
    page = web.client.get("/hosting/1?done=submitted")
    assert "Your request was submitted" in page.text
    assert "waiting for review by MPTC engineers" in page.text
    assert "web:moh-focal" in page.text  # who, in the history
    listing = web.client.get("/hosting")
    assert ">1</a>" in listing.text and "submitted" in listing.text

    # an engineer approves: the allocation runs, the inventory changes and validates
    csrf = web.sign_in("erin")
    page = web.client.get("/hosting/1")
    assert "Approve and allocate" in page.text
    response = web.client.post("/hosting/1/approve", data={"csrf_token": csrf, "reason": "ok"})
    assert response.status_code == 303, response.text
    assert validate_inventory(web.ws.inventory).ok
    assert "h-0003" in web.ws.hosting_yaml.read_text()

    web.sign_in("moh-focal")
    page = web.client.get("/hosting/1")
    assert "capacity allocated" in page.text and "10.100.0.64/27" in page.text
    assert "10.100.0.65" in page.text  # the gateway
    assert "Approve and allocate" not in page.text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"units": "-3"}, "Rack units", "must be at least 1"),
        ({"units": "2", "servers": "5"}, "Servers", "5 servers do not fit in 2 U"),
        ({"power_kw": "lots"}, "Power (kW)", "must be a number"),
        ({"contact": "x" * 100_000}, "Contact", "must be at most 200 characters"),
        ({"justification": "<script>alert(1)</script> need"}, "Justification", "HTML markup"),
        ({"service": "Payroll"}, "Service", "MoH has no service"),
        ({"site": "moon"}, "Site", "must be one of ndc, dr, both"),
        ({"prefix_len": "8"}, "Subnet size", "must be a prefix length from /22"),
    ],
)
def test_mistakes_are_explained_next_to_the_field_and_nothing_is_written(
    web: Web, changes: dict[str, str], field: str, message: str
) -> None:
    csrf = web.sign_in("moh-focal")
    web.submit(csrf)  # one good request: the database exists
    before = web.written()
    response = web.submit(csrf, **changes)
    assert response.status_code == 400
    html = response.text
    assert "Nothing was saved" in html
    assert '<p class="banner" id="' in html and f"{field}: " in html and message in html
    assert "<script>alert(1)</script>" not in html  # echoed escaped, never as markup
    assert 'aria-invalid="true"' in html
    assert html.count('class="banner"') == 2  # the summary and the field's message
    assert web.written() == before


def test_hostile_input_is_escaped_in_every_page(web: Web) -> None:
    csrf = web.sign_in("moh-focal")
    tricky = 'Dara "><img src=x onerror=alert(1)> & co'
    response = web.submit(csrf, contact=tricky)
    assert response.status_code == 400  # the markup is refused …
    shown = response.text
    assert "<img src=x" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown
    fine = 'Dara "Chan" & co. {{7*7}} ${x}'
    lines = "first line\nsecond line <3 & more"
    assert web.submit(csrf, contact=fine, justification=lines).status_code == 303
    page = web.client.get("/hosting/1").text
    assert "Dara &#34;Chan&#34; &amp; co. {{7*7}} ${x}" in page  # no template evaluation
    assert "first line<br>second line &lt;3 &amp; more" in page


def test_roles_and_ministries_are_enforced(web: Web) -> None:
    csrf = web.sign_in("moh-focal")
    assert web.submit(csrf, tenant="MEF", service="CamDX").status_code == 403
    web.submit(csrf)
    assert web.client.post("/hosting/1/approve", data={"csrf_token": csrf}).status_code == 403
    assert web.client.post("/hosting/1/reject", data={"csrf_token": csrf}).status_code == 403

    csrf = web.sign_in("mef-focal")
    assert web.client.get("/hosting/1").status_code == 404  # MoH's request: as if missing
    assert "No hosting request yet" in web.client.get("/hosting").text

    csrf = web.sign_in("alice")  # SOC: reads every request, changes nothing
    assert ">1</a>" in web.client.get("/hosting").text
    assert web.client.get("/hosting/new").status_code == 403
    assert web.client.post("/hosting/1/approve", data={"csrf_token": csrf}).status_code == 403

    web.client.cookies.clear()
    assert web.client.get("/hosting").status_code == 303  # to the sign-in page


def test_bad_ids_csrf_and_unknown_requests(web: Web) -> None:
    csrf = web.sign_in("erin")
    assert web.client.get("/hosting/99").status_code == 404
    assert web.client.get("/hosting/abc").status_code in (400, 404)
    assert web.client.get("/hosting/1%3Cscript%3E").status_code in (400, 404)
    web.submit(csrf)
    before = web.written()
    no_token = web.client.post("/hosting/1/approve", data={"reason": "x"})
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    assert web.written() == before


def test_an_engineer_rejects_with_a_reason_or_learns_what_is_short(web: Web) -> None:
    csrf = web.sign_in("erin")
    web.submit(csrf, tenant="MoH", power_kw="9")  # racks have 8 kW
    before = web.written()
    empty = web.client.post("/hosting/1/reject", data={"csrf_token": csrf, "reason": "  "})
    assert empty.status_code == 400 and "Reason: is required" in empty.text
    assert web.written() == before
    short = web.client.post("/hosting/1/approve", data={"csrf_token": csrf})
    assert short.status_code == 409
    assert "no rack in NDC has 2 contiguous free U with 9.0 kW headroom" in short.text
    assert "Nothing was allocated" in short.text
    assert web.ws.hosting_yaml.read_bytes() == before[0]
    done = web.client.post(
        "/hosting/1/reject", data={"csrf_token": csrf, "reason": "split it over two racks"}
    )
    assert done.status_code == 303
    page = web.client.get("/hosting/1").text
    assert "rejected" in page and "split it over two racks" in page
    again = web.client.post("/hosting/1/approve", data={"csrf_token": csrf})
    assert again.status_code == 409 and "only a request that is submitted" in again.text


def _approved(web: Web) -> None:
    web.submit(web.sign_in("moh-focal"))
    csrf = web.sign_in("erin")
    response = web.client.post("/hosting/1/approve", data={"csrf_token": csrf, "reason": "ok"})
    assert response.status_code == 303, response.text


def test_a_console_started_without_a_network_says_so_and_provisions_nothing(web: Web) -> None:
    _approved(web)
    csrf = web.sign_in("erin")
    page = web.client.get("/hosting/1")
    assert "does not configure the network" in page.text
    assert "Provision on the gateways" not in page.text
    before = web.written()
    response = web.client.post("/hosting/1/provision", data={"csrf_token": csrf})
    assert response.status_code == 409 and "govnet soc serve --lab" in response.text
    response = web.client.post("/hosting/1/decommission", data={"csrf_token": csrf})
    assert response.status_code == 409
    assert web.written() == before, "nothing recorded, nothing allocated or freed"


def test_only_engineers_provision_and_only_with_a_csrf_token(web: Web) -> None:
    _approved(web)
    for who in ("moh-focal", "alice"):
        csrf = web.sign_in(who)
        page = web.client.get("/hosting/1")
        assert "Provision on the gateways" not in page.text and "Decommission" not in page.text
        response = web.client.post("/hosting/1/provision", data={"csrf_token": csrf})
        assert response.status_code == 403, who
    web.sign_in("mef-focal")
    assert web.client.post("/hosting/1/decommission", data={}).status_code in {403, 404}
    web.sign_in("erin")
    assert web.client.post("/hosting/1/provision", data={}).status_code == 403  # no token
