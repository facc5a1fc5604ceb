"""The SLA maths at its edges (controller/report/sla.py): the month's ends, time without
data, windows reaching outside the month, summaries touching a window, attribution
without word from the parents, the order of sites, windows and links — exact
expectations on hand-made samples, beside tests/report/test_sla.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from controller.errors import UsageError
from controller.report import sla
from controller.report.sla import DeviceSamples, Maintenance, Subject
from tests.report.test_sla import NOVEMBER, SLO, STEP, SUBJECTS, T0, WHOLE, run, slots

END = NOVEMBER.end
DAY = 86400.0
MEF_LINK = sla.LinkSubject("core-1:eth6--mr-mef:eth1", "ministry-core", "mr-mef")


def report_of(
    samples: Mapping[str, DeviceSamples],
    subjects: Sequence[str],
    *,
    context: Mapping[str, Subject] = SUBJECTS,
    maintenance: Sequence[Maintenance] = (),
    links: Sequence[sla.LinkSubject] = (),
    slos: Mapping[str, sla.Slo] = SLO,
    step: float = STEP,
) -> sla.Report:
    return sla.report(
        scope="province",
        code="KH-2",
        name="Battambang",
        period=NOVEMBER,
        step=step,
        subjects=[context[s] for s in subjects],
        context=context,
        slos=slos,
        samples=samples,
        maintenance=maintenance,
        links=links,
    )


def test_a_month_label_is_read_without_the_spaces_around_it() -> None:
    february = sla.month(" 2027-02 ")
    assert february.label == "2027-02"
    assert february.seconds == 28 * DAY


# --- outages ---------------------------------------------------------------------------


def test_an_outage_still_running_at_the_months_end_ends_with_the_month() -> None:
    covered = ((T0 - 3600, END + 3600),)  # data on both sides of the month
    down = frozenset({T0 - STEP, END - 30, END})  # before, in its last half minute, after
    site = run({"mr-mef": DeviceSamples(covered=covered, down=down)}).sites[0]
    assert [(o.start, o.end, o.seconds) for o in site.outages] == [(END - 30, END, 30)]
    assert site.covered_seconds == 30 * DAY


def test_down_samples_outside_the_covered_time_are_no_outage() -> None:
    covered = ((T0, T0 + 600),)
    site = run({"mr-mef": DeviceSamples(covered=covered, down=slots((5, 12)))}).sites[0]
    assert [(o.start - T0, o.end - T0) for o in site.outages] == [(300, 600)]
    assert site.availability == 0.5


def test_slots_a_rounding_error_apart_are_one_run_and_a_millisecond_splits_them() -> None:
    close = frozenset({T0 + 600, T0 + 660.00001})
    apart = frozenset({T0 + 600, T0 + 660.001})
    one = run({"mr-mef": DeviceSamples(covered=WHOLE, down=close)}).sites[0].outages
    two = run({"mr-mef": DeviceSamples(covered=WHOLE, down=apart)}).sites[0].outages
    assert [o.start for o in one] == [T0 + 600]
    assert [o.start for o in two] == [T0 + 600, T0 + 660.001]


def test_an_upstream_outage_without_word_from_the_parents_is_blamed_on_them_all() -> None:
    context = {
        "cpe-x": Subject("cpe-x", "020199", "Commune X", "KH-2", "", "cpe", ("pr-a", "pr-b")),
        "orphan": Subject("orphan", "020198", "Commune Y", "KH-2", "", "cpe"),
    }
    behind = DeviceSamples(covered=WHOLE, down=slots((100, 101)), upstream=slots((100, 101)))
    result = report_of({"cpe-x": behind, "orphan": behind}, ["cpe-x", "orphan"], context=context)
    blamed = {s.subject.device: [o.attributed_to for o in s.outages] for s in result.sites}
    assert blamed == {"cpe-x": ["pr-a/pr-b"], "orphan": ["upstream"]}
    assert all(o.cause == "upstream" for s in result.sites for o in s.outages)


@pytest.mark.parametrize(
    ("core_down_at", "blamed"),
    [
        (T0 + 6000 - 30, "core-1"),  # less than a step before the outage: its cause
        (T0 + 6000 - STEP, "pr-kh2"),  # a step before: no word, the parent is named
    ],
    ids=["half-a-step-before", "a-step-before"],
)
def test_only_an_ancestor_down_within_a_step_of_the_outage_is_its_root_cause(
    core_down_at: float, blamed: str
) -> None:
    samples = {
        "core-1": DeviceSamples(covered=WHOLE, down=frozenset({core_down_at})),
        "pr-kh2": DeviceSamples(covered=WHOLE, down=slots((100, 101)), upstream=slots((100, 101))),
        "cpe-020101": DeviceSamples(
            covered=WHOLE, down=slots((100, 101)), upstream=slots((100, 101))
        ),
    }
    (outage,) = report_of(samples, ["cpe-020101"]).sites[0].outages
    assert (outage.cause, outage.attributed_to) == ("upstream", blamed)


def test_a_parent_down_behind_its_own_silent_parent_is_not_the_root_cause() -> None:
    samples = {  # core-1 sent nothing at all
        "pr-kh2": DeviceSamples(covered=WHOLE, down=slots((100, 101)), upstream=slots((100, 101))),
        "cpe-020101": DeviceSamples(
            covered=WHOLE, down=slots((100, 101)), upstream=slots((100, 101))
        ),
    }
    (outage,) = report_of(samples, ["cpe-020101"]).sites[0].outages
    assert outage.attributed_to == "pr-kh2"  # its parents, named as they are


# --- maintenance -----------------------------------------------------------------------


def test_a_window_reaching_outside_the_month_is_listed_whole_and_excluded_only_inside() -> None:
    overnight = Maintenance(5, "overnight", T0 - 3600, T0 + 1800, frozenset({"mr-mef"}))
    later = Maintenance(6, "next month", END, END + 3600, frozenset({"mr-mef"}))
    samples = {"mr-mef": DeviceSamples(covered=WHOLE, down=slots((10, 12), (40, 41)))}
    result = run(samples, (overnight, later))
    site = result.sites[0]
    assert [o.start - T0 for o in site.outages] == [2400]  # minute 10-12 is in the window
    assert site.maintenance_seconds == 1800
    assert site.maintenance == (
        sla.MaintenanceUse(5, "overnight", T0 - 3600, T0 + 1800, 1800, 180),
    )
    assert result.maintenance == (overnight,)


def test_a_windows_excluded_and_down_time_count_only_what_the_probes_covered() -> None:
    window = Maintenance(2, "optics", T0, T0 + 1800, frozenset({"mr-mef"}))
    covered = ((T0 + 660, END),)  # no data before minute 11
    samples = {"mr-mef": DeviceSamples(covered=covered, down=slots((10, 12)))}
    (use,) = run(samples, (window,)).sites[0].maintenance
    assert (use.excluded_seconds, use.down_seconds) == (1800 - 660, 120)


def test_the_daily_availability_leaves_maintenance_out_and_a_day_all_in_it_is_none() -> None:
    whole_day = Maintenance(2, "day two", T0 + DAY, T0 + 2 * DAY, frozenset({"mr-mef"}))
    an_hour = Maintenance(3, "day four", T0 + 3 * DAY, T0 + 3 * DAY + 3600, frozenset({"mr-mef"}))
    down = slots((10, 12), (1500, 1509), (3 * 1440 + 5, 3 * 1440 + 9))
    site = run({"mr-mef": DeviceSamples(covered=WHOLE, down=down)}, (whole_day, an_hour)).sites[0]
    assert site.daily[:4] == (1 - 180 / DAY, None, 1.0, 1.0)
    assert site.maintenance_seconds == DAY + 3600
    assert [u.down_seconds for u in site.maintenance] == [600, 300]


def test_the_report_lists_in_time_order_the_windows_touching_its_devices_and_month() -> None:
    def window(change: int, start: float, end: float, *devices: str) -> Maintenance:
        return Maintenance(change, f"change {change}", start, end, frozenset(devices))

    first = window(4, T0, T0 + 600, "mr-mef")
    same_start = [
        window(9, T0 + 7200, T0 + 9000, "mr-mef", "core-1"),
        window(3, T0 + 7200, T0 + 7800, "mr-mef"),
    ]
    elsewhere = window(5, T0 + 600, T0 + 1200, "pr-kh2")
    before = window(6, T0 - 7200, T0, "mr-mef")
    after = window(7, END, END + 600, "mr-mef")
    result = run({}, (*same_start, elsewhere, before, after, first))
    assert [m.change for m in result.maintenance] == [4, 3, 9]


# --- summaries -------------------------------------------------------------------------


def test_a_summary_counts_when_its_window_is_in_the_month_and_clear_of_maintenance() -> None:
    window = Maintenance(1, "work", T0 + 3600, T0 + 4500, frozenset({"mr-mef"}))
    nan = float("nan")
    at = {  # a summary's time is its 5-minute window's end
        "at the month's start": T0,
        "starting before the month": T0 + 299,
        "the first whole window": T0 + 300,
        "a NaN": T0 + 600,
        "ending as the maintenance starts": T0 + 3600,
        "a second into the maintenance": T0 + 3601,
        "starting as the maintenance ends": T0 + 4800,
        "ending with the month": END,
        "after the month": END + 1,
    }
    values = {
        "the first whole window": 0.125,
        "ending as the maintenance starts": 0.25,
        "starting as the maintenance ends": 0.5,
        "ending with the month": 0.125,
        "a NaN": nan,
    }
    series = tuple((t, values.get(name, 9.0)) for name, t in at.items())
    samples = {"mr-mef": DeviceSamples(covered=WHOLE, rtt_p95=series, loss=series)}
    site = run(samples, (window,)).sites[0]
    assert site.loss_ratio == 0.25  # the mean of the four that count
    assert site.rtt_p95_seconds == sla.quantile(0.95, [0.125, 0.25, 0.5, 0.125])
    # the chart shows every RTT of the month, maintenance too, but no NaN
    assert [t for t, _ in site.rtt_series] == [
        T0 + 299,
        T0 + 300,
        T0 + 3600,
        T0 + 3601,
        T0 + 4800,
        END,
    ]


# --- targets, links and the report -----------------------------------------------------


def test_a_target_reached_exactly_is_met() -> None:
    slos = {"ministry-router": sla.Slo(0.5, 0.030, 0.010)}
    covered = ((T0, T0 + 600),)
    samples = {
        "mr-mef": DeviceSamples(
            covered=covered,
            down=slots((5, 9)),
            rtt_p95=((T0 + 300, 0.030),),
            loss=((T0 + 300, 0.010),),
        )
    }
    result = report_of(samples, ["mr-mef"], slos=slos, links=[MEF_LINK])
    site, link = result.sites[0], result.links[0]
    assert (site.availability, site.rtt_p95_seconds, site.loss_ratio) == (0.5, 0.030, 0.010)
    assert (site.availability_met, site.rtt_met, site.loss_met) == (True, True, True)
    assert (link.availability, link.availability_met) == (0.5, True)


def test_a_link_is_measured_by_its_routers_own_outages_only() -> None:
    samples = {
        "core-1": DeviceSamples(covered=WHOLE, down=slots((100, 104))),
        "mr-mef": DeviceSamples(
            covered=WHOLE, down=slots((10, 12), (100, 104)), upstream=slots((100, 104))
        ),
    }
    result = run(samples)
    (site,), (link,) = result.sites, result.links
    assert (site.down_seconds, site.own_down_seconds) == (480, 180)
    assert (link.link, link.kind, link.device) == (MEF_LINK.link, "ministry-core", "mr-mef")
    assert (link.measured_seconds, link.down_seconds) == (site.measured_seconds, 180)
    assert link.outages == tuple(o for o in site.outages if o.cause == "own")
    assert link.availability == site.own_availability
    assert link.slo == site.slo


def test_ministry_routers_come_first_then_sites_in_order_and_orphan_links_are_left_out() -> None:
    orphan = sla.LinkSubject("core-1:eth7--mr-moh:eth1", "ministry-core", "mr-moh")
    result = report_of({}, list(SUBJECTS), links=[orphan, MEF_LINK])
    assert [s.subject.device for s in result.sites] == [
        "mr-mef",
        "cpe-020101",  # site 020101
        "core-1",  # site KH-12
        "pr-kh2",  # site KH-2
    ]
    assert [link.device for link in result.links] == ["mr-mef"]
    assert result.sites[0].own_availability is None  # no data at all


@pytest.mark.parametrize("step", [0.0, -60.0])
def test_a_scrape_interval_that_is_not_positive_is_a_usage_error(step: float) -> None:
    with pytest.raises(UsageError, match="the scrape interval must be positive"):
        report_of({}, ["mr-mef"], step=step)
