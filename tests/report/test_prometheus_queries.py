"""The pure parts of the SLA report's Prometheus adapter: selectors, ranges, chunks and
the scrape interval read from Prometheus' configuration."""

from __future__ import annotations

from itertools import pairwise

import pytest

from controller.report.prometheus import (
    MAX_POINTS,
    chunks,
    device_selector,
    parse_duration,
    scrape_interval,
    window,
)


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
