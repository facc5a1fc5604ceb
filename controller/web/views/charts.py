"""Line charts as SVG geometry (no JavaScript): Prometheus range series → polylines,
axis ticks and labels, computed here and drawn by a template."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 28, 10, 26
MAX_SERIES = 8


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    segments: tuple[str, ...]  # polyline "x,y x,y ..." strings; gaps split segments
    last: str  # the last value, formatted
    last_xy: tuple[float, float]  # where it is drawn (a dot: short series stay visible)


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    lines: tuple[Line, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot: tuple[int, int, int, int]  # left, top, right, bottom

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
) -> Chart:
    """Polylines for up to MAX_SERIES series; a gap wider than 2 steps breaks a line."""
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
    x_ticks = tuple(
        (x(start + span * f), time.strftime("%H:%M", time.localtime(start + span * f)))
        for f in (0, 0.25, 0.5, 0.75, 1.0)
    )
    return Chart(title, WIDTH, HEIGHT, tuple(lines), y_ticks, x_ticks, (LEFT, TOP, right, bottom))
