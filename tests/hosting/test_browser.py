"""A focal officer in headless Chromium (Playwright's sync API, Debian's /usr/bin/chromium,
never `playwright install`): open the hosting form, make a mistake and read the message
next to the field, submit, follow the state; an engineer approves; the officer sees the
allocation. The console listens on 127.0.0.1 only; screenshots are kept (and copied to
$GOVNET_SCREENSHOTS when set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM, require
from tests.hosting.browser_steps import sign_in, sign_out
from tests.hosting.conftest import Workspace
from tests.hosting.web import console_app, serving


@dataclass
class Live:
    url: str
    ws: Workspace


@pytest.fixture()
def live(lab_copy: Workspace) -> Iterator[Live]:
    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (deps/apt-soc.txt)")
    with serving(console_app(lab_copy.inventory, lab_copy.state)) as url:
        yield Live(url, lab_copy)


def test_a_focal_officer_requests_hosting_and_sees_it_approved(
    live: Live, browser: Any, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = browser.new_page()
    sign_in(page, live.url, "moh-focal")
    page.click("header nav >> text=Hosting")
    assert "No hosting request yet" in page.inner_text("main")
    page.click("text=Make a new request")
    assert page.url.endswith("/hosting/new")
    assert "Ministry of Health (MoH)" in page.inner_text("main")

    # a first try with a mistake: 6 servers in 4 U
    page.select_option("select[name=service]", "HMIS")
    page.select_option("select[name=site]", "both")
    page.fill("input[name=units]", "4")
    page.fill("input[name=servers]", "6")
    page.fill("input[name=power_kw]", "2.5")
    page.select_option("select[name=prefix_len]", "26")
    page.fill("input[name=contact]", "Dara Chan, dara@moh.gov.kh, 012 345 678")
    page.fill(
        "textarea[name=justification]",
        "HMIS reporting servers for the 25 provincial health departments",
    )
    page.click("form.hosting-request button[type=submit]")
    page.wait_for_load_state()
    error = page.locator("#servers-error")
    assert error.inner_text() == (
        "Servers: 6 servers do not fit in 4 U (each server takes at least 1 U)"
    )
    assert "Nothing was saved" in page.inner_text("main")
    assert page.input_value("input[name=units]") == "4"  # what was typed is kept
    assert page.input_value("select[name=site]") == "both"
    page.screenshot(path=str(shots / "hosting-form-mistake.png"), full_page=True)
    assert not (live.ws.state / "hosting.db").exists()  # nothing written

    page.fill("input[name=servers]", "3")
    page.click("form.hosting-request button[type=submit]")
    page.wait_for_load_state()
    assert "/hosting/1" in page.url
    main = page.inner_text("main")
    assert "Your request was submitted" in main
    assert "waiting for review by MPTC engineers" in main
    page.screenshot(path=str(shots / "hosting-submitted.png"), full_page=True)

    # an engineer approves it in the console
    sign_out(page)
    sign_in(page, live.url, "erin")
    page.goto(live.url + "/hosting/1")
    page.fill("form[action='/hosting/1/approve'] input[name=reason]", "fits hall-a")
    page.click("form[action='/hosting/1/approve'] button[type=submit]")
    page.wait_for_load_state()
    assert "Approved: the capacity below is allocated" in page.inner_text("main")
    sign_out(page)

    # the officer follows the state: approved, with where and which addresses
    sign_in(page, live.url, "moh-focal")
    page.click("header nav >> text=Hosting")
    row = page.locator("table.hosting tbody tr").first
    assert "approved" in row.inner_text().lower() and "NDC A01" in row.inner_text()
    page.click("table.hosting >> text=1")
    page.wait_for_load_state()
    main = page.inner_text("main")
    assert "capacity allocated" in main
    assert "10.100.0.64/26" in main and "10.101.0.64/26" in main  # NDC and its DR copy
    assert "web:erin" in main and "fits hall-a" in main
    page.screenshot(path=str(shots / "hosting-approved.png"), full_page=True)

    keep = os.environ.get("GOVNET_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots.glob("*.png"):
            shutil.copy(shot, Path(keep) / shot.name)
