"""The Khmer console in headless Chromium (Playwright, Debian's /usr/bin/chromium): the
national overview (real Prometheus and Alertmanager on loopback), the hosting request
form and a request's page ("report": what was asked, allocated, its history) — each
screenshotted, and each checked for tofu two ways:

- Chromium says which fonts it drew the page's Khmer text with (DevTools
  ``CSS.getPlatformFontsForNode``): Debian's Khmer OS fonts (fonts-khmeros), nothing else;
- the same page in a second Chromium whose fontconfig knows DejaVu only (no Khmer font:
  every Khmer letter is a .notdef box) looks clearly different.

Screenshots are copied to $GOVNET_SCREENSHOTS when set. Only 127.0.0.1 URLs are opened."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require
from tests.hosting.browser_steps import sign_in
from tests.hosting.conftest import Workspace, lab_copy  # noqa: F401  (a lab inventory copy)
from tests.hosting.khmer import CONTACT, JUSTIFICATION
from tests.hosting.web import console_app, serving
from tests.web.test_browser import Live, live  # noqa: F401  (the real-stack console)

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
KHMER_FONTS = ("Khmer OS",)  # every family of fonts-khmeros starts so
TOFU_CONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>/usr/share/fonts/truetype/dejavu</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


@dataclass
class Browsers:
    khmer: Any  # the normal browser: the machine's fonts, fonts-khmeros among them
    tofu: Any  # the same browser with DejaVu only: Khmer text has no font
    shots: Path


@pytest.fixture()
def browsers(tmp_path: Path) -> Iterator[Browsers]:
    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (deps/apt-soc.txt)")
    require(
        any(Path("/usr/share/fonts/truetype/khmeros").glob("*.ttf")),
        "fonts-khmeros is not installed (deps/apt-soc.txt)",
    )
    from playwright.sync_api import sync_playwright

    conf = tmp_path / "fonts.conf"
    conf.write_text(TOFU_CONFIG.format(cache=tmp_path / "fc-cache"))
    options: dict[str, Any] = {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
        "viewport": {"width": 1280, "height": 900},
        "locale": "km-KH",  # Chromium sends Accept-Language: km-KH,km
    }
    with sync_playwright() as playwright:
        khmer = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile-khmer"), **options
        )
        tofu = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile-tofu"),
            env={**os.environ, "FONTCONFIG_FILE": str(conf)},
            **options,
        )
        try:
            yield Browsers(khmer, tofu, tmp_path / "shots")
        finally:
            khmer.close()
            tofu.close()


@dataclass
class Hosting:
    url: str
    ws: Workspace


@pytest.fixture()
def hosting(lab_copy: Workspace) -> Iterator[Hosting]:  # noqa: F811
    with serving(console_app(lab_copy.inventory, lab_copy.state)) as url:
        yield Hosting(url, lab_copy)


def fonts_of(page: Any, selector: str) -> dict[str, int]:
    """The fonts Chromium drew the text inside ``selector`` with: family → glyphs drawn."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})
        inner = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector + " *"})
        used: dict[str, int] = {}
        for node in [*nodes["nodeIds"], *inner["nodeIds"]]:  # each element's own text
            for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
                used[font["familyName"]] = used.get(font["familyName"], 0) + font["glyphCount"]
        return used
    finally:
        cdp.detach()


def difference(page: Any, first: bytes, second: bytes) -> float:
    """Of the pixels inked in either PNG (drawn on one canvas size), the share that differ:
    near 0 for the same glyphs, large for glyphs against .notdef boxes."""
    page.set_content("<canvas id=a></canvas><canvas id=b></canvas>")
    return float(
        page.evaluate(
            """async ([a, b]) => {
                const load = (src) => new Promise((ok) => {
                    const i = new Image(); i.onload = () => ok(i); i.src = src; });
                const [x, y] = await Promise.all([load(a), load(b)]);
                const w = Math.max(x.width, y.width), h = Math.max(x.height, y.height);
                const pixels = (img) => {
                    const c = document.createElement("canvas"); c.width = w; c.height = h;
                    const g = c.getContext("2d"); g.fillStyle = "#fff"; g.fillRect(0, 0, w, h);
                    g.drawImage(img, 0, 0); return g.getImageData(0, 0, w, h).data; };
                const p = pixels(x), q = pixels(y);
                const bg = [p[0], p[1], p[2]];
                const inked = (d, i) => Math.abs(d[i] - bg[0]) + Math.abs(d[i+1] - bg[1])
                    + Math.abs(d[i+2] - bg[2]) > 60;
                let differ = 0, ink = 0;
                for (let i = 0; i < p.length; i += 4) {
                    if (!inked(p, i) && !inked(q, i)) continue;
                    ink++;
                    if (Math.abs(p[i] - q[i]) + Math.abs(p[i+1] - q[i+1])
                        + Math.abs(p[i+2] - q[i+2]) > 60) differ++; }
                return ink ? differ / ink : 0; }""",
            [_data_url(first), _data_url(second)],
        )
    )


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def check_no_tofu(
    browsers: Browsers, name: str, url: str, user: str, selector: str = "main"
) -> str:
    """Screenshot ``url`` in both browsers: the Khmer text of ``selector`` must be drawn
    with Khmer OS fonts, and its heading must look unlike the same heading without a font."""
    shots = browsers.shots
    shots.mkdir(parents=True, exist_ok=True)
    rendered = {}
    text = ""
    for kind, context in (("khmer", browsers.khmer), ("tofu", browsers.tofu)):
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url)
        if "/login" in page.url:
            sign_in(page, _origin(url), user)
            page.goto(url)
        assert page.locator("html").get_attribute("lang") == "km", page.url
        page.screenshot(path=str(shots / f"{name}{'' if kind == 'khmer' else '-tofu'}.png"),
                        full_page=True)  # fmt: skip
        heading = page.locator(f"{selector} h1").first.screenshot()
        rendered[kind] = (heading, fonts_of(page, selector))
        text = text or page.locator(selector).first.inner_text()
    khmer_png, khmer_fonts = rendered["khmer"]
    tofu_png, tofu_fonts = rendered["tofu"]
    assert any("\u1780" <= ch <= "\u17ff" for ch in text), f"{selector} of {name} is not Khmer"
    khmer_glyphs = {f: n for f, n in khmer_fonts.items() if f.startswith(KHMER_FONTS)}
    assert khmer_glyphs, f"{name}: Khmer drawn with {khmer_fonts}, no Khmer OS font"
    assert not any(f.startswith(KHMER_FONTS) for f in tofu_fonts), tofu_fonts  # a real tofu
    share = difference(browsers.khmer.new_page(), khmer_png, tofu_png)
    assert share > 0.5, f"{name}: the Khmer heading looks like the tofu one ({share:.1%})"
    return text


def _origin(url: str) -> str:
    scheme, _, host = url.split("/", 3)[:3]
    return f"{scheme}//{host}"


def test_the_khmer_overview_renders_khmer_glyphs(
    live: Live,  # noqa: F811
    browsers: Browsers,
) -> None:
    text = check_no_tofu(browsers, "km-overview", live.url + "/", "alice")
    assert "ទិដ្ឋភាពទូទៅថ្នាក់ជាតិ" in text and "ខេត្តបាត់ដំបង" in text
    # every menu item on one line: Khmer words are wide, a menu item broken in two is
    # hard to read (a full menu wraps as whole items instead)
    page = browsers.khmer.pages[0]  # the Khmer overview check_no_tofu left there
    lines = page.locator("header nav a").evaluate_all(
        """links => links.map(a => {
            const range = document.createRange(); range.selectNodeContents(a);
            return [a.textContent.trim(), range.getClientRects().length];
        })"""
    )
    assert lines and all(count == 1 for _, count in lines), lines
    _keep(browsers.shots)


def test_the_khmer_request_form_and_report_render_khmer_glyphs(
    hosting: Hosting, browsers: Browsers
) -> None:
    form = check_no_tofu(browsers, "km-request-form", hosting.url + "/hosting/new", "moh-focal")
    assert "ស្នើសុំសមត្ថភាពសេវាបង្ហោះ" in form
    page = browsers.khmer.pages[0]
    page.goto(hosting.url + "/hosting/new")
    page.fill("input[name=units]", "2")
    page.fill("input[name=servers]", "2")
    page.fill("input[name=power_kw]", "1.5")
    page.select_option("select[name=service]", "HMIS")
    page.fill("input[name=contact]", CONTACT)
    page.fill("textarea[name=justification]", JUSTIFICATION)
    page.click("form.hosting-request button[type=submit]")
    page.wait_for_load_state()
    assert "/hosting/1" in page.url, page.inner_text("main")
    # the engineer approves, so the report shows an allocation too
    engineer = browsers.khmer.new_page()
    engineer.context.clear_cookies()
    sign_in(engineer, hosting.url, "erin")
    engineer.goto(hosting.url + "/hosting/1")
    engineer.click("form[action$='/approve'] button[type=submit]")
    engineer.wait_for_load_state()
    assert "បានអនុម័ត" in engineer.inner_text("main")
    report = check_no_tofu(browsers, "km-request-report", hosting.url + "/hosting/1", "erin")
    assert CONTACT in report  # typed in Khmer, shown exactly
    assert "បានបែងចែក" in report and "VLAN" in report
    _keep(browsers.shots)


def _keep(source: Path) -> None:
    keep = os.environ.get("GOVNET_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in source.glob("*.png"):
            shutil.copy(shot, Path(keep) / shot.name)


def test_the_khmer_map_draws_khmer_glyphs_and_its_cards_agree_with_its_tiles(
    live: Live,  # noqa: F811
    browsers: Browsers,
) -> None:
    shots = browsers.shots
    shots.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, bytes] = {}
    for kind, context in (("khmer", browsers.khmer), ("tofu", browsers.tofu)):
        page = context.new_page()
        page.goto(live.url + "/")
        if "/login" in page.url:
            sign_in(page, live.url, "alice")
            page.goto(live.url + "/")
        figure = page.locator("figure.map")
        drawn[kind] = figure.screenshot(path=str(shots / f"km-map{'-tofu' * (kind == 'tofu')}.png"))
        if kind == "khmer":
            words = figure.inner_text() + " ".join(
                page.locator("svg.map a").evaluate_all("els => els.map(e => e.ariaLabel)")
            )
            assert "ខេត្តបាត់ដំបង" in words and "ខេត្តបន្ទាយមានជ័យ" in words  # tile, outline
            fonts = fonts_of(page, "figure.map")
            assert any(f.startswith(KHMER_FONTS) for f in fonts), fonts
            # Battambang's card says what its tile says (the bug: "no alert" beside "major")
            tile = page.locator('svg.map a.province[href="/provinces/KH-2"]')
            card = page.locator('a.tile[href="/provinces/KH-2"]')
            colour = (tile.get_attribute("class") or "").split("province-")[-1]
            assert f"tile-{colour}" in (card.get_attribute("class") or "")
            if colour != "ok":
                assert "គ្មានការជូនដំណឹង" not in (card.inner_text() or "")  # "no alert"
            page.screenshot(path=str(shots / "km-overview-map.png"), full_page=True)
    share = difference(browsers.khmer.new_page(), drawn["khmer"], drawn["tofu"])
    assert share > 0.3, f"the Khmer map looks like its tofu render ({share:.1%})"
    english = browsers.khmer.new_page()
    english.context.add_cookies([{"name": "govnet_lang", "value": "en", "url": live.url}])
    try:
        english.goto(live.url + "/")
        assert english.locator("html").get_attribute("lang") == "en"
        assert "Battambang" in (english.locator("figure.map").inner_text() or "")
        english.locator("figure.map").screenshot(path=str(shots / "en-map.png"))
    finally:
        english.context.clear_cookies(name="govnet_lang")
    _keep(shots)
