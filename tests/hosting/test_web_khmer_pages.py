"""The hosting pages in Khmer: the form, its field errors and the request's page in the
reader's language, and Khmer typed into the form stored and shown exactly."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest

from controller.hosting.service import HostingService
from tests.hosting.conftest import Workspace
from tests.hosting.khmer import CONTACT, JUSTIFICATION
from tests.hosting.test_web import Web
from tests.hosting.web import console_app

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
KM = {"accept-language": "km"}


@pytest.fixture()
def web(lab_copy: Workspace) -> Iterator[Web]:
    from fastapi.testclient import TestClient

    app = console_app(lab_copy.inventory, lab_copy.state)
    with TestClient(app, follow_redirects=False, headers=KM) as client:
        yield Web(lab_copy, client)


def test_the_request_form_and_its_errors_are_in_khmer(web: Web) -> None:
    csrf = web.sign_in("moh-focal")
    form = web.client.get("/hosting/new")
    assert '<html lang="km">' in form.text
    assert "ស្នើសុំសមត្ថភាពសេវាបង្ហោះ" in form.text  # Request hosting capacity
    assert "ឯកតារ៉ាក់ (U)" in form.text and "1 U = 4.45 cm" in form.text  # rack units
    assert "/26 — អាសយដ្ឋាន 62" in form.text  # subnet sizes
    refused = web.submit(csrf, units="0", servers="lots")
    assert refused.status_code == 400
    assert "សូមកែតម្រូវប្រអប់ចំនួន 2 ដែលបានសម្គាល់ខាងក្រោម។" in refused.text
    assert "ឯកតារ៉ាក់ (U): ត្រូវតែយ៉ាងតិច 1" in refused.text
    assert "ម៉ាស៊ីនមេ (server): ត្រូវតែជាចំនួនគត់" in refused.text


def test_khmer_typed_into_the_form_is_stored_and_shown_exactly(web: Web) -> None:
    csrf = web.sign_in("moh-focal")
    response = web.submit(csrf, contact=CONTACT, justification=JUSTIFICATION)
    assert response.status_code == 303, response.text
    page = web.client.get(response.headers["location"])
    assert "សំណើរបស់អ្នកត្រូវបានដាក់ស្នើ។" in page.text  # the notice, in Khmer
    assert CONTACT in html.unescape(page.text)
    for line in JUSTIFICATION.split("\n"):
        assert line in html.unescape(page.text)
    stored = HostingService(web.ws.inventory, web.ws.state).list()[0].request
    assert (stored.contact, stored.justification) == (CONTACT, JUSTIFICATION)
    assert stored.contact.encode() == CONTACT.encode()  # byte for byte, no normalisation
    assert "បានដាក់ស្នើ" in page.text  # the state, submitted
