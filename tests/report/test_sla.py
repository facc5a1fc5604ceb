"""The SLA maths (controller/report/sla.py) on hand-made samples: exact expectations."""

from __future__ import annotations

import pytest

from controller.errors import UsageError
from controller.report import sla
from controller.report.sla import DeviceSamples, Maintenance, Subject

NOVEMBER = sla.month("2026-11")
T0 = NOVEMBER.start
STEP = 60.0
SLO = {
    "core": sla.Slo(0.9995, 0.010, 0.005),
    "province-router": sla.Slo(0.999, 0.060, 0.010),
    "ministry-router": sla.Slo(0.999, 0.030, 0.010),
    "cpe": sla.Slo(0.995, 0.150, 0.050),
}
SUBJECTS = {
    "core-1": Subject("core-1", "KH-12", "Phnom Penh", "KH-12", "", "core"),
    "pr-kh2": Subject("pr-kh2", "KH-2", "Battambang", "KH-2", "", "province-router", ("core-1",)),
    "cpe-020101": Subject("cpe-020101", "020101", "Commune 1", "KH-2", "", "cpe", ("pr-kh2",)),
    "mr-mef": Subject("mr-mef", "MEF", "MEF", "KH-12", "MEF", "ministry-router", ("core-1",)),
}
WHOLE = ((T0, NOVEMBER.end),)


def slots(*ranges: tuple[int, int]) -> frozenset[float]:
    """Slot times for minute ranges [first, last] of the month."""
    return frozenset(T0 + m * STEP for first, last in ranges for m in range(first, last + 1))


def run(
    samples: dict[str, DeviceSamples],
    maintenance: tuple[Maintenance, ...] = (),
    subjects: tuple[str, ...] = ("mr-mef",),
) -> sla.Report:
    return sla.report(
        scope="tenant",
        code="MEF",
        name="Ministry of Economy and Finance",
        period=NOVEMBER,
        step=STEP,
        subjects=[SUBJECTS[s] for s in subjects],
        context=SUBJECTS,
        slos=SLO,
        samples=samples,
        maintenance=maintenance,
        links=[sla.LinkSubject("core-1:eth6--mr-mef:eth1", "ministry-core", "mr-mef")],
    )


def test_a_month_is_cut_at_midnight_cambodia_time() -> None:
    assert sla.iso(NOVEMBER.start) == "2026-11-01T00:00:00+07:00"
    assert sla.iso(NOVEMBER.end) == "2026-12-01T00:00:00+07:00"
    assert NOVEMBER.seconds == 30 * 86400
    assert sla.month("2026-12").end == sla.month("2027-01").start


@pytest.mark.parametrize("text", ["2026-13", "11-2026", "2026/11", ""])
def test_a_bad_month_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="expected YYYY-MM"):
        sla.month(text)


def test_a_three_minute_outage_gives_its_duration_and_the_availability() -> None:
    result = run({"mr-mef": DeviceSamples(covered=WHOLE, down=slots((10, 12)))})
    (site,) = result.sites
    (outage,) = site.outages
    assert (outage.start, outage.end, outage.seconds) == (T0 + 600, T0 + 780, 180)
    assert (outage.cause, outage.attributed_to) == ("own", "mr-mef")
    assert site.availability == 1 - 180 / (30 * 86400)
    assert site.availability_met is True  # 99.993 % ≥ 99.9 %
    (link,) = result.links
    assert link.availability == site.availability
    assert [o.seconds for o in link.outages] == [180]


def test_a_maintenance_window_is_excluded_and_listed() -> None:
    window = Maintenance(
        7, "Replace MEF optic", T0 + 1000 * STEP, T0 + 1060 * STEP, frozenset({"mr-mef"})
    )
    samples = {"mr-mef": DeviceSamples(covered=WHOLE, down=slots((10, 12), (1010, 1019)))}
    result = run(samples, (window,))
    (site,) = result.sites
    assert [o.seconds for o in site.outages] == [180]
    assert site.maintenance_seconds == 3600
    assert site.availability == 1 - 180 / (30 * 86400 - 3600)
    (use,) = site.maintenance
    assert (use.change, use.excluded_seconds, use.down_seconds) == (7, 3600, 600)
    assert result.maintenance == (window,)


def test_maintenance_of_another_device_changes_nothing() -> None:
    window = Maintenance(8, "Battambang", T0, T0 + 7200, frozenset({"pr-kh2"}))
    result = run({"mr-mef": DeviceSamples(covered=WHOLE, down=slots((10, 12)))}, (window,))
    assert result.sites[0].maintenance_seconds == 0
    assert result.sites[0].maintenance == ()
    assert result.maintenance == ()


def test_an_outage_behind_a_failed_parent_is_attributed_to_it() -> None:
    samples = {
        "core-1": DeviceSamples(covered=WHOLE),
        "pr-kh2": DeviceSamples(covered=WHOLE, down=slots((100, 104))),
        "cpe-020101": DeviceSamples(
            covered=WHOLE, down=slots((100, 104), (200, 201)), upstream=slots((100, 104))
        ),
    }
    result = run(samples, subjects=("pr-kh2", "cpe-020101"))
    by_device = {s.subject.device: s for s in result.sites}
    cpe = by_device["cpe-020101"]
    assert [(o.cause, o.attributed_to, o.seconds) for o in cpe.outages] == [
        ("upstream", "pr-kh2", 300),
        ("own", "cpe-020101", 120),
    ]
    assert cpe.down_seconds == 420
    assert cpe.own_down_seconds == 120
    assert cpe.own_availability == 1 - 120 / (30 * 86400)
    assert [(o.device, o.start) for o in result.outages] == [
        ("pr-kh2", T0 + 6000),
        ("cpe-020101", T0 + 6000),
        ("cpe-020101", T0 + 12000),
    ]


def test_attribution_walks_up_to_the_device_down_on_its_own() -> None:
    samples = {
        "core-1": DeviceSamples(covered=WHOLE, down=slots((300, 301))),
        "pr-kh2": DeviceSamples(covered=WHOLE, down=slots((300, 301)), upstream=slots((300, 301))),
        "cpe-020101": DeviceSamples(
            covered=WHOLE, down=slots((300, 301)), upstream=slots((300, 301))
        ),
    }
    result = run(samples, subjects=("cpe-020101",))
    assert [o.attributed_to for o in result.sites[0].outages] == ["core-1"]


def test_an_outage_changing_cause_is_two_outages_and_a_gap_splits_runs() -> None:
    samples = {
        "pr-kh2": DeviceSamples(covered=WHOLE, down=slots((50, 51))),
        "cpe-020101": DeviceSamples(
            covered=WHOLE, down=slots((50, 53), (55, 55)), upstream=slots((50, 51))
        ),
    }
    outages = run(samples, subjects=("cpe-020101",)).sites[0].outages
    assert [(o.start - T0, o.end - T0, o.cause) for o in outages] == [
        (3000, 3120, "upstream"),
        (3120, 3240, "own"),
        (3300, 3360, "own"),
    ]


def test_a_missed_scrape_inside_an_outage_is_part_of_it_and_counted_down() -> None:
    # minutes 10-12 down, 13-14 no sample (the probes were not scraped), 15-17 down
    covered = ((T0, T0 + 13 * STEP), (T0 + 15 * STEP, NOVEMBER.end))
    site = run({"mr-mef": DeviceSamples(covered=covered, down=slots((10, 12), (15, 17)))}).sites[0]
    (outage,) = site.outages
    assert (outage.start - T0, outage.end - T0, outage.unseen) == (600, 1080, 120)
    assert site.down_seconds == 480
    assert site.covered_seconds == NOVEMBER.seconds  # the unseen minutes are covered too
    assert site.availability == 1 - 480 / NOVEMBER.seconds


@pytest.mark.parametrize(
    ("why", "covered", "maintenance"),
    [
        ("an up sample between", WHOLE, ()),
        (
            "more than five minutes without data",
            ((T0, T0 + 11 * STEP), (T0 + 17 * STEP, NOVEMBER.end)),
            (),
        ),
        (
            "a maintenance window between",
            ((T0, T0 + 11 * STEP), (T0 + 17 * STEP, NOVEMBER.end)),
            (Maintenance(1, "optic", T0 + 11 * STEP, T0 + 17 * STEP, frozenset({"mr-mef"})),),
        ),
    ],
)
def test_an_outage_ends_at_an_up_sample_a_long_gap_or_maintenance(
    why: str, covered: tuple[tuple[float, float], ...], maintenance: tuple[Maintenance, ...]
) -> None:
    samples = {"mr-mef": DeviceSamples(covered=covered, down=slots((10, 10), (17, 17)))}
    outages = run(samples, maintenance).sites[0].outages
    assert [(o.start - T0, o.unseen) for o in outages] == [(600, 0), (1020, 0)], why


def test_time_without_data_is_neither_up_nor_down() -> None:
    half = ((T0, T0 + 15 * 86400),)
    result = run({"mr-mef": DeviceSamples(covered=half, down=slots((10, 12)))})
    site = result.sites[0]
    assert site.covered_seconds == 15 * 86400
    assert site.availability == 1 - 180 / (15 * 86400)
    assert site.daily[14] == 1.0
    assert site.daily[15] is None
    assert len(site.daily) == 30
    assert site.daily[0] == 1 - 180 / 86400


def test_a_device_with_no_data_has_no_availability() -> None:
    site = run({}).sites[0]
    assert site.availability is None
    assert site.availability_met is None
    assert site.rtt_p95_seconds is None


def test_p95_rtt_and_loss_come_from_the_five_minute_summaries_outside_maintenance() -> None:
    five = [(T0 + 300 * (i + 1), 0.0625) for i in range(5)]
    rtt = (*five, (T0 + 1800, 0.125), (T0 + 4200, 9.0))  # the last inside maintenance
    loss = ((T0 + 300, 0.0), (T0 + 600, 0.02), (T0 + 4200, 0.9))
    window = Maintenance(3, "work", T0 + 3600, T0 + 4500, frozenset({"mr-mef"}))
    result = run({"mr-mef": DeviceSamples(covered=WHOLE, rtt_p95=rtt, loss=loss)}, (window,))
    site = result.sites[0]
    assert site.rtt_p95_seconds == 0.109375  # as promtool's p95 of the same six values
    assert site.rtt_met is False  # above the ministry router's 30 ms
    assert site.loss_ratio == 0.01
    assert site.loss_met is True


def test_quantile_is_prometheus_linear_interpolation() -> None:
    assert sla.quantile(0.95, [0.0625] * 5 + [0.125]) == 0.109375
    assert sla.quantile(0.5, [1.0, 2.0, 3.0, 4.0]) == 2.5
    assert sla.quantile(0.95, []) is None


def test_interval_arithmetic() -> None:
    assert sla.merge([(5, 6), (0, 2), (1, 3), (3, 4)]) == [(0, 4), (5, 6)]
    assert sla.intersect([(0, 10)], [(2, 3), (8, 12)]) == [(2, 3), (8, 10)]
    assert sla.length([(0, 2), (1, 3)]) == 3
    assert sla.clip([(-5, 5)], (0, 2)) == [(0, 2)]
