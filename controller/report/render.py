"""An SLA report written out: JSON (a stable schema, ``govnet.sla/1``), CSV (one row per
site, link, outage and maintenance window), HTML (Jinja2, charts inline as SVG) and PDF
(the same HTML through WeasyPrint, which lays text out with Pango: Khmer is shaped).

User-visible text in the templates goes through ``_()``; until a translation is
installed in the environment, ``_`` is the identity (:func:`environment`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from controller.errors import GovnetError
from controller.report import charts
from controller.report.sla import Maintenance, Outage, Report, SiteSla, iso

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


def _identity(text: str) -> str:
    return text


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    if "_" not in env.globals:  # the i18n work installs the real gettext
        env.globals["_"] = _identity
    return env


# --- number formats ------------------------------------------------------------------


def pct(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.1f} ms"


def dur(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds == 0:
        return "0"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


# --- JSON ----------------------------------------------------------------------------


def _outage(o: Outage) -> dict[str, Any]:
    return {
        "device": o.device,
        "start": iso(o.start),
        "end": iso(o.end),
        "duration_seconds": o.seconds,
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


def _context(report: Report, gettext: Callable[[str], str]) -> dict[str, Any]:
    return {
        "r": report,
        "scope_label": "ministry" if report.scope == "tenant" else "province",
        "when": lambda t: iso(t)[:16].replace("T", " "),
        "pct": pct,
        "ms": ms,
        "dur": dur,
        "affected": lambda m: _affected(report, m),
        "charts": lambda s: charts.charts_for(s, report.period.start, report.period.end, gettext),
    }


def _gettext(env: jinja2.Environment) -> Callable[[str], str]:
    found = env.globals.get("_", _identity)
    return found if callable(found) else _identity


def html_fragment(report: Report, env: jinja2.Environment | None = None) -> Markup:
    """The report's body, for the console's Reports page."""
    env = env or environment()
    body = env.get_template("_sla_body.html").render(**_context(report, _gettext(env)))
    return Markup(body)


def css() -> str:
    return (TEMPLATES / "sla.css").read_text(encoding="utf-8")


def to_html(report: Report, env: jinja2.Environment | None = None, lang: str = "en") -> str:
    env = env or environment()
    return env.get_template("sla.html").render(
        css=Markup(css()), lang=lang, **_context(report, _gettext(env))
    )


def to_pdf(report: Report, env: jinja2.Environment | None = None) -> bytes:
    import weasyprint  # heavy (Pango through cffi): loaded only for a PDF

    try:
        return bytes(weasyprint.HTML(string=to_html(report, env), base_url=None).write_pdf())
    except (OSError, ValueError) as exc:
        raise RenderError(f"the PDF could not be written: {exc}") from exc


def render(report: Report, fmt: Format) -> bytes:
    if fmt is Format.PDF:
        return to_pdf(report)
    if fmt is Format.HTML:
        return to_html(report).encode("utf-8")
    if fmt is Format.CSV:
        return to_csv(report).encode("utf-8")
    return to_json(report).encode("utf-8")
