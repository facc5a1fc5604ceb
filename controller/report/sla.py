"""Monthly SLA maths — pure: samples in, availability, outages, p95 RTT and loss out.

No clock, no network, no Prometheus: :mod:`controller.report.prometheus` fetches the
samples, :mod:`controller.report.render` writes them out.

Time is cut into slots of one scrape interval (``step``), aligned on the period's
start. For each device the adapter gives:

- ``covered``: the intervals the probes reported the device at all (no data is neither
  up nor down: it is listed, and left out of the availability);
- ``down``: the slots whose ``govnet_site_up`` was 0;
- ``upstream``: the slots whose ``govnet_site_upstream_down`` was 1 (every parent down:
  the device is unreachable because of its upstream);
- ``rtt_p95`` / ``loss``: the recording rules' 5-minute summaries
  (``govnet:icmp_rtt_seconds:p95_5m``, ``govnet:icmp_loss_ratio:avg5m``).

An **outage** is a run of consecutive down slots with one cause: ``own`` (the device or
its link) or ``upstream`` — then attributed to the failed parent, found by walking the
inventory's parent relation up to the device that was down on its own at the outage's
start. Slots without data between two down slots of one cause, up to :data:`HELD`
seconds of them (a missed scrape), do not end it: the device was not seen up, so they
are counted down — and covered — as its ``unseen`` seconds. Slots inside a
**maintenance window** (a change record whose predicted impact names the device) are
excluded from everything and listed with the window.

**Availability** = up time / (covered time − maintenance), every outage counted (the
site's users had no service either way); ``own`` availability counts only the device's
own outages — what a ministry link is measured by, since a core outage is not the link's.
The month's p95 RTT is the 95th percentile of the 5-minute p95s outside maintenance
(linear interpolation, as Prometheus' ``quantile``); loss is the mean of the 5-minute
averages (outage samples excluded by the rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from controller.errors import UsageError

ICT = timezone(timedelta(hours=7), "ICT")
SUMMARY_STEP = 300.0  # the recording rules' window (…:avg5m, …:p95_5m)
HELD = 300.0
"""The longest gap in the data inside an outage that does not end it: Prometheus' own
look-back, how far an instant query carries a device's last sample."""

Interval = tuple[float, float]  # [start, end) in Unix seconds


@dataclass(frozen=True)
class Period:
    """A reporting month: from its first midnight to the next month's, Cambodia time."""

    label: str  # YYYY-MM
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def bounds(self) -> Interval:
        return (self.start, self.end)


def month(text: str) -> Period:
    """``2026-11`` → that month in Cambodia time (ICT, UTC+07:00)."""
    value = text.strip()
    try:
        first = datetime.strptime(value, "%Y-%m").replace(tzinfo=ICT)
    except ValueError:
        raise UsageError(f"--month {text!r}: expected YYYY-MM, e.g. 2026-11") from None
    year, index = divmod(first.month, 12)  # after December: January of the next year
    following = first.replace(year=first.year + year, month=index + 1)
    return Period(value, first.timestamp(), following.timestamp())


@dataclass(frozen=True)
class Subject:
    """A device a report covers, as the inventory and the probes label it."""

    device: str
    site: str
    site_name: str
    province: str
    tenant: str
    role: str
    parents: tuple[str, ...] = ()
    site_name_km: str | None = None  # shown on Khmer reports; JSON/CSV keep site_name


@dataclass(frozen=True)
class Slo:
    availability: float  # ratio, e.g. 0.999
    rtt_p95_seconds: float
    loss_ratio: float


@dataclass(frozen=True)
class Maintenance:
    """A change record's window, and what its predicted impact takes down."""

    change: int
    title: str
    start: float
    end: float
    devices: frozenset[str]
    links: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DeviceSamples:
    covered: tuple[Interval, ...] = ()
    down: frozenset[float] = frozenset()
    upstream: frozenset[float] = frozenset()
    rtt_p95: tuple[tuple[float, float], ...] = ()  # (time, seconds), 5-minute windows
    loss: tuple[tuple[float, float], ...] = ()  # (time, ratio), 5-minute windows


@dataclass(frozen=True)
class Outage:
    device: str
    start: float
    end: float
    cause: str  # "own" | "upstream"
    attributed_to: str  # the device whose failure it was
    unseen: float = 0.0  # seconds of it without data (missed scrapes), counted down

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class MaintenanceUse:
    """A maintenance window as it applied to one device."""

    change: int
    title: str
    start: float
    end: float
    excluded_seconds: float  # covered time inside the window (left out of the SLA)
    down_seconds: float  # of which the device was down


@dataclass(frozen=True)
class SiteSla:
    subject: Subject
    slo: Slo
    covered_seconds: float
    maintenance_seconds: float
    down_seconds: float
    own_down_seconds: float
    outages: tuple[Outage, ...]
    maintenance: tuple[MaintenanceUse, ...]
    rtt_p95_seconds: float | None
    loss_ratio: float | None
    daily: tuple[float | None, ...]  # availability per day of the period
    rtt_series: tuple[tuple[float, float], ...]  # for the chart

    @property
    def measured_seconds(self) -> float:
        return self.covered_seconds - self.maintenance_seconds

    @property
    def availability(self) -> float | None:
        return _ratio_up(self.measured_seconds, self.down_seconds)

    @property
    def own_availability(self) -> float | None:
        return _ratio_up(self.measured_seconds, self.own_down_seconds)

    @property
    def availability_met(self) -> bool | None:
        return _at_least(self.availability, self.slo.availability)

    @property
    def rtt_met(self) -> bool | None:
        return _at_most(self.rtt_p95_seconds, self.slo.rtt_p95_seconds)

    @property
    def loss_met(self) -> bool | None:
        return _at_most(self.loss_ratio, self.slo.loss_ratio)


@dataclass(frozen=True)
class LinkSla:
    """A ministry link, measured by its ministry router's own outages."""

    link: str
    kind: str
    device: str  # the served end (the ministry router)
    slo: Slo
    measured_seconds: float
    down_seconds: float
    outages: tuple[Outage, ...]

    @property
    def availability(self) -> float | None:
        return _ratio_up(self.measured_seconds, self.down_seconds)

    @property
    def availability_met(self) -> bool | None:
        return _at_least(self.availability, self.slo.availability)


@dataclass(frozen=True)
class LinkSubject:
    link: str
    kind: str
    device: str


@dataclass(frozen=True)
class Report:
    scope: str  # "tenant" | "province"
    code: str
    name: str
    period: Period
    step: float
    sites: tuple[SiteSla, ...]
    links: tuple[LinkSla, ...]
    maintenance: tuple[Maintenance, ...] = field(default=())
    name_km: str | None = None  # shown on Khmer reports; JSON/CSV keep name

    @property
    def outages(self) -> list[Outage]:
        return sorted(
            (o for s in self.sites for o in s.outages),
            key=lambda o: (o.start, o.cause != "own", o.device),
        )


def _ratio_up(measured: float, down: float) -> float | None:
    if measured <= 0:
        return None
    return max(0.0, 1.0 - down / measured)


def _at_least(value: float | None, target: float) -> bool | None:
    """Whether a measured value reaches its target (None: nothing was measured)."""
    return None if value is None else value >= target


def _at_most(value: float | None, target: float) -> bool | None:
    return None if value is None else value <= target


# --- interval arithmetic ---------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, overlapping or touching intervals joined; empty ones dropped."""
    out: list[list[float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def clip(intervals: Iterable[Interval], bounds: Interval) -> list[Interval]:
    lo, hi = bounds
    return merge((max(a, lo), min(b, hi)) for a, b in intervals)


def length(intervals: Iterable[Interval]) -> float:
    return sum(b - a for a, b in merge(intervals))


def intersect(left: Sequence[Interval], right: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    others = merge(right)
    for a, b in merge(left):
        for c, d in others:
            lo, hi = max(a, c), min(b, d)
            if hi > lo:
                out.append((lo, hi))
    return merge(out)


def inside(moment: float, intervals: Sequence[Interval]) -> bool:
    return any(a <= moment < b for a, b in intervals)


def quantile(q: float, values: Sequence[float]) -> float | None:
    """Prometheus' ``quantile``: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    weight = rank - low
    return ordered[low] * (1 - weight) + ordered[high] * weight


# --- the computation -------------------------------------------------------------------


def _contiguous(earlier: float, later: float, step: float) -> bool:
    """Two slots one scrape interval apart (to within rounding)."""
    return math.isclose(later - earlier, step, abs_tol=step * 1e-6)


def _unseen_between(
    earlier: float, later: float, step: float, seen: Sequence[Interval]
) -> float | None:
    """The seconds between two down slots when no slot in between has data or lies in
    maintenance (``seen``) and they are at most :data:`HELD`; None otherwise."""
    gap = round((later - earlier) / step) - 1
    if gap < 1 or gap * step > HELD:
        return None
    between = (earlier + k * step for k in range(1, gap + 1))
    return None if any(inside(t, seen) for t in between) else gap * step


def _runs(
    tagged: Iterable[tuple[float, str]], step: float, seen: Sequence[Interval] = ()
) -> list[tuple[str, list[float], float]]:
    """Time-ordered ``(slot, cause)`` pairs cut into runs of one cause, each with its
    unseen seconds: an up slot, a long gap or a change of cause starts the next run;
    a short stretch of slots without data (nothing in ``seen``) does not."""
    runs: list[tuple[str, list[float], float]] = []
    for moment, cause in tagged:
        if runs and runs[-1][0] == cause:
            _, slots, unseen = runs[-1]
            if _contiguous(slots[-1], moment, step):
                slots.append(moment)
                continue
            held = _unseen_between(slots[-1], moment, step, seen)
            if held is not None:
                slots.append(moment)
                runs[-1] = (cause, slots, unseen + held)
                continue
        runs.append((cause, [moment], 0.0))
    return runs


def _parents(device: str, subjects: Mapping[str, Subject]) -> tuple[str, ...]:
    return subjects[device].parents if device in subjects else ()


def _covered_down(data: DeviceSamples, covered: Sequence[Interval]) -> list[float]:
    """The down slots the probes covered (``covered`` clipped to the period: so is this)."""
    return [t for t in data.down if inside(t, covered)]


def _root_cause(
    device: str,
    moment: float,
    subjects: Mapping[str, Subject],
    samples: Mapping[str, DeviceSamples],
    step: float,
) -> str | None:
    """The upstream device that was down on its own at ``moment``, walking parents from
    ``device`` (breadth first, nearest first). None when no parent's data says so."""
    seen = {device}
    frontier = list(_parents(device, subjects))
    while frontier:
        following: list[str] = []
        for name in sorted(frontier):
            if name in seen:
                continue
            seen.add(name)
            data = samples.get(name)
            if data is None:
                continue
            near = [t for t in data.down if abs(t - moment) < step]
            if near and not any(t in data.upstream for t in near):
                return name
            if near:
                following.extend(_parents(name, subjects))
        frontier = following
    return None


def outages_of(
    device: str,
    subjects: Mapping[str, Subject],
    samples: Mapping[str, DeviceSamples],
    windows: Sequence[Interval],
    period: Period,
    step: float,
) -> list[Outage]:
    """The device's outages in the period: its covered down slots outside ``windows``,
    in runs of one cause; an upstream one blamed on its root cause, else its parents."""
    data = samples.get(device, DeviceSamples())
    covered = clip(data.covered, period.bounds)
    slots = sorted(t for t in _covered_down(data, covered) if not inside(t, windows))
    tagged = [(t, "upstream" if t in data.upstream else "own") for t in slots]
    fallback = "/".join(_parents(device, subjects)) or "upstream"
    found: list[Outage] = []
    for cause, run, unseen in _runs(tagged, step, merge([*covered, *windows])):
        blamed = device if cause == "own" else _root_cause(device, run[0], subjects, samples, step)
        end = min(run[-1] + step, period.end)
        found.append(Outage(device, run[0], end, cause, blamed or fallback, unseen))
    return found


def windows_for(device: str, maintenance: Iterable[Maintenance]) -> list[Maintenance]:
    return [m for m in maintenance if device in m.devices]


def _own(outages: Iterable[Outage]) -> tuple[Outage, ...]:
    return tuple(o for o in outages if o.cause == "own")


def _seconds(outages: Iterable[Outage]) -> float:
    return sum(o.seconds for o in outages)


def _use(
    change: Maintenance,
    down: Sequence[float],
    covered: Sequence[Interval],
    period: Period,
    step: float,
) -> MaintenanceUse | None:
    """How one maintenance window applied to a device (None: it misses the period).
    ``down`` and ``covered`` are the device's, in the period."""
    span = clip([(change.start, change.end)], period.bounds)
    if not span:
        return None
    return MaintenanceUse(
        change.change,
        change.title,
        change.start,
        change.end,
        excluded_seconds=length(intersect(covered, span)),
        down_seconds=len([t for t in down if inside(t, span)]) * step,
    )


def site_sla(
    subject: Subject,
    slo: Slo,
    subjects: Mapping[str, Subject],
    samples: Mapping[str, DeviceSamples],
    maintenance: Sequence[Maintenance],
    period: Period,
    step: float,
) -> SiteSla:
    data = samples.get(subject.device, DeviceSamples())
    mine = windows_for(subject.device, maintenance)
    windows = clip(((m.start, m.end) for m in mine), period.bounds)
    outages = outages_of(subject.device, subjects, samples, windows, period, step)
    # an outage's unseen seconds are covered: counted down, so measured too
    covered = clip([*data.covered, *((o.start, o.end) for o in outages)], period.bounds)
    excluded = intersect(covered, windows)
    down = _covered_down(data, covered)
    uses = (_use(change, down, covered, period, step) for change in mine)
    return SiteSla(
        subject=subject,
        slo=slo,
        covered_seconds=length(covered),
        maintenance_seconds=length(excluded),
        down_seconds=_seconds(outages),
        own_down_seconds=_seconds(_own(outages)),
        outages=tuple(outages),
        maintenance=tuple(use for use in uses if use is not None),
        rtt_p95_seconds=quantile(0.95, _counted(data.rtt_p95, windows, period)),
        loss_ratio=_mean(_counted(data.loss, windows, period)),
        daily=_daily(covered, excluded, outages, period),
        rtt_series=_in_period(data.rtt_p95, period),
    )


def _summary_counts(moment: float, windows: Sequence[Interval], period: Period) -> bool:
    """A 5-minute summary ending at ``moment`` counts when its window lies in the period
    and touches no maintenance window."""
    start = moment - SUMMARY_STEP
    if start < period.start or moment > period.end:
        return False
    return not intersect([(start, moment)], windows)


def _counted(
    series: Iterable[tuple[float, float]], windows: Sequence[Interval], period: Period
) -> list[float]:
    """The values of the 5-minute summaries that count (no NaN)."""
    return [v for t, v in series if _summary_counts(t, windows, period) and not math.isnan(v)]


def _in_period(
    series: Iterable[tuple[float, float]], period: Period
) -> tuple[tuple[float, float], ...]:
    """The points of a series that end in the period, maintenance too (no NaN)."""
    return tuple((t, v) for t, v in series if period.start < t <= period.end and not math.isnan(v))


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _days(period: Period) -> Iterator[Interval]:
    """The period cut at each midnight."""
    start = period.start
    while start < period.end:
        end = min(start + 86400, period.end)
        yield start, end
        start = end


def _length_in(intervals: Iterable[Interval], bounds: Interval) -> float:
    return length(clip(intervals, bounds))


def _daily(
    covered: Sequence[Interval],
    excluded: Sequence[Interval],
    outages: Sequence[Outage],
    period: Period,
) -> tuple[float | None, ...]:
    spans = [(o.start, o.end) for o in outages]
    return tuple(
        _ratio_up(_length_in(covered, day) - _length_in(excluded, day), _length_in(spans, day))
        for day in _days(period)
    )


def link_sla(link: LinkSubject, site: SiteSla) -> LinkSla:
    """A ministry link from its ministry router's own outages (maintenance of the router
    — a change whose impact takes the link down — is excluded with it)."""
    own = _own(site.outages)
    return LinkSla(
        link=link.link,
        kind=link.kind,
        device=link.device,
        slo=site.slo,
        measured_seconds=site.measured_seconds,
        down_seconds=_seconds(own),
        outages=own,
    )


def _listed_windows(
    maintenance: Iterable[Maintenance], devices: set[str], period: Period
) -> tuple[Maintenance, ...]:
    """The windows a report lists: touching its devices and its period, in time order."""
    return tuple(
        m
        for m in sorted(maintenance, key=lambda m: (m.start, m.change))
        if m.devices & devices and m.start < period.end and m.end > period.start
    )


def report(
    *,
    scope: str,
    code: str,
    name: str,
    period: Period,
    step: float,
    subjects: Sequence[Subject],
    context: Mapping[str, Subject],
    slos: Mapping[str, Slo],
    samples: Mapping[str, DeviceSamples],
    maintenance: Sequence[Maintenance],
    links: Sequence[LinkSubject] = (),
) -> Report:
    """The whole report. ``context`` holds every subject and its ancestors (for cause
    attribution); ``slos`` the SLO of each role. Ministry routers come first, then the
    other devices by site."""
    if step <= 0:
        raise UsageError("the scrape interval must be positive")
    ordered = sorted(subjects, key=lambda s: (s.role != "ministry-router", s.site, s.device))
    sites = tuple(
        site_sla(s, slos[s.role], context, samples, maintenance, period, step) for s in ordered
    )
    by_device = {s.subject.device: s for s in sites}
    link_rows = tuple(
        link_sla(link, by_device[link.device]) for link in links if link.device in by_device
    )
    windows = _listed_windows(maintenance, {s.device for s in subjects}, period)
    return Report(scope, code, name, period, step, sites, link_rows, windows)


def iso(moment: float) -> str:
    """A report time: Cambodia time with its offset, to the second."""
    return datetime.fromtimestamp(moment, UTC).astimezone(ICT).isoformat(timespec="seconds")
