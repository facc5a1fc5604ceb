"""Line charts as SVG geometry (no JavaScript): Prometheus range series → polylines,
axis ticks and labels, computed here and drawn by a template; the windows of changes
(annotations) as shaded bands behind the lines, each named by its change."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from controller.change.records import ICT

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 28, 10, 26
MAX_SERIES = 8
CHAR_WIDTH = 6.5  # of an 11 px label, on average: how much of a band's label fits


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    segments: tuple[str, ...]  # polyline "x,y x,y ..." strings; gaps split segments
    last: str  # the last value, formatted
    last_xy: tuple[float, float]  # where it is drawn (a dot: short series stay visible)


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
    title: str
    width: int
    height: int
    lines: tuple[Line, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot: tuple[int, int, int, int]  # left, top, right, bottom
    bands: tuple[Band, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.lines


def _nice_max(value: float) -> float:
    if value <= 0 or math.isnan(value):
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    start: float,
    end: float,
    step: float,
    fmt: Callable[[float], str],
    y_max: float | None = None,
    annotations: Sequence[Annotation] = (),
) -> Chart:
    """Polylines for up to MAX_SERIES series; a gap wider than 2 steps breaks a line.
    Each annotation overlapping ``start..end`` becomes a band, clipped to the plot."""
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    finite = [v for _, pts in series for _, v in pts if not math.isnan(v) and not math.isinf(v)]
    top_value = y_max if y_max is not None else _nice_max(max(finite, default=0.0) * 1.1)
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
    x_ticks = tuple(  # Cambodia time, as change windows are given, whatever the host's zone
        (x(start + span * f), datetime.fromtimestamp(start + span * f, ICT).strftime("%H:%M"))
        for f in (0, 0.25, 0.5, 0.75, 1.0)
    )
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
        title,
        WIDTH,
        HEIGHT,
        tuple(lines),
        y_ticks,
        x_ticks,
        (LEFT, TOP, right, bottom),
        tuple(bands),
    )
