"""The console's Reports page against the backfilled month (tests/report/conftest.py):
staff open any ministry's or province's report, a focal officer only their own
ministry's (any other is 404); the report is inline with PDF/CSV/JSON/HTML downloads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.web import create_app
from tests.hosting.web import serving
from tests.report.conftest import Prom
from tests.report.pdfpng import assert_not_blank, first_page_png
from tests.shots import keep
from tests.web.client import TestClient
from tests.web.conftest import add_users, make_settings, sign_in
from tests.web.test_browser_khmer import Browsers, browsers, check_no_tofu  # noqa: F401

MONTH = "2026-11"


@pytest.fixture()
def app_client(backfilled: Prom, state_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    shutil.copy(state_dir / "changes.db", tmp_path / "changes.db")
    settings = make_settings(tmp_path, prometheus_url=backfilled.url)
    add_users(settings)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def test_staff_see_every_report_inline_with_its_downloads(
    app_client: TestClient, tmp_path: Path
) -> None:
    sign_in(app_client, "erin")
    index = app_client.get(f"/reports?month={MONTH}")
    assert index.status_code == 200
    assert f"/reports/sla/tenant/MoH?month={MONTH}" in index.text
    assert f"/reports/sla/province/KH-2?month={MONTH}" in index.text
    page = app_client.get(f"/reports/sla/tenant/MEF?month={MONTH}")
    assert page.status_code == 200, page.text
    assert "Ministry of Economy and Finance" in page.text
    assert "upstream: core-1" in page.text and "<svg" in page.text
    assert 'href="/reports/sla.css"' in page.text
    assert f"/reports/sla/tenant/MEF/download/pdf?month={MONTH}" in page.text
    assert app_client.get("/reports/sla.css").headers["content-type"].startswith("text/css")
    data = app_client.get(f"/reports/sla/tenant/MEF/download/json?month={MONTH}")
    assert data.headers["content-disposition"] == 'attachment; filename="sla-MEF-2026-11.json"'
    body = json.loads(data.text)
    assert [o["duration_seconds"] for o in body["outages"]] == [2700, 1200]
    csv = app_client.get(f"/reports/sla/tenant/MEF/download/csv?month={MONTH}")
    assert csv.text.startswith("record,id,device")
    pdf = app_client.get(f"/reports/sla/tenant/MEF/download/pdf?month={MONTH}")
    assert pdf.headers["content-type"] == "application/pdf"
    assert_not_blank_pdf(pdf.content, tmp_path)
    province = app_client.get(f"/reports/sla/province/KH-12?month={MONTH}")
    assert province.status_code == 200
    assert "mr-mef" in province.text and "core-1" in province.text


def assert_not_blank_pdf(pdf: bytes, tmp_path: Path) -> None:
    from PIL import Image

    assert pdf.startswith(b"%PDF-")
    assert_not_blank(Image.open(first_page_png(pdf, tmp_path / "web.png")))


def test_a_focal_officer_sees_only_their_own_ministrys_report(app_client: TestClient) -> None:
    sign_in(app_client, "mef-focal")
    index = app_client.get(f"/reports?month={MONTH}")
    assert index.status_code == 200
    assert "/reports/sla/tenant/MEF" in index.text
    assert "/reports/sla/tenant/MoH" not in index.text
    assert "/reports/sla/province/" not in index.text
    assert app_client.get(f"/reports/sla/tenant/MEF?month={MONTH}").status_code == 200
    for path in (
        f"/reports/sla/tenant/MoH?month={MONTH}",
        f"/reports/sla/tenant/MoH/download/pdf?month={MONTH}",
        f"/reports/sla/province/KH-12?month={MONTH}",
        f"/reports/sla/province/KH-12/download/json?month={MONTH}",
        f"/reports/sla/tenant/NOPE?month={MONTH}",
    ):
        assert app_client.get(path).status_code == 404, path


def test_bad_input_is_a_clear_error(app_client: TestClient) -> None:
    sign_in(app_client, "alice")
    bad_month = app_client.get("/reports/sla/tenant/MEF?month=2026-13")
    assert bad_month.status_code == 400
    assert "expected YYYY-MM" in bad_month.text
    assert app_client.get(f"/reports/sla/tenant/MEF/download/docx?month={MONTH}").status_code == 404
    assert app_client.get(f"/reports/sla/tenant/NOPE?month={MONTH}").status_code == 404
    assert app_client.get(f"/reports/sla/site/MEF?month={MONTH}").status_code == 404


def test_reports_need_a_sign_in(app_client: TestClient) -> None:
    response = app_client.get(f"/reports/sla/tenant/MEF?month={MONTH}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_a_khmer_readers_report_page_and_downloads_are_in_khmer(
    app_client: TestClient, tmp_path: Path
) -> None:
    sign_in(app_client, "erin")
    km = {"accept-language": "km"}
    index = app_client.get(f"/reports?month={MONTH}", headers=km).text
    assert "<h1>របាយការណ៍</h1>" in index and "ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ" in index
    page = app_client.get(f"/reports/sla/tenant/MEF?month={MONTH}", headers=km).text
    assert "<h1>របាយការណ៍កម្រិតសេវា — ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ" in page
    assert "ខាងលើ (upstream)៖ core-1" in page and "10 វិច្ឆិកា 2026, 10:00" in page
    assert "ទាញយក៖" in page and "Download:" not in page and "Outages" not in page
    html = app_client.get(f"/reports/sla/tenant/MEF/download/html?month={MONTH}", headers=km)
    assert '<html lang="km">' in html.text and "<h2>ការដាច់</h2>" in html.text
    english = app_client.get(f"/reports/sla/tenant/MEF/download/json?month={MONTH}")
    khmer = app_client.get(f"/reports/sla/tenant/MEF/download/json?month={MONTH}", headers=km)
    assert khmer.content == english.content  # machine-readable: the same in any language
    pdf = app_client.get(f"/reports/sla/tenant/MEF/download/pdf?month={MONTH}", headers=km)
    assert_not_blank_pdf(pdf.content, tmp_path)


def test_the_khmer_sla_report_page_renders_khmer_glyphs(
    backfilled: Prom,
    state_dir: Path,
    tmp_path: Path,
    browsers: Browsers,  # noqa: F811
) -> None:
    shutil.copy(state_dir / "changes.db", tmp_path / "changes.db")
    settings = make_settings(tmp_path, prometheus_url=backfilled.url)
    add_users(settings)
    with serving(create_app(settings)) as url:
        page = f"{url}/reports/sla/tenant/MEF?month={MONTH}"
        text = check_no_tofu(browsers, "km-sla-report", page, "erin")
        # one bar a day, as drawn (the console's .bar rule once stretched them across)
        shown = browsers.khmer.pages[0]
        bars = shown.locator("figure.sla-chart svg rect.day-bar")
        assert bars.count() == 30
        assert all(0 < (bars.nth(i).bounding_box() or {"width": 99})["width"] < 12 for i in (0, 29))
    assert "របាយការណ៍កម្រិតសេវា" in text and "ភាពអាចប្រើបានតាមទីតាំង" in text
    assert "ទាញយក៖" in text and "Availability per site" not in text
    keep(browsers.shots / "km-sla-report.png")
    keep(browsers.shots / "km-sla-report-tofu.png")
