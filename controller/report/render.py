"""An SLA report written out: JSON (a stable schema, ``govnet.sla/1``), CSV (one row per
site, link, outage and maintenance window), HTML (Jinja2, charts inline as SVG) and PDF
(the same HTML through WeasyPrint, which lays text out with Pango: Khmer is shaped).

HTML and PDF are in a language, ``en`` or ``km``: headings, table headers, causes and
notes through the console's catalog (:mod:`controller.i18n`), numbers and dates through
Babel, places by their ``name_km`` in Khmer. JSON and CSV are for machines: their keys
and codes stay English whatever the language, and names are as stored."""

from __future__ import annotations

import csv
import functools
import io
import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date
from markupsafe import Markup

from controller import charts
from controller.errors import GovnetError, UsageError
from controller.i18n import LANGUAGES, Say, role_name, say
from controller.report.sla import ICT, Maintenance, Outage, Report, SiteSla, iso
from controller.text import N_

TEMPLATES = Path(__file__).parent / "templates"
SCHEMA = "govnet.sla/1"


class Format(StrEnum):
    HTML = "html"
    PDF = "pdf"
    CSV = "csv"
    JSON = "json"


MEDIA_TYPES = {
    Format.HTML: "text/html; charset=utf-8",
    Format.PDF: "application/pdf",
    Format.CSV: "text/csv; charset=utf-8",
    Format.JSON: "application/json",
}


class RenderError(GovnetError):
    """The PDF engine failed."""


class Language(StrEnum):
    """The language of an HTML or PDF report (``--lang``)."""

    EN = "en"
    KM = "km"


def language(value: str) -> str:
    """``value`` if it is a language of the reports, else a clear error."""
    if value not in LANGUAGES:
        raise UsageError(f"--lang {value!r}: expected one of {', '.join(LANGUAGES)}")
    return value


@functools.cache
def environment(lang: str = "en") -> jinja2.Environment:
    """The report's templates with ``lang``'s catalog installed (new-style gettext, as
    the console's: parameters are escaped, a literal ``%`` is ``%%``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        say(language(lang)).translations, newstyle=True
    )
    return env


# --- number formats (as the JSON and CSV do not need them: for people) ---------------


def pct(value: float | None, digits: int = 3, speaking: Say | None = None) -> str:
    speaking = speaking or say("en")
    return "–" if value is None else speaking.fixed(value * 100, digits) + " %"


def ms(value: float | None, speaking: Say | None = None) -> str:
    speaking = speaking or say("en")
    return "–" if value is None else speaking.ms(value, 1)


def dur(seconds: float, speaking: Say | None = None) -> str:
    """3 h 05 min, 4 min 10 s, 12 s; Khmer units in Khmer."""
    speaking = speaking or say("en")
    seconds = max(0, round(seconds))
    if seconds == 0:
        return speaking.number(0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return speaking._("%(h)s h %(m)02d min", h=speaking.number(hours), m=minutes)
    if minutes:
        return speaking._("%(m)d min %(s)02d s", m=minutes, s=secs)
    return speaking._("%(s)d s", s=secs)


# --- JSON ----------------------------------------------------------------------------


def _outage(o: Outage) -> dict[str, Any]:
    return {
        "device": o.device,
        "start": iso(o.start),
        "end": iso(o.end),
        "duration_seconds": o.seconds,
        "unseen_seconds": o.unseen,
        "cause": o.cause,
        "attributed_to": o.attributed_to,
    }


def _site(s: SiteSla) -> dict[str, Any]:
    return {
        "device": s.subject.device,
        "site": s.subject.site,
        "site_name": s.subject.site_name,
        "province": s.subject.province,
        "tenant": s.subject.tenant,
        "role": s.subject.role,
        "slo": {
            "availability": s.slo.availability,
            "rtt_p95_seconds": s.slo.rtt_p95_seconds,
            "loss_ratio": s.slo.loss_ratio,
        },
        "covered_seconds": s.covered_seconds,
        "maintenance_seconds": s.maintenance_seconds,
        "measured_seconds": s.measured_seconds,
        "down_seconds": s.down_seconds,
        "own_down_seconds": s.own_down_seconds,
        "availability": s.availability,
        "own_availability": s.own_availability,
        "availability_met": s.availability_met,
        "rtt_p95_seconds": s.rtt_p95_seconds,
        "rtt_met": s.rtt_met,
        "loss_ratio": s.loss_ratio,
        "loss_met": s.loss_met,
        "outages": [_outage(o) for o in s.outages],
        "maintenance": [
            {
                "change": m.change,
                "title": m.title,
                "start": iso(m.start),
                "end": iso(m.end),
                "excluded_seconds": m.excluded_seconds,
                "down_seconds": m.down_seconds,
            }
            for m in s.maintenance
        ],
        "daily_availability": list(s.daily),
    }


def _affected(report: Report, window: Maintenance) -> list[str]:
    return sorted(window.devices & {s.subject.device for s in report.sites})


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "scope": {"kind": report.scope, "code": report.code, "name": report.name},
        "period": {
            "month": report.period.label,
            "start": iso(report.period.start),
            "end": iso(report.period.end),
        },
        "step_seconds": report.step,
        "sites": [_site(s) for s in report.sites],
        "links": [
            {
                "link": link.link,
                "kind": link.kind,
                "device": link.device,
                "slo_availability": link.slo.availability,
                "measured_seconds": link.measured_seconds,
                "down_seconds": link.down_seconds,
                "availability": link.availability,
                "availability_met": link.availability_met,
                "outages": [_outage(o) for o in link.outages],
            }
            for link in report.links
        ],
        "outages": [_outage(o) for o in report.outages],
        "maintenance": [
            {
                "change": m.change,
                "title": m.title,
                "start": iso(m.start),
                "end": iso(m.end),
                "devices": _affected(report, m),
            }
            for m in report.maintenance
        ],
    }


def to_json(report: Report) -> str:
    return json.dumps(as_dict(report), ensure_ascii=False, indent=2) + "\n"


# --- CSV -----------------------------------------------------------------------------

CSV_COLUMNS = (
    "record",
    "id",
    "device",
    "site",
    "role",
    "availability",
    "slo_availability",
    "availability_met",
    "down_seconds",
    "own_down_seconds",
    "maintenance_seconds",
    "rtt_p95_seconds",
    "slo_rtt_p95_seconds",
    "loss_ratio",
    "slo_loss_ratio",
    "start",
    "end",
    "duration_seconds",
    "cause",
    "attributed_to",
    "title",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    text = str(value)
    # A cell a spreadsheet would run as a formula (CSV injection) is quoted as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    rows: list[dict[str, object]] = []
    for s in report.sites:
        rows.append(
            {
                "record": "site",
                "id": s.subject.device,
                "device": s.subject.device,
                "site": s.subject.site,
                "role": s.subject.role,
                "availability": s.availability,
                "slo_availability": s.slo.availability,
                "availability_met": s.availability_met,
                "down_seconds": s.down_seconds,
                "own_down_seconds": s.own_down_seconds,
                "maintenance_seconds": s.maintenance_seconds,
                "rtt_p95_seconds": s.rtt_p95_seconds,
                "slo_rtt_p95_seconds": s.slo.rtt_p95_seconds,
                "loss_ratio": s.loss_ratio,
                "slo_loss_ratio": s.slo.loss_ratio,
            }
        )
    for link in report.links:
        rows.append(
            {
                "record": "link",
                "id": link.link,
                "device": link.device,
                "availability": link.availability,
                "slo_availability": link.slo.availability,
                "availability_met": link.availability_met,
                "down_seconds": link.down_seconds,
                "own_down_seconds": link.down_seconds,
            }
        )
    for o in report.outages:
        rows.append(
            {
                "record": "outage",
                "device": o.device,
                "start": iso(o.start),
                "end": iso(o.end),
                "duration_seconds": o.seconds,
                "cause": o.cause,
                "attributed_to": o.attributed_to,
            }
        )
    for m in report.maintenance:
        rows.append(
            {
                "record": "maintenance",
                "id": m.change,
                "device": " ".join(_affected(report, m)),
                "start": iso(m.start),
                "end": iso(m.end),
                "title": m.title,
            }
        )
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


# --- HTML and PDF ----------------------------------------------------------------------

SCOPES = {"tenant": N_("ministry"), "province": N_("province")}


def _charts(site: SiteSla, report: Report, speaking: Say) -> list[tuple[str, Markup, str]]:
    """Each chart of ``site``: its caption, its SVG and a note when it has no data."""
    first_day = datetime.fromtimestamp(report.period.start, ICT)
    daily = charts.daily_bars(
        speaking._("Availability per day"),
        site.daily,
        first_day,
        site.slo.availability,
        speaking,
    )
    rtt = charts.hourly_line(
        speaking._("p95 RTT (hourly maximum)"),
        site.rtt_series,
        report.period.start,
        report.period.end,
        site.slo.rtt_p95_seconds,
        speaking,
    )
    return [
        (daily.title, daily.svg(), ""),
        (rtt.title, rtt.svg(), "" if rtt.lines else speaking._("no RTT data")),
    ]


def _context(report: Report, lang: str) -> dict[str, Any]:
    speaking = say(language(lang))
    khmer = lang == "km"
    first_day = datetime.fromtimestamp(report.period.start, ICT)
    return {
        "r": report,
        "lang": lang,
        "name": (report.name_km if khmer and report.name_km else report.name),
        "role": lambda code: role_name(code, lang),
        "site_name": lambda s: (
            s.subject.site_name_km if khmer and s.subject.site_name_km else s.subject.site_name
        ),
        "month": format_date(first_day, "MMMM y", locale=lang),
        "scope_label": speaking(SCOPES.get(report.scope, report.scope)),
        "step": speaking.number(report.step),
        "when": lambda t: speaking.local(datetime.fromtimestamp(t, ICT), ICT),
        "pct": lambda v, digits=3: pct(v, digits, speaking),
        "ms": lambda v: ms(v, speaking),
        "dur": lambda v: dur(v, speaking),
        "count": speaking.number,
        "affected": lambda m: _affected(report, m),
        "charts": lambda s: _charts(s, report, speaking),
    }


def html_fragment(report: Report, lang: str = "en") -> Markup:
    """The report's body, for the console's Reports page (in the reader's language)."""
    body = environment(lang).get_template("_sla_body.html").render(**_context(report, lang))
    return Markup(body)


def css() -> str:
    return (TEMPLATES / "sla.css").read_text(encoding="utf-8")


def to_html(report: Report, lang: str = "en") -> str:
    return (
        environment(lang)
        .get_template("sla.html")
        .render(css=Markup(css()), **_context(report, lang))
    )


def to_pdf(report: Report, lang: str = "en") -> bytes:
    import weasyprint  # heavy (Pango through cffi): loaded only for a PDF

    try:
        return bytes(weasyprint.HTML(string=to_html(report, lang), base_url=None).write_pdf())
    except (OSError, ValueError) as exc:
        raise RenderError(f"the PDF could not be written: {exc}") from exc


def render(report: Report, fmt: Format, lang: str = "en") -> bytes:
    """The report as ``fmt``; HTML and PDF in ``lang`` (JSON and CSV are the same in any)."""
    language(lang)
    if fmt is Format.PDF:
        return to_pdf(report, lang)
    if fmt is Format.HTML:
        return to_html(report, lang).encode("utf-8")
    if fmt is Format.CSV:
        return to_csv(report).encode("utf-8")
    return to_json(report).encode("utf-8")
