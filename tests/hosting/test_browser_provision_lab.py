"""Lab tier, in headless Chromium: an engineer provisions an approved hosting request from
the console, watches the run host by host until it is live, the focal officer sees it
live with the address plan they got, and the engineer decommissions it again — ndc-1 is
left as it was and the capacity is back. The console provisions in the session's lab
(``provision_lab``), through the same workflow as `govnet hosting provision`."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.cli.provisioning import lab_name
from simulations.lab import Lab
from tests.conftest import CHROMIUM, LAB_TOPOLOGY, require
from tests.hosting.browser_steps import sign_in, sign_out
from tests.hosting.conftest import LAB_INVENTORY, Workspace, copy_inventory
from tests.hosting.web import console_app, serving

pytestmark = pytest.mark.lab


@dataclass
class Live:
    url: str
    ws: Workspace
    lab: Lab


@pytest.fixture()
def live(lab_network: Lab) -> Iterator[Live]:
    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (deps/apt-soc.txt)")
    base = Path(tempfile.mkdtemp(prefix="govnet-hosting-web-lab-"))
    base.chmod(0o755)  # Ansible's lab login reads the run files
    ws = Workspace(copy_inventory(LAB_INVENTORY, base / "inventory"), base / "state")
    lab_name(LAB_TOPOLOGY)  # the topology's ${VAR:=default}s, as `soc serve --lab` does
    app = console_app(ws.inventory, ws.state, provision_lab=LAB_TOPOLOGY, provision_tofu=True)
    try:
        with serving(app) as url:
            yield Live(url, ws, lab_network)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _ndc1_running(lab: Lab) -> str:
    proc = lab.exec("ndc-1", ["vtysh", "-c", "show running-config"])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _until_state(page: Any, text: str, timeout: float) -> str:
    """The page refreshes itself while a run lasts; wait until the summary says ``text``."""
    deadline = time.monotonic() + timeout
    while True:
        page.wait_for_load_state()
        summary = page.inner_text("p.summary-large")
        if text in summary:
            return page.inner_text("main")
        assert time.monotonic() < deadline, f"still {summary!r} after {timeout:.0f} s"
        page.wait_for_timeout(500)
        page.reload()


def test_an_engineer_provisions_and_decommissions_from_the_console(
    live: Live, browser: Any, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    before = _ndc1_running(live.lab)
    page = browser.new_page()
    sign_in(page, live.url, "moh-focal")
    page.goto(live.url + "/hosting/new")
    page.select_option("select[name=service]", "HMIS")
    page.fill("input[name=units]", "2")
    page.fill("input[name=servers]", "2")
    page.fill("input[name=power_kw]", "1.5")
    page.select_option("select[name=prefix_len]", "27")
    page.fill("input[name=contact]", "Dara Chan, dara@moh.gov.kh, 012 345 678")
    page.fill("textarea[name=justification]", "HMIS reporting servers, provisioned from the web")
    page.click("form.hosting-request button[type=submit]")
    page.wait_for_load_state()
    assert "/hosting/1" in page.url
    sign_out(page)

    sign_in(page, live.url, "erin")
    page.goto(live.url + "/hosting/1")
    page.click("form[action='/hosting/1/approve'] button[type=submit]")
    page.wait_for_load_state()
    page.click("form[action='/hosting/1/provision'] button[type=submit]")
    page.wait_for_load_state()
    assert "Provisioning started" in page.inner_text("main")
    page.screenshot(path=str(shots / "hosting-provisioning.png"), full_page=True)
    main = _until_state(page, "live", 240)
    progress = page.inner_text("section.job table.progress")
    assert "ndc-1" in progress and "done" in page.inner_text("section.job")
    assert "provisioned" in main and "web:erin" in main  # recorded on the request
    page.screenshot(path=str(shots / "hosting-live.png"), full_page=True)
    after = _ndc1_running(live.lab)
    assert after != before, "ndc-1 got the tenant's VLAN interface"
    sign_out(page)

    # the officer sees it live, with the address plan they got — and no engineer controls
    sign_in(page, live.url, "moh-focal")
    page.goto(live.url + "/hosting/1")
    main = page.inner_text("main")
    assert "live: the subnet is reachable" in main
    assert "10.100.0.64/27" in main and "10.100.0.65" in main
    assert page.locator("form[action='/hosting/1/decommission']").count() == 0
    assert page.locator("section.job").count() == 0
    page.screenshot(path=str(shots / "hosting-live-focal.png"), full_page=True)
    sign_out(page)

    sign_in(page, live.url, "erin")
    page.goto(live.url + "/hosting/1")
    page.fill("form[action='/hosting/1/decommission'] input[name=reason]", "test over")
    page.click("form[action='/hosting/1/decommission'] button[type=submit]")
    page.wait_for_load_state()
    main = _until_state(page, "removed", 240)
    assert "test over" in main
    page.screenshot(path=str(shots / "hosting-decommissioned.png"), full_page=True)
    assert _ndc1_running(live.lab) == before, "ndc-1 is as it was"
    assert "h-0003" not in live.ws.hosting_yaml.read_text(), "the capacity is back"

    keep = os.environ.get("GOVNET_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots.glob("*.png"):
            shutil.copy(shot, Path(keep) / shot.name)
