"""In headless Chromium (Playwright, Debian's /usr/bin/chromium), with the monitoring back
ends down (the console's real HTTP clients pointed at a loopback port that is bound but
not listening): a focal officer types Khmer — with its zero-width word breaks — into the
hosting form and reads it back exactly; an engineer's Khmer reason reaches the officer
exactly; the officer's pages say "monitoring is unavailable" and show no internal address.
Only 127.0.0.1 is opened."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from controller.hosting.service import HostingService
from controller.hosting.workspace import InventoryCache
from controller.web import WebSettings, create_app
from tests.conftest import CHROMIUM, ROOT, require
from tests.hosting.khmer import CONTACT, JUSTIFICATION, MOH, REJECTED
from tests.soc.helpers import free_port, wait_until
from tests.web.conftest import FAST_SCRYPT, PASSWORD, add_users


@dataclass
class Live:
    url: str
    monitoring_port: int
    settings: WebSettings
    shots: Path

    def hosting(self) -> HostingService:
        return HostingService(self.settings.inventory, self.settings.state_dir, InventoryCache())


@pytest.fixture()
def live(tmp_path: Path) -> Iterator[Live]:
    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (deps/apt-soc.txt)")
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory/lab", inventory)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: monitoring is down
        monitoring_port = int(closed.getsockname()[1])
        url = f"http://127.0.0.1:{monitoring_port}"
        settings = WebSettings(
            state_dir=tmp_path / "state",
            inventory=inventory,
            prometheus_url=url,
            alertmanager_url=url,
            backend_timeout=2.0,
            scrypt_n=FAST_SCRYPT,
        )
        add_users(settings)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_until(lambda: server.started, 20, "the console to listen")
            shots = tmp_path / "screenshots"
            shots.mkdir()
            yield Live(f"http://127.0.0.1:{port}", monitoring_port, settings, shots)
        finally:
            server.should_exit = True
            thread.join(10)


def sign_in(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()


def sign_out(page: Any) -> None:
    page.click("form.whoami button[type=submit]")
    page.wait_for_load_state()


def test_khmer_typed_in_the_browser_is_stored_and_shown_exactly(live: Live, browser: Any) -> None:
    page = browser.new_page()
    sign_in(page, live.url, "moh-focal")
    page.goto(live.url + "/hosting/new")
    page.select_option("select[name=service]", "HMIS")
    page.fill("input[name=units]", "2")
    page.fill("input[name=servers]", "1")
    page.fill("input[name=power_kw]", "0.5")
    page.fill("input[name=contact]", CONTACT)
    page.fill("textarea[name=justification]", JUSTIFICATION)
    page.click("form.hosting-request button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/hosting/1?done=submitted"), page.inner_text("main")

    stored = live.hosting().get(1).request
    assert stored.contact.encode() == CONTACT.encode()
    assert stored.justification.encode() == JUSTIFICATION.encode()
    html = page.content()
    assert CONTACT in html
    assert all(line in html for line in JUSTIFICATION.split("\n"))
    page.screenshot(path=str(live.shots / "hosting-khmer.png"), full_page=True)

    sign_out(page)
    sign_in(page, live.url, "erin")
    page.goto(live.url + "/hosting/1")
    page.fill("form[action='/hosting/1/reject'] input[name=reason]", REJECTED)
    page.click("form[action='/hosting/1/reject'] button[type=submit]")
    page.wait_for_load_state()
    assert live.hosting().get(1).events[-1].why.encode() == REJECTED.encode()
    sign_out(page)

    sign_in(page, live.url, "moh-focal")
    page.goto(live.url + "/hosting/1")
    assert REJECTED in page.content()
    assert MOH in page.inner_text("main")


def test_a_focal_officer_sees_monitoring_is_unavailable_and_no_address(
    live: Live, browser: Any
) -> None:
    page = browser.new_page()
    sign_in(page, live.url, "mef-focal")
    for path in ("/alerts", "/ministry"):  # /ministry: the officer's own ministry page
        page.goto(live.url + path)
        banners = page.locator("p.banner")
        assert banners.all_inner_texts() == ["monitoring is unavailable"], path
        html = page.content()
        for internal in ("127.0.0.1", str(live.monitoring_port), "did not answer", "Error)"):
            assert internal not in html, (path, internal)
    page.screenshot(path=str(live.shots / "focal-monitoring-down.png"), full_page=True)

    sign_out(page)
    sign_in(page, live.url, "erin")
    page.goto(live.url + "/alerts")
    detail = page.locator("p.banner").all_inner_texts()
    assert detail == [
        f"Alertmanager at http://127.0.0.1:{live.monitoring_port} did not answer (ConnectError)"
    ]
