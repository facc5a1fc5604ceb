"""A report's charts as inline SVG, drawn by code: no JavaScript, the same markup in the
browser and in the PDF. Colours are presentation attributes (no inline CSS, which the
console's CSP forbids)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from controller.report.sla import SiteSla

W, H = 330, 120
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 18, 18
GOOD, BAD, NONE, LINE, SLO = "#2e7d32", "#c62828", "#bdbdbd", "#1565c0", "#6d4c41"


def _frame(title: str, body: list[str], y_ticks: list[tuple[float, str]], label: str) -> Markup:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sla-chart" width="{W}" height="{H}"'
        f' viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}">',
        f'<text x="{LEFT}" y="12" font-size="10" font-weight="bold" fill="#212121">'
        f"{escape(title)}</text>",
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}"'
        ' stroke="#757575" stroke-width="0.5"/>',
    ]
    for y, text in y_ticks:
        parts.append(
            f'<text x="{LEFT - 3}" y="{y + 3:.1f}" font-size="8" text-anchor="end"'
            f' fill="#616161">{escape(text)}</text>'
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#eeeeee"'
            ' stroke-width="0.5"/>'
        )
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))


def daily_availability(site: SiteSla, title: str, gettext: Callable[[str], str]) -> Markup:
    """One bar a day: its availability, green at or above the SLO, red below, grey
    without data; the SLO as a dashed line."""
    days = site.daily
    target = site.slo.availability
    known = [d for d in days if d is not None]
    low = min([target, *known]) if known else target
    floor = max(0.0, math.floor((low - 0.001) * 100) / 100)  # whole percent below
    span = max(1.0 - floor, 1e-9)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + (1.0 - (value - floor) / span) * plot_h

    body = []
    width = plot_w / max(len(days), 1)
    for index, value in enumerate(days):
        x = LEFT + index * width
        if value is None:
            body.append(
                f'<rect x="{x + 0.5:.1f}" y="{H - BOTTOM - 2}" width="{max(width - 1, 0.5):.1f}"'
                f' height="2" fill="{NONE}"/>'
            )
            continue
        top = y(value)
        colour = GOOD if value >= target else BAD
        body.append(
            f'<rect x="{x + 0.5:.1f}" y="{top:.1f}" width="{max(width - 1, 0.5):.1f}"'
            f' height="{H - BOTTOM - top:.1f}" fill="{colour}"/>'
        )
    slo_y = y(target)
    body.append(
        f'<line x1="{LEFT}" y1="{slo_y:.1f}" x2="{W - RIGHT}" y2="{slo_y:.1f}" stroke="{SLO}"'
        ' stroke-width="1" stroke-dasharray="3,2"/>'
    )
    for index in range(0, len(days), 7):
        body.append(
            f'<text x="{LEFT + (index + 0.5) * width:.1f}" y="{H - 6}" font-size="8"'
            f' text-anchor="middle" fill="#616161">{index + 1}</text>'
        )
    ticks = [(y(floor), f"{floor * 100:g}%"), (y(1.0), "100%")]
    return _frame(title, body, ticks, gettext("Daily availability against the SLO"))


def rtt_line(
    site: SiteSla, start: float, end: float, title: str, gettext: Callable[[str], str]
) -> Markup:
    """The 5-minute p95 RTT, as hourly maxima, with the SLO as a dashed line."""
    hourly: dict[int, float] = {}
    for t, v in site.rtt_series:
        slot = int((t - start) // 3600)
        hourly[slot] = max(hourly.get(slot, 0.0), v)
    target = site.slo.rtt_p95_seconds
    top_value = _nice(max([target * 1.25, *hourly.values()]))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    hours = max((end - start) / 3600, 1.0)

    def x(hour: float) -> float:
        return LEFT + hour / hours * plot_w

    def y(value: float) -> float:
        return TOP + (1.0 - min(value / top_value, 1.0)) * plot_h

    segments: list[list[str]] = []
    previous: int | None = None
    for hour in sorted(hourly):
        if previous is None or hour != previous + 1:
            segments.append([])
        segments[-1].append(f"{x(hour + 0.5):.1f},{y(hourly[hour]):.1f}")
        previous = hour
    body = [
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="1"/>'
        if len(points) > 1
        else f'<circle cx="{points[0].split(",")[0]}" cy="{points[0].split(",")[1]}" r="1.5"'
        f' fill="{LINE}"/>'
        for points in segments
    ]
    body.append(
        f'<line x1="{LEFT}" y1="{y(target):.1f}" x2="{W - RIGHT}" y2="{y(target):.1f}"'
        f' stroke="{SLO}" stroke-width="1" stroke-dasharray="3,2"/>'
    )
    if not hourly:
        body.append(
            f'<text x="{LEFT + plot_w / 2:.0f}" y="{TOP + plot_h / 2:.0f}" font-size="9"'
            f' text-anchor="middle" fill="#757575">{escape(gettext("no RTT data"))}</text>'
        )
    ticks = [(y(0.0), "0"), (y(top_value), f"{top_value * 1000:g} ms")]
    return _frame(title, body, ticks, gettext("p95 round-trip time against the SLO"))


def _nice(value: float) -> float:
    if value <= 0 or math.isnan(value):
        return 0.001
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def charts_for(
    site: SiteSla, start: float, end: float, gettext: Callable[[str], str]
) -> Sequence[Markup]:
    return (
        daily_availability(site, gettext("Availability per day"), gettext),
        rtt_line(site, start, end, gettext("p95 RTT (hourly maximum)"), gettext),
    )
