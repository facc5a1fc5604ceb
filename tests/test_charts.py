"""controller/charts.py, the one chart module of the console and the SLA report: the
geometry, the ticks in the reader's language, and SVG with presentation attributes only."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from controller.charts import ICT, daily_bars, hourly_line, line_chart
from controller.i18n import say

DEC_1 = datetime(2026, 12, 1, tzinfo=ICT).timestamp()


def test_a_weeks_chart_ticks_days_with_the_readers_month_names() -> None:
    series = [("cpe-1", [(DEC_1 + h * 3600, 0.004) for h in range(7 * 24)])]
    khmer = line_chart("rtt", series, DEC_1, DEC_1 + 7 * 86400, 3600, say("km").ms, say=say("km"))
    english = line_chart("rtt", series, DEC_1, DEC_1 + 7 * 86400, 3600, say("en").ms)
    assert [t for _, t in khmer.x_ticks][:2] == ["1 ធ្នូ", "2 ធ្នូ"]  # December, CLDR km
    assert [t for _, t in english.x_ticks][:2] == ["1 Dec", "2 Dec"]
    assert khmer.lines[0].last == "4.00 ms" and khmer.y_ticks[-1][1] == "5.00 ms"


def test_an_hours_chart_ticks_cambodia_time() -> None:
    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC).timestamp()  # 07:00 ICT
    chart = line_chart("loss", [], start, start + 3600, 30, say("km").percent, say=say("km"))
    assert [t for _, t in chart.x_ticks] == ["07:00", "07:15", "07:30", "07:45", "08:00"]


def test_a_title_given_as_a_text_is_said_in_the_readers_language() -> None:
    from controller.text import N_

    chart = line_chart(N_("ICMP loss"), [], 0, 100, 10, str, say=say("km"))
    assert chart.title == "ការបាត់បង់ ICMP"


def test_daily_bars_colour_each_day_against_the_slo_and_tick_the_weeks() -> None:
    days = [1.0] * 30
    days[3], days[11] = 0.97, None
    first = datetime(2026, 11, 1, tzinfo=ICT)
    chart = daily_bars("availability", days, first, 0.999, say("km"))
    assert len(chart.bars) == 30
    assert [b.css for b in chart.bars[2:5]] == ["good", "bad", "good"]
    assert chart.bars[11].css == "none" and chart.bars[11].height == 2
    assert [t for _, t in chart.x_ticks] == ["1", "8", "15", "22", "29"]
    assert [t for _, t in chart.y_ticks] == ["96%", "100%"]
    assert len(chart.rules) == 1  # the SLO


def test_the_svg_has_no_inline_style_and_escapes_text() -> None:
    days = [1.0, 0.5, None]
    first = datetime(2026, 11, 1, tzinfo=ICT)
    svg = str(daily_bars("<b>x</b>", days, first, 0.99, say("en")).svg())
    assert "style=" not in svg and "<b>" not in svg  # the console's CSP; text is text
    assert 'role="img"' in svg and 'fill="#c62828"' in svg
    rtt = hourly_line("p95", [], DEC_1, DEC_1 + 86400, 0.03, say("km"))
    assert rtt.lines == () and "ms" in rtt.y_ticks[-1][1]
    # an SVG for the PDF holds no Khmer text: WeasyPrint would not shape it
    assert not re.search(r">[^<]*[\u1780-\u17ff][^<]*</text>", str(rtt.svg()))
