"""Khmer text is kept byte for byte wherever hosting text is cleaned — the contact, the
justification and the reasons for approving or rejecting, from the web form and from the
CLI. Khmer writes no spaces between words: ZERO WIDTH SPACE (U+200B) marks the breaks, and
ZWNJ/ZWJ (U+200C/U+200D) shape the letters; they are part of the text. Only bidi
embeddings/overrides/isolates and control characters are removed."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from controller.hosting.request import clean_reason, clean_text, parse_request
from tests.hosting.conftest import Workspace, request_values
from tests.hosting.khmer import (
    APPROVED,
    BIDI,
    CONTACT,
    JUSTIFICATION,
    MOH,
    REJECTED,
    ZWJ,
    ZWNJ,
    ZWSP,
)
from tests.hosting.web import PASSWORD, console_app, csrf_of

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def khmer_blocks() -> str:
    """Every assigned character of the Khmer (U+1780–U+17FF) and Khmer Symbols
    (U+19E0–U+19FF) blocks."""
    points = [*range(0x1780, 0x1800), *range(0x19E0, 0x1A00)]
    return "".join(chr(p) for p in points if unicodedata.name(chr(p), None))


def test_khmer_text_and_zero_width_characters_are_kept_byte_for_byte() -> None:
    every = khmer_blocks()
    assert len(every) == 146
    for text in (MOH, CONTACT, REJECTED, APPROVED, every, ZWSP + ZWNJ + ZWJ + "a"):
        assert clean_text(text) == text
        assert clean_text(text, multiline=True) == text
        assert clean_reason(text, required=True) == text
    assert clean_text(JUSTIFICATION, multiline=True) == JUSTIFICATION
    request = parse_request(request_values(contact=CONTACT, justification=JUSTIFICATION))
    assert request.contact.encode() == CONTACT.encode()
    assert request.justification.encode() == JUSTIFICATION.encode()


def test_only_bidi_controls_and_control_characters_are_removed() -> None:
    assert clean_text(f"{BIDI[4]}{MOH}{BIDI[2]}") == MOH  # RLO … PDF
    assert clean_text("".join(f"{c}ក" for c in BIDI)) == "ក" * len(BIDI)
    c0 = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\v\f\r")
    c1 = "".join(chr(c) for c in range(0x7F, 0xA0) if c != 0x85)
    assert clean_text(f"ក{c0}ខ{c1}គ") == "កខគ"
    # one-line text: a line break or a tab is a space; multi-line text keeps both
    assert clean_text(f"{MOH}\n{MOH}\t{MOH}") == f"{MOH} {MOH} {MOH}"
    assert clean_text(f"{MOH}\r\n\t{MOH}\u2028x", multiline=True) == f"{MOH}\n\t{MOH}\nx"
    # the marks that only nudge neutral characters, and other format characters, stay
    for kept in ("\u200e", "\u200f", "\u061c", "\u2060", "\u00ad"):
        assert clean_text(f"ក{kept}ខ") == f"ក{kept}ខ"


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

    app = console_app(lab_copy.inventory, lab_copy.state)
    with TestClient(app, follow_redirects=False) as client:
        yield Web(lab_copy, client)


FORM = {
    "service": "HMIS",
    "site": "ndc",
    "units": "2",
    "servers": "1",
    "power_kw": "0.5",
    "vlans": "1",
    "prefix_len": "28",
    "bandwidth_mbps": "1G",
}


def test_khmer_round_trips_through_the_form_the_store_and_the_page(web: Web) -> None:
    csrf = web.sign_in("moh-focal")
    for _ in range(2):  # no. 1 is rejected, no. 2 approved
        response = web.client.post(
            "/hosting/new",
            data={**FORM, "contact": CONTACT, "justification": JUSTIFICATION, "csrf_token": csrf},
        )
        assert response.status_code == 303, response.text
    stored = web.ws.service().get(1).request
    assert stored.contact.encode() == CONTACT.encode()
    assert stored.justification.encode() == JUSTIFICATION.encode()
    page = web.client.get("/hosting/1")
    assert CONTACT in page.text
    for line in JUSTIFICATION.split("\n"):
        assert line in page.text

    csrf = web.sign_in("erin")
    data = {"csrf_token": csrf, "reason": f"{BIDI[4]}{REJECTED}\x00"}
    assert web.client.post("/hosting/1/reject", data=data).status_code == 303
    data = {"csrf_token": csrf, "reason": APPROVED}
    assert web.client.post("/hosting/2/approve", data=data).status_code == 303
    assert web.ws.service().get(1).events[-1].why == REJECTED
    assert web.ws.service().get(2).events[-1].why == APPROVED

    web.sign_in("moh-focal")
    assert REJECTED in web.client.get("/hosting/1").text
    assert APPROVED in web.client.get("/hosting/2").text


def test_khmer_round_trips_through_the_cli_and_hosting_show_json(lab_copy: Workspace) -> None:
    options = []
    values = request_values(contact=CONTACT, justification=JUSTIFICATION)
    names = {"power_kw": "power", "prefix_len": "prefix", "bandwidth_mbps": "bandwidth"}
    for key, value in values.items():
        options += [f"--{names.get(key, key)}", str(value)]
    for _ in range(2):
        made = lab_copy.cli("request", *options)
        assert made.returncode == 0, made.stderr
    assert lab_copy.cli("reject", "1", "--reason", REJECTED + BIDI).returncode == 0
    assert lab_copy.cli("approve", "2", "--reason", APPROVED).returncode == 0

    shown = lab_copy.cli("show", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["contact"].encode() == CONTACT.encode()
    assert record["justification"].encode() == JUSTIFICATION.encode()
    assert record["events"][-1]["why"] == REJECTED
    approved = json.loads(lab_copy.cli("show", "2", "--json").stdout)
    assert approved["events"][-1]["why"] == APPROVED
    assert approved["state"] == "approved"
    table = lab_copy.cli("show", "1")  # the table prints the same text
    assert table.returncode == 0 and MOH in table.stdout
