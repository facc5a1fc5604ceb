"""Writing a report out: the PDF (Khmer names shaped and in a Khmer font, a page that is
not blank), CSV cells safe for spreadsheets, the JSON schema, and the report in Khmer:
its headings, headers, causes and notes through the console's catalog."""

from __future__ import annotations

import ctypes
import json
import re
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as raw
import pytest
from PIL import Image

from controller.errors import UsageError
from controller.report import render, sla
from controller.report.sla import DeviceSamples, Maintenance
from tests.report.pdfpng import assert_not_blank, first_page_png
from tests.report.test_sla import NOVEMBER, SLO, SUBJECTS, T0, WHOLE, slots
from tests.shots import keep

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import i18n as catalogs

KHMER = "ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ"


def mef_report(samples: dict[str, DeviceSamples], window: Maintenance) -> sla.Report:
    """MEF's month (a Khmer tenant name, its ministry link, one maintenance window)."""
    return sla.report(
        scope="tenant",
        code="MEF",
        name=KHMER,
        period=NOVEMBER,
        step=60,
        subjects=[SUBJECTS["mr-mef"]],
        context=SUBJECTS,
        slos=SLO,
        samples=samples,
        maintenance=(window,),
        links=[sla.LinkSubject("core-1:eth6--mr-mef:eth1", "ministry-core", "mr-mef")],
    )


def sample_report(title: str = "ប្តូរ optic MEF") -> sla.Report:
    rtt = tuple((T0 + 300 * (i + 1), 0.012 + 0.001 * (i % 7)) for i in range(8640))
    window = Maintenance(7, title, T0 + 1000 * 60, T0 + 1060 * 60, frozenset({"mr-mef"}))
    samples = {
        "mr-mef": DeviceSamples(
            covered=WHOLE, down=slots((10, 12), (1010, 1019), (5000, 5090)), rtt_p95=rtt
        )
    }
    return mef_report(samples, window)


def khmer_fonts(pdf: bytes) -> tuple[int, set[str]]:
    """How many characters of the first page are Khmer, and the fonts they are drawn in."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0].get_textpage()
        fonts: set[str] = set()
        count = 0
        for index in range(raw.FPDFText_CountChars(page.raw)):
            if not 0x1780 <= raw.FPDFText_GetUnicode(page.raw, index) <= 0x17FF:
                continue
            count += 1
            name = ctypes.create_string_buffer(128)
            flags = ctypes.c_int()
            raw.FPDFText_GetFontInfo(page.raw, index, name, 128, ctypes.byref(flags))
            fonts.add(name.value.decode("ascii", "replace").split("+", 1)[-1])
        return count, fonts
    finally:
        document.close()


def test_the_pdf_shows_a_khmer_tenant_name_in_a_khmer_font(tmp_path: Path) -> None:
    pdf = render.to_pdf(sample_report())
    assert pdf.startswith(b"%PDF-")
    count, fonts = khmer_fonts(pdf)
    # the name (title) and the maintenance title: every Khmer glyph from Khmer OS, none
    # drawn as a fallback box in a Latin font
    assert count >= len(KHMER.replace(" ", "")), count
    assert fonts and all(f.startswith("Khmer-OS") for f in fonts), fonts
    assert_not_blank(Image.open(first_page_png(pdf, tmp_path / "page1.png")))


def test_csv_cells_a_spreadsheet_would_run_are_quoted_as_text() -> None:
    rows = render.to_csv(sample_report(title='=HYPERLINK("x")')).splitlines()
    maintenance = next(r for r in rows if r.startswith("maintenance,"))
    assert maintenance.endswith(',"\'=HYPERLINK(""x"")"')
    assert rows[1].split(",")[:8] == [
        "site",
        "mr-mef",
        "mr-mef",
        "MEF",
        "ministry-router",
        "0.997821",
        "0.999",
        "no",
    ]


def test_json_keeps_its_schema_and_the_khmer_text_as_is() -> None:
    data = json.loads(render.to_json(sample_report()))
    assert data["schema"] == "govnet.sla/1"
    assert list(data) == [
        "schema",
        "scope",
        "period",
        "step_seconds",
        "sites",
        "links",
        "outages",
        "maintenance",
    ]
    assert data["scope"]["name"] == KHMER
    assert data["maintenance"][0]["title"] == "ប្តូរ optic MEF"
    assert [o["duration_seconds"] for o in data["outages"]] == [180, 5460]


def _texts(html: str, tag: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", t).strip()
        for t in re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", html, re.S)
    ]


def _report_messages() -> list[str]:
    """The English messages of the report's templates and code, from the catalog."""
    km = catalogs.load("km")
    return [
        m.id
        for m in km
        if isinstance(m.id, str)
        and any(path.startswith("controller/report/") for path, _ in m.locations)
        and re.search(r"[a-z]{3}", re.sub(r"%\(\w+\)\w", "", m.id))
    ]


def test_a_khmer_report_says_its_headings_headers_causes_and_notes_in_khmer() -> None:
    html = render.to_html(sample_report(), "km")
    khmer = re.compile(r"[\u1780-\u17ff]")
    technical = {"SLO", "RTT p95"}  # Latin in Khmer too (GLOSSARY.md)
    headers = [t for t in _texts(html, "th") if t and t not in technical]
    headings = _texts(html, "h1") + _texts(html, "h2") + headers
    assert len(headings) > 20 and all(khmer.search(h) for h in headings), headings
    assert "<h1>របាយការណ៍កម្រិតសេវា — ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ" in html
    assert "<td>ទីតាំងខ្លួនឯង</td>" in html  # an outage's cause
    assert "<td>រ៉ោតទ័រក្រសួង</td>" in html and "ministry-router" not in html  # a role
    assert "<td>1 វិច្ឆិកា 2026, 00:10</td>" in html  # its start, Cambodia time, CLDR km
    assert "ខែ៖ វិច្ឆិកា 2026" in html  # November, CLDR km
    assert "3 នាទី 00 វិនាទី" in html and "1 ម៉ោង 31 នាទី" in html  # durations, Khmer units
    assert 'aria-label="ភាពអាចប្រើបានប្រចាំថ្ងៃ ធៀបនឹង SLO"' in html  # the charts too
    assert 'ភាពអាចប្រើបានប្រចាំថ្ងៃ <span class="axis">(វិច្ឆិកា 2026)</span>' in html
    drawn = re.findall(r"<text[^>]*>([^<]*)</text>", html)
    assert "8" in drawn and "50 ms" in drawn  # a day of the month, an RTT tick
    # no Khmer inside an SVG's text: WeasyPrint would draw it unshaped (captions are HTML)
    assert not any(re.search("[\u1780-\u17ff]", t) for t in drawn)
    messages = _report_messages()
    assert len(messages) > 40
    left = [m for m in messages if f">{m}<" in html or f"{m}:" in html]
    assert left == []  # no English message of the report is left on the Khmer page
    assert not re.search("[\u17e0-\u17e9]", html)  # Latin digits (GLOSSARY.md, "Digits")


def test_an_english_report_reads_as_before() -> None:
    html = render.to_html(sample_report(), "en")
    assert "<h2>Outages</h2>" in html and "<h2>Availability per site</h2>" in html
    assert "<td>the site itself</td>" in html and "Month: November 2026" in html
    assert "<td>2026-11-01 00:10</td>" in html
    assert "3 min 00 s" in html and "99.782 %" in html
    assert 'Availability per day <span class="axis">(November 2026)</span>' in html


def test_json_and_csv_are_the_same_in_either_language() -> None:
    report = sample_report()
    for fmt in (render.Format.JSON, render.Format.CSV):
        assert render.render(report, fmt, "km") == render.render(report, fmt, "en")


def test_an_unknown_report_language_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match=r"--lang 'fr': expected one of en, km"):
        render.render(sample_report(), render.Format.HTML, "fr")


def test_a_khmer_pdf_has_khmer_headings_in_a_khmer_font(tmp_path: Path) -> None:
    pdf = render.to_pdf(sample_report(), "km")
    count, fonts = khmer_fonts(pdf)
    english = khmer_fonts(render.to_pdf(sample_report(), "en"))[0]
    assert count > english + 300, (count, english)  # the headings, headers and notes too
    assert fonts and all(f.startswith("Khmer-OS") for f in fonts), fonts
    png = first_page_png(pdf, tmp_path / "sla-km-page1.png")
    assert_not_blank(Image.open(png))
    keep(png, "sla-km-pdf-page1.png")


def overflowing(pdf: bytes) -> list[str]:
    """The characters of any page drawn past its right margin (12 mm: the report's @page)."""
    document = pdfium.PdfDocument(pdf)
    out: list[str] = []
    try:
        for number in range(len(document)):
            page = document[number]
            limit = page.get_width() - 12 / 25.4 * 72 + 1  # one point for rounding
            text = page.get_textpage()
            for index in range(raw.FPDFText_CountChars(text.raw)):
                left, right, bottom, top = (ctypes.c_double() for _ in range(4))
                raw.FPDFText_GetCharBox(
                    text.raw, index, *(ctypes.byref(v) for v in (left, right, bottom, top))
                )
                if right.value > limit:
                    out.append(chr(raw.FPDFText_GetUnicode(text.raw, index)))
    finally:
        document.close()
    return out


def wide_report() -> sla.Report:
    """Every duration column of the site table in hours and minutes: downtime, upstream
    (core-1 down under it), maintenance, and minutes with no data."""
    window = Maintenance(7, "optic", T0 + 1000 * 60, T0 + 1065 * 60, frozenset({"mr-mef"}))
    samples = {
        "mr-mef": DeviceSamples(
            covered=((T0, NOVEMBER.end - 7 * 60),),
            down=slots((10, 80), (2000, 2020)),
            upstream=slots((10, 30)),
        ),
        "core-1": DeviceSamples(covered=WHOLE, down=slots((10, 30))),
    }
    return mef_report(samples, window)


@pytest.mark.parametrize("lang", ["en", "km"])
def test_no_text_of_the_pdf_runs_past_the_page_margin(lang: str, tmp_path: Path) -> None:
    """Khmer headers and durations are wider than English ones: every table still fits
    the A4 page, nothing cut at its right edge."""
    pdf = render.to_pdf(wide_report(), lang)
    keep(first_page_png(pdf, tmp_path / f"sla-wide-{lang}.png"), f"sla-wide-{lang}.png")
    assert overflowing(pdf) == []
