"""Writing a report out: the PDF (Khmer names shaped and in a Khmer font, a page that is
not blank), CSV cells safe for spreadsheets, the JSON schema, and the templates' `_()`."""

from __future__ import annotations

import ctypes
import json
import re
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as raw
from PIL import Image

from controller.report import render, sla
from controller.report.sla import DeviceSamples, Maintenance
from tests.report.pdfpng import assert_not_blank, first_page_png
from tests.report.test_sla import NOVEMBER, SLO, SUBJECTS, T0, WHOLE, slots

KHMER = "ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ"


def sample_report(title: str = "ប្តូរ optic MEF") -> sla.Report:
    rtt = tuple((T0 + 300 * (i + 1), 0.012 + 0.001 * (i % 7)) for i in range(8640))
    window = Maintenance(7, title, T0 + 1000 * 60, T0 + 1060 * 60, frozenset({"mr-mef"}))
    samples = {
        "mr-mef": DeviceSamples(
            covered=WHOLE, down=slots((10, 12), (1010, 1019), (5000, 5090)), rtt_p95=rtt
        )
    }
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


def test_the_templates_say_everything_through_gettext() -> None:
    env = render.environment()
    assert env.globals["_"]("Outages") == "Outages"  # the identity until i18n installs one
    env.globals["_"] = lambda text: f"«{text}»"
    html = render.to_html(sample_report(), env)
    assert "«Outages»" in html and "«Availability per site»" in html
    assert "«p95 RTT (hourly maximum)»" in html  # chart titles too
    headings = re.findall(r"<h[12]>([^<]+)</h[12]>", html)
    assert headings and all(h.startswith("«") for h in headings), headings
