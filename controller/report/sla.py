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
start. Slots inside a **maintenance window** (a change record whose predicted impact
names the device) are excluded from everything and listed with the window.

**Availability** = up time / (covered time − maintenance), every outage counted (the
site's users had no service either way); ``own`` availability counts only the device's
own outages — what a ministry link is measured by, since a core outage is not the link's.
The month's p95 RTT is the 95th percentile of the 5-minute p95s outside maintenance
(linear interpolation, as Prometheus' ``quantile``); loss is the mean of the 5-minute
averages (outage samples excluded by the rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from controller.errors import UsageError

ICT = timezone(timedelta(hours=7), "ICT")
SUMMARY_STEP = 300.0  # the recording rules' window (…:avg5m, …:p95_5m)

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


def month(text: str) -> Period:
    """``2026-11`` → that month in Cambodia time (ICT, UTC+07:00)."""
    value = text.strip()
    try:
        first = datetime.strptime(value, "%Y-%m").replace(tzinfo=ICT)
    except ValueError:
        raise UsageError(f"--month {text!r}: expected YYYY-MM, e.g. 2026-11") from None
    following = first.replace(year=first.year + 1, month=1) if first.month == 12 else None
    following = following or first.replace(month=first.month + 1)
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
        value = self.availability
        return None if value is None else value >= self.slo.availability

    @property
    def rtt_met(self) -> bool | None:
        value = self.rtt_p95_seconds
        return None if value is None else value <= self.slo.rtt_p95_seconds

    @property
    def loss_met(self) -> bool | None:
        value = self.loss_ratio
        return None if value is None else value <= self.slo.loss_ratio


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
        value = self.availability
        return None if value is None else value >= self.slo.availability


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
    for a, b in merge(left):
        for c, d in merge(right):
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


def _runs(slots: Iterable[float], step: float) -> list[list[float]]:
    runs: list[list[float]] = []
    for moment in sorted(slots):
        if runs and math.isclose(moment - runs[-1][-1], step, abs_tol=step * 1e-6):
            runs[-1].append(moment)
        else:
            runs.append([moment])
    return runs


def _down_slots(samples: DeviceSamples, windows: Sequence[Interval], period: Period) -> list[float]:
    return [
        t
        for t in samples.down
        if period.start <= t < period.end and inside(t, samples.covered) and not inside(t, windows)
    ]


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
    frontier = list(subjects[device].parents) if device in subjects else []
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
            if near and name in subjects:
                following.extend(subjects[name].parents)
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
    data = samples.get(device, DeviceSamples())
    slots = _down_slots(data, windows, period)
    tagged = [(t, "upstream" if t in data.upstream else "own") for t in sorted(slots)]
    found: list[Outage] = []
    run: list[float] = []
    cause = ""

    def close() -> None:
        if not run:
            return
        blamed: str | None = device
        if cause == "upstream":
            blamed = _root_cause(device, run[0], subjects, samples, step)
        parents = subjects[device].parents if device in subjects else ()
        found.append(
            Outage(
                device,
                run[0],
                min(run[-1] + step, period.end),
                cause,
                blamed or "/".join(parents) or "upstream",
            )
        )

    for moment, kind in tagged:
        contiguous = run and math.isclose(moment - run[-1], step, abs_tol=step * 1e-6)
        if run and (not contiguous or kind != cause):
            close()
            run = []
        if not run:
            cause = kind
        run.append(moment)
    close()
    return found


def windows_for(device: str, maintenance: Iterable[Maintenance]) -> list[Maintenance]:
    return [m for m in maintenance if device in m.devices]


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
    windows = clip(((m.start, m.end) for m in mine), (period.start, period.end))
    covered = clip(data.covered, (period.start, period.end))
    excluded = intersect(covered, windows)
    outages = outages_of(subject.device, subjects, samples, windows, period, step)
    down = sum(o.seconds for o in outages)
    own = sum(o.seconds for o in outages if o.cause == "own")
    uses = []
    for change in mine:
        span = clip([(change.start, change.end)], (period.start, period.end))
        if not span:
            continue
        inside_down = [
            t for t in data.down if inside(t, span) and inside(t, covered) and t < period.end
        ]
        uses.append(
            MaintenanceUse(
                change.change,
                change.title,
                change.start,
                change.end,
                length(intersect(covered, span)),
                len(inside_down) * step,
            )
        )
    rtt = [v for t, v in data.rtt_p95 if _summary_counts(t, windows, period) and v == v]
    loss = [v for t, v in data.loss if _summary_counts(t, windows, period) and v == v]
    return SiteSla(
        subject=subject,
        slo=slo,
        covered_seconds=length(covered),
        maintenance_seconds=length(excluded),
        down_seconds=down,
        own_down_seconds=own,
        outages=tuple(outages),
        maintenance=tuple(uses),
        rtt_p95_seconds=quantile(0.95, rtt),
        loss_ratio=(sum(loss) / len(loss)) if loss else None,
        daily=_daily(covered, excluded, outages, period),
        rtt_series=tuple(
            (t, v) for t, v in data.rtt_p95 if period.start < t <= period.end and v == v
        ),
    )


def _summary_counts(moment: float, windows: Sequence[Interval], period: Period) -> bool:
    """A 5-minute summary ending at ``moment`` counts when its window lies in the period
    and touches no maintenance window."""
    start = moment - SUMMARY_STEP
    if start < period.start or moment > period.end:
        return False
    return not intersect([(start, moment)], windows)


def _daily(
    covered: Sequence[Interval],
    excluded: Sequence[Interval],
    outages: Sequence[Outage],
    period: Period,
) -> tuple[float | None, ...]:
    days: list[float | None] = []
    start = period.start
    while start < period.end:
        end = min(start + 86400, period.end)
        measured = length(clip(covered, (start, end))) - length(clip(excluded, (start, end)))
        down = length(clip(((o.start, o.end) for o in outages), (start, end)))
        days.append(_ratio_up(measured, down))
        start = end
    return tuple(days)


def link_sla(link: LinkSubject, site: SiteSla) -> LinkSla:
    """A ministry link from its ministry router's own outages (maintenance of the router
    — a change whose impact takes the link down — is excluded with it)."""
    own = tuple(o for o in site.outages if o.cause == "own")
    return LinkSla(
        link=link.link,
        kind=link.kind,
        device=link.device,
        slo=site.slo,
        measured_seconds=site.measured_seconds,
        down_seconds=sum(o.seconds for o in own),
        outages=own,
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
    attribution); ``slos`` the SLO of each role."""
    if step <= 0:
        raise UsageError("the scrape interval must be positive")
    sites = tuple(
        site_sla(s, slos[s.role], context, samples, maintenance, period, step)
        for s in sorted(subjects, key=lambda s: (s.role != "ministry-router", s.site, s.device))
    )
    by_device = {s.subject.device: s for s in sites}
    link_rows = tuple(
        link_sla(link, by_device[link.device]) for link in links if link.device in by_device
    )
    relevant = {s.device for s in subjects}
    windows = tuple(
        m
        for m in sorted(maintenance, key=lambda m: (m.start, m.change))
        if m.devices & relevant and m.start < period.end and m.end > period.start
    )
    return Report(scope, code, name, period, step, sites, link_rows, windows)


def iso(moment: float) -> str:
    """A report time: Cambodia time with its offset, to the second."""
    return datetime.fromtimestamp(moment, UTC).astimezone(ICT).isoformat(timespec="seconds")
