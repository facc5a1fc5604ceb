"""The pure parts of the SLA report's Prometheus adapter: selectors, ranges, chunks and
the scrape interval read from Prometheus' configuration."""

from __future__ import annotations

from itertools import pairwise

import pytest

from controller.report.prometheus import (
    JOIN,
    MAX_POINTS,
    chunks,
    device_selector,
    parse_duration,
    query_spans,
    scrape_interval,
    window,
)
from controller.report.sla import Period


def test_the_device_selector_escapes_dots_and_refuses_other_names() -> None:
    assert device_selector(["mr-mef", "cpe.1", "core-1"]) == '{device=~"core-1|cpe\\\\.1|mr-mef"}'
    with pytest.raises(ValueError):
        device_selector(['x"}) or vector(1'])


def test_a_range_is_one_millisecond_short_of_its_step() -> None:
    assert window(15) == "14999ms"
    assert window(300) == "299999ms"


def test_a_month_is_cut_in_chunks_of_at_most_max_points() -> None:
    step = 15.0
    parts = list(chunks(0, 31 * 86400, step))
    assert parts[0] == (0, (MAX_POINTS - 1) * step)
    assert all((b - a) / step + 1 <= MAX_POINTS for a, b in parts)
    assert all(b2 == a1 - step for (_, b2), (a1, _) in pairwise(parts))
    assert parts[-1][1] == 31 * 86400
    assert sum((b - a) / step + 1 for a, b in parts) == 31 * 86400 / step + 1


@pytest.mark.parametrize(
    ("text", "seconds"), [("15s", 15), ("1m", 60), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200)]
)
def test_prometheus_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_the_probes_job_interval_wins_over_the_global_one() -> None:
    config = (
        "global:\n  scrape_interval: 1m\n"
        "scrape_configs:\n"
        "  - job_name: textfile\n    scrape_interval: 30s\n"
        "  - job_name: govnet-probes\n    scrape_interval: 10s\n"
    )
    assert scrape_interval(config) == 10
    assert scrape_interval("global:\n  scrape_interval: 15s\n") == 15
    assert scrape_interval("not: [yaml") is None


def test_the_scrape_interval_queries_read_only_where_there_are_samples() -> None:
    nov = Period("2026-11", 0.0, 30 * 86400.0)
    step = 60.0
    two_days = [(10 * 86400.0 + 30, 12 * 86400.0 - 30)]  # data on 11 and 12 Nov only
    assert query_spans([two_days], nov, step) == [(10 * 86400.0 - 60, 12 * 86400.0 + 60)]
    # a gap shorter than JOIN is read with its neighbours; a longer one is not read
    near = [(0.0, 3600.0), (3600.0 + JOIN / 2, 7200.0 + JOIN)]
    assert len(query_spans([near], nov, step)) == 1
    far = [(0.0, 3600.0), (3 * 86400.0, 4 * 86400.0)]
    assert query_spans([far], nov, step) == [(0.0, 3660.0), (3 * 86400.0 - 60, 4 * 86400.0 + 60)]
    # every device's spans count; the period bounds every span; no data, no query
    assert query_spans([[(0.0, 60.0)], [(30 * 86400.0 - 60, 30 * 86400.0)]], nov, step) == [
        (0.0, 120.0),
        (30 * 86400.0 - 120, 30 * 86400.0),
    ]
    assert query_spans([], nov, step) == []
    # spans stay on the slot grid of the whole period
    odd = query_spans([[(1000.0, 2000.0)]], nov, 7.0)
    assert all(((edge - nov.start) / 7.0).is_integer() for span in odd for edge in span)
