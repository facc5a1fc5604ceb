"""`govnet report sla` against a real Prometheus holding a month of synthetic data
(tests/report/conftest.py says what happened that month): exact outages, causes,
availability and maintenance exclusion; every format written; the PDF's first page
rendered to PNG and not blank."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import ROOT
from tests.report.conftest import LINK, Prom
from tests.report.pdfpng import assert_not_blank, first_page_png
from tests.report.test_render import khmer_fonts
from tests.shots import keep
from tests.soc.helpers import govnet


def report(prom: Prom, state: Path, fmt: str, out: Path, *lang: str) -> Path:
    result = govnet(
        "report",
        "sla",
        "-i",
        str(ROOT / "inventory/lab"),
        "--tenant",
        "MEF",
        "--month",
        "2026-11",
        "--format",
        fmt,
        "--prometheus-url",
        prom.url,
        "--state-dir",
        str(state),
        "-o",
        str(out),
        *lang,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wrote {out}" in result.stdout
    return out


def test_the_month_gives_exact_outages_availability_and_maintenance(
    backfilled: Prom, state_dir: Path, tmp_path: Path
) -> None:
    data = json.loads(report(backfilled, state_dir, "json", tmp_path / "r.json").read_text())
    assert data["schema"] == "govnet.sla/1"
    assert data["scope"] == {
        "kind": "tenant",
        "code": "MEF",
        "name": "Ministry of Economy and Finance",
    }
    assert data["step_seconds"] == 60  # asked from Prometheus' configuration
    (site,) = data["sites"]
    assert site["device"] == "mr-mef"
    assert [
        (o["start"], o["end"], o["duration_seconds"], o["cause"], o["attributed_to"])
        for o in site["outages"]
    ] == [
        ("2026-11-05T02:00:00+07:00", "2026-11-05T02:45:00+07:00", 2700, "own", "mr-mef"),
        ("2026-11-10T10:00:00+07:00", "2026-11-10T10:20:00+07:00", 1200, "upstream", "core-1"),
    ]
    month = 30 * 86400
    assert site["covered_seconds"] == month - 420  # 7 minutes without data
    month -= 420
    assert site["maintenance_seconds"] == 3600
    assert site["down_seconds"] == 3900
    assert site["availability"] == pytest.approx(1 - 3900 / (month - 3600), abs=1e-12)
    assert site["own_availability"] == pytest.approx(1 - 2700 / (month - 3600), abs=1e-12)
    assert site["availability_met"] is False  # 99.849 % < 99.9 %
    (window,) = site["maintenance"]
    assert (window["change"], window["excluded_seconds"], window["down_seconds"]) == (1, 3600, 1800)
    assert data["maintenance"] == [
        {
            "change": 1,
            "title": "Replace MEF link optic",
            "start": "2026-11-20T22:00:00+07:00",
            "end": "2026-11-20T23:00:00+07:00",
            "devices": ["mr-mef"],
        }
    ]
    (link,) = data["links"]
    assert (link["link"], link["down_seconds"]) == (LINK, 2700)
    assert link["availability"] == site["own_availability"]
    assert site["rtt_p95_seconds"] == pytest.approx(0.040)
    assert site["rtt_met"] is False  # the ministry SLO is 30 ms
    # 2 % in 288 of the 8,615 windows that count: 8,640 less 9 + 4 outage windows (no
    # loss sample: all echoes lost) and the 12 of the maintenance window
    assert site["loss_ratio"] == pytest.approx(0.02 * 288 / 8615, rel=1e-9)
    assert site["loss_met"] is True
    daily = site["daily_availability"]
    assert daily[4] == pytest.approx(1 - 2700 / 86400, abs=1e-12)
    assert daily[19] == pytest.approx(1.0)  # 20 Nov: the window's outage is excluded
    assert daily[0] == 1.0
    assert daily[11] == pytest.approx(1.0)  # 12 Nov: no data is not downtime


def test_every_format_is_written_and_the_pdf_page_is_not_blank(
    backfilled: Prom, state_dir: Path, tmp_path: Path
) -> None:
    html = report(backfilled, state_dir, "html", tmp_path / "r.html").read_text()
    assert "Ministry of Economy and Finance" in html and "<svg" in html
    assert "2026-11-10 10:00" in html and "upstream: core-1" in html
    rows = report(backfilled, state_dir, "csv", tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].startswith("record,id,device,site,role,availability")
    assert [r.split(",")[0] for r in rows[1:]] == [
        "site",
        "link",
        "outage",
        "outage",
        "maintenance",
    ]
    pdf = report(backfilled, state_dir, "pdf", tmp_path / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    png = first_page_png(pdf, tmp_path / "r.png")
    assert_not_blank(Image.open(png))


def test_lang_km_writes_the_report_in_khmer_and_its_pdf_shapes_khmer(
    backfilled: Prom, state_dir: Path, tmp_path: Path
) -> None:
    html = report(backfilled, state_dir, "html", tmp_path / "km.html", "--lang", "km").read_text()
    assert '<html lang="km">' in html and "<h2>ការដាច់</h2>" in html
    assert "ខាងលើ (upstream)៖ core-1" in html and "Outages" not in html
    pdf = report(backfilled, state_dir, "pdf", tmp_path / "km.pdf", "--lang", "km").read_bytes()
    count, fonts = khmer_fonts(pdf)
    assert count > 300 and all(f.startswith("Khmer-OS") for f in fonts), (count, fonts)
    png = first_page_png(pdf, tmp_path / "km.png")
    assert_not_blank(Image.open(png))
    keep(png, "sla-km-cli-pdf-page1.png")
    same = report(backfilled, state_dir, "json", tmp_path / "km.json", "--lang", "km")
    english = report(backfilled, state_dir, "json", tmp_path / "en.json")
    assert same.read_bytes() == english.read_bytes()  # JSON: English keys, names as stored


def test_an_unknown_lang_is_a_clear_error_before_anything_is_asked(tmp_path: Path) -> None:
    result = govnet(
        "report",
        "sla",
        "--tenant",
        "MEF",
        "--month",
        "2026-11",
        "--lang",
        "fr",
        "--prometheus-url",
        "http://127.0.0.1:9",
        "-o",
        str(tmp_path / "r.html"),
    )
    assert result.returncode == 2
    assert "--lang" in result.stderr and "'fr' is not one of 'en', 'km'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "r.html").exists()
