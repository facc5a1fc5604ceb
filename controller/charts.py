"""Charts as inline SVG drawn by code — the one chart module of govnet: the console's
RTT and loss history and the SLA report's per-site charts (the web imports it, the
report imports it; it imports neither).

Its one job: series in, SVG out. :func:`line_chart` and :func:`daily_bars` compute a
:class:`Chart` — polylines, bars, reference lines (an SLO), shaded bands (change
windows), axis ticks — and :meth:`Chart.svg` writes it: no JavaScript, the same markup
in the browser and in the PDF. Colours are presentation attributes (the console's CSP
forbids inline CSS; a stylesheet may still restyle the classes). Every word and number
on a chart is in the reader's language (:class:`controller.i18n.Say`): axis ticks
through Babel (dates with CLDR's month names), times in Cambodia time (ICT) whatever the
host's zone, titles and labels through the catalog."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from markupsafe import Markup, escape

from controller import i18n
from controller.i18n import Say

ICT = timezone(timedelta(hours=7), "ICT")  # Cambodia time, as change windows are given
WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 28, 10, 26
MAX_SERIES = 8
# Latin, then Khmer (Debian's fonts-khmeros): the PDF has no page stylesheet to inherit.
FONTS = "DejaVu Sans, Khmer OS System, Khmer OS, sans-serif"
CHAR_WIDTH = 6.5  # of an 11 px label, on average: how much of a band's label fits
# Presentation colours by class (the console's stylesheet uses the same).
COLOURS = {
    "s0": "#1565c0",
    "s1": "#c62828",
    "s2": "#2e7d32",
    "s3": "#ef6c00",
    "s4": "#6a1b9a",
    "s5": "#00838f",
    "s6": "#5d4037",
    "s7": "#455a64",
    "good": "#2e7d32",
    "bad": "#c62828",
    "none": "#bdbdbd",
    "slo": "#6d4c41",
    "grid": "#e4e7ec",
    "tick": "#616161",
    "axis": "#757575",
    "band": "#fff3c4",
    "band-edge": "#e0b300",
    "band-label": "#6d5200",
}


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    segments: tuple[str, ...]  # polyline "x,y x,y ..." strings; gaps split segments
    last: str  # the last value, formatted
    last_xy: tuple[float, float]  # where it is drawn (a dot: short series stay visible)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # good | bad | none


@dataclass(frozen=True)
class Annotation:
    """A time span to shade, e.g. a change's window."""

    start: float
    end: float
    label: str  # drawn at the top of the band, cut to fit
    title: str  # the whole text: tooltip and legend line
    href: str


@dataclass(frozen=True)
class Band:
    x: float
    width: float
    label: str
    title: str
    href: str
    clipped_left: bool  # the span began before the chart's range
    clipped_right: bool  # … or ends after it


@dataclass(frozen=True)
class Chart:
    title: str  # in the reader's language
    width: int
    height: int
    lines: tuple[Line, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot: tuple[int, int, int, int]  # left, top, right, bottom
    bands: tuple[Band, ...] = ()
    bars: tuple[Bar, ...] = ()
    rules: tuple[float, ...] = ()  # y of dashed reference lines (an SLO)
    label: str = ""  # what the chart shows, for a screen reader (else the title)
    font: dict[str, int] = field(default_factory=lambda: {"tick": 11})

    @property
    def empty(self) -> bool:
        return not self.lines and not self.bars

    def svg(self) -> Markup:
        """The chart as one ``<svg>`` element."""
        left, top, right, bottom = self.plot
        tick = self.font["tick"]
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" width="{self.width}"'
            f' height="{self.height}" viewBox="0 0 {self.width} {self.height}" role="img"'
            f' aria-label="{escape(self.label or self.title)}" font-family="{FONTS}">'
        ]
        for b in self.bands:
            out.append(
                f'<g class="change-band"><title>{escape(b.title)}</title>'
                f'<rect class="band" x="{b.x}" y="{top}" width="{b.width}"'
                f' height="{bottom - top}" fill="{COLOURS["band"]}"'
                f' stroke="{COLOURS["band-edge"]}" stroke-dasharray="3 2"/>'
            )
            if b.label:
                row = top + 12 + (self.bands.index(b) % 3) * 13
                out.append(
                    f'<text class="band-label" x="{b.x + 3}" y="{row}" font-size="{tick}"'
                    f' font-weight="600" fill="{COLOURS["band-label"]}">{escape(b.label)}</text>'
                )
            out.append("</g>")
        for y, text in self.y_ticks:
            out.append(
                f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"'
                f' stroke="{COLOURS["grid"]}" stroke-width="1"/>'
                f'<text class="tick" x="{left - 6}" y="{y + tick * 0.35:.1f}" text-anchor="end"'
                f' font-size="{tick}" fill="{COLOURS["tick"]}">{escape(text)}</text>'
            )
        out.append(
            f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"'
            f' stroke="{COLOURS["axis"]}" stroke-width="0.5"/>'
        )
        for x, text in self.x_ticks:
            out.append(
                f'<text class="tick" x="{x:.1f}" y="{self.height - tick * 0.7:.1f}"'
                f' text-anchor="middle" font-size="{tick}" fill="{COLOURS["tick"]}">'
                f"{escape(text)}</text>"
            )
        for bar in self.bars:
            out.append(
                f'<rect class="day-bar {bar.css}" x="{bar.x:.1f}" y="{bar.y:.1f}"'
                f' width="{bar.width:.1f}" height="{bar.height:.1f}" fill="{COLOURS[bar.css]}"/>'
            )
        for line in self.lines:
            colour = COLOURS.get(line.css, COLOURS["s0"])
            for points in line.segments:
                out.append(
                    f'<polyline class="line {line.css}" points="{points}" fill="none"'
                    f' stroke="{colour}" stroke-width="1.8"/>'
                )
            cx, cy = line.last_xy
            out.append(
                f'<circle class="dot {line.css}" cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>'
            )
        for y in self.rules:
            out.append(
                f'<line class="slo" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"'
                f' stroke="{COLOURS["slo"]}" stroke-width="1" stroke-dasharray="3,2"/>'
            )
        out.append("</svg>")
        return Markup("".join(out))


def nice_max(value: float, floor: float = 1.0) -> float:
    """The round number (1, 2, 2.5, 5 × 10ⁿ) at or above ``value``; ``floor`` for none."""
    if value <= 0 or math.isnan(value):
        return floor
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def time_ticks(
    start: float, end: float, x: Callable[[float], float], say: Say
) -> tuple[tuple[float, str], ...]:
    """Five ticks across ``start..end`` in Cambodia time: 14:05 within two days, else the
    day ("3 Dec", "3 ធ្នូ": CLDR month names)."""
    span = max(end - start, 1.0)
    ticks = []
    for f in (0, 0.25, 0.5, 0.75, 1.0):
        moment = datetime.fromtimestamp(start + span * f, UTC)
        text = say.clock(moment, ICT) if span <= 2 * 86400 else say.day_month(moment, ICT)
        ticks.append((x(start + span * f), text))
    return tuple(ticks)


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    start: float,
    end: float,
    step: float,
    fmt: Callable[[float], str],
    y_max: float | None = None,
    annotations: Sequence[Annotation] = (),
    say: Say | None = None,
) -> Chart:
    """Polylines for up to MAX_SERIES series; a gap wider than 2 steps breaks a line.
    Each annotation overlapping ``start..end`` becomes a band, clipped to the plot.
    ``fmt`` writes a value (ticks, the legend) in the reader's language; ``title`` may be
    an ``N_()`` text, said in the language of ``say`` (default English)."""
    say = say or i18n.say("en")
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    finite = [v for _, pts in series for _, v in pts if not math.isnan(v) and not math.isinf(v)]
    top_value = y_max if y_max is not None else nice_max(max(finite, default=0.0) * 1.1)
    span = max(end - start, 1.0)

    def x(t: float) -> float:
        return LEFT + (t - start) / span * (right - LEFT)

    def y(v: float) -> float:
        return bottom - min(max(v / top_value, 0.0), 1.0) * (bottom - TOP)

    lines = []
    for index, (name, points) in enumerate(list(series)[:MAX_SERIES]):
        segments: list[list[str]] = [[]]
        previous: float | None = None
        last, last_xy = math.nan, (0.0, 0.0)
        for t, v in points:
            if math.isnan(v) or math.isinf(v):
                if segments[-1]:
                    segments.append([])
                previous = None
                continue
            if previous is not None and t - previous > 2 * step and segments[-1]:
                segments.append([])
            segments[-1].append(f"{x(t):.1f},{y(v):.1f}")
            previous, last, last_xy = t, v, (round(x(t), 1), round(y(v), 1))
        drawn = tuple(" ".join(s) if len(s) > 1 else f"{s[0]} {s[0]}" for s in segments if s)
        if drawn:
            lines.append(Line(name, f"s{index}", drawn, fmt(last), last_xy))
    y_ticks = tuple((y(top_value * f), fmt(top_value * f)) for f in (0, 0.25, 0.5, 0.75, 1.0))
    bands = []
    for note in annotations:
        if note.end <= start or note.start >= end:
            continue
        x0, x1 = x(max(note.start, start)), x(min(note.end, end))
        chars = max(int((x1 - x0 - 6) / CHAR_WIDTH), 0)
        label = note.label if len(note.label) <= chars else note.label[: max(chars - 1, 0)]
        label = label + "…" if label != note.label and label else label
        bands.append(
            Band(
                round(x0, 1),
                round(max(x1 - x0, 1.0), 1),
                label,
                note.title,
                note.href,
                note.start < start,
                note.end > end,
            )
        )
    return Chart(
        say(title),
        WIDTH,
        HEIGHT,
        tuple(lines),
        y_ticks,
        time_ticks(start, end, x, say),
        (LEFT, TOP, right, bottom),
        tuple(bands),
    )


# --- the SLA report's small charts ----------------------------------------------------

# Their words — title, a note without data — are the page's (a caption), and the SVG holds
# numbers only: WeasyPrint draws an SVG's text without shaping it, which breaks Khmer.
SMALL_W, SMALL_H = 330, 110
SMALL_PLOT = (52, 6, SMALL_W - 8, SMALL_H - 18)  # left, top, right, bottom
SMALL_FONT = {"tick": 8}


def daily_bars(
    title: str,
    days: Sequence[float | None],
    first_day: datetime,
    target: float,
    say: Say,
) -> Chart:
    """One bar a day (``days``: availability 0..1, None without data) from ``first_day``:
    green at or above ``target``, red below, a grey stub without data; ``target`` as a
    dashed line; the weeks' first days of the month on the axis."""
    left, top, right, bottom = SMALL_PLOT
    known = [d for d in days if d is not None]
    low = min([target, *known]) if known else target
    floor = max(0.0, math.floor((low - 0.001) * 100) / 100)  # whole percent below
    span = max(1.0 - floor, 1e-9)

    def y(value: float) -> float:
        return top + (1.0 - (value - floor) / span) * (bottom - top)

    width = (right - left) / max(len(days), 1)
    bars = []
    for index, value in enumerate(days):
        x = left + index * width + 0.5
        w = max(width - 1, 0.5)
        if value is None:
            bars.append(Bar(x, bottom - 2, w, 2, "none"))
        else:
            css = "good" if value >= target else "bad"
            bars.append(Bar(x, y(value), w, bottom - y(value), css))
    x_ticks = tuple(
        (left + (index + 0.5) * width, say.number((first_day + timedelta(days=index)).day))
        for index in range(0, len(days), 7)
    )
    y_ticks = ((y(floor), say.percent(floor, _digits(floor))), (y(1.0), say.percent(1.0, 0)))
    return Chart(
        title,
        SMALL_W,
        SMALL_H,
        (),
        y_ticks,
        x_ticks,
        SMALL_PLOT,
        bars=tuple(bars),
        rules=(y(target),),
        label=say._("Daily availability against the SLO"),
        font=SMALL_FONT,
    )


def _digits(value: float) -> int:
    """Decimals a percentage needs: 99%, 99.5%."""
    return 0 if abs(value * 100 - round(value * 100)) < 1e-9 else 1


def hourly_line(
    title: str,
    series: Sequence[tuple[float, float]],
    start: float,
    end: float,
    target: float,
    say: Say,
) -> Chart:
    """Hourly maxima of ``series`` (seconds, e.g. a p95 RTT) with ``target`` as a dashed
    line; the weeks' first days of the month on the axis, values in ms."""
    left, top, right, bottom = SMALL_PLOT
    hourly: dict[int, float] = {}
    for t, v in series:
        slot = int((t - start) // 3600)
        hourly[slot] = max(hourly.get(slot, 0.0), v)
    top_value = nice_max(max([target * 1.25, *hourly.values()]), floor=0.001)
    hours = max((end - start) / 3600, 1.0)

    def x(hour: float) -> float:
        return left + hour / hours * (right - left)

    def y(value: float) -> float:
        return top + (1.0 - min(value / top_value, 1.0)) * (bottom - top)

    segments: list[list[str]] = []
    previous: int | None = None
    for hour in sorted(hourly):
        if previous is None or hour != previous + 1:
            segments.append([])
        segments[-1].append(f"{x(hour + 0.5):.1f},{y(hourly[hour]):.1f}")
        previous = hour
    lines: tuple[Line, ...] = ()
    if segments:
        last_x, last_y = segments[-1][-1].split(",")
        lines = (
            Line(
                title,
                "s0",
                tuple(" ".join(p) if len(p) > 1 else f"{p[0]} {p[0]}" for p in segments),
                say.ms(hourly[max(hourly)], 1),
                (float(last_x), float(last_y)),
            ),
        )
    first = datetime.fromtimestamp(start, ICT)
    x_ticks = tuple(
        (x(day * 24 + 12), say.number((first + timedelta(days=day)).day))
        for day in range(0, max(int(hours // 24), 1), 7)
    )
    top_ms = say._("%(value)s ms", value=say.number(top_value * 1000, 2))
    y_ticks = ((y(0.0), say.number(0)), (y(top_value), top_ms))
    return Chart(
        title,
        SMALL_W,
        SMALL_H,
        lines,
        y_ticks,
        x_ticks,
        SMALL_PLOT,
        rules=(y(target),),
        label=say._("p95 round-trip time against the SLO"),
        font=SMALL_FONT,
    )
