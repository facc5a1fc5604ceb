"""Change records as the console shows them: who may see which, what a change touches,
its window in Cambodia time and a one-line impact summary. Pure — records in, views out.

A focal officer sees a change only when its stored impact lists their ministry: a device
of that tenant down, isolated or degraded, or one of its hosted services cut off. What
they see of it is that part of the impact alone (never another ministry's devices)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from controller.change.records import ICT, ChangeRecord
from controller.charts import Annotation
from controller.i18n import Say
from controller.text import N_, Text
from controller.web.users import User

GROUPS = ("running", "planned", "finished")  # the list's sections, in this order
DEVICE_SECTIONS = ("down", "isolated", "degraded")  # impact sections that harm a device
SHOWN_ON_CHARTS = frozenset({"planned", "running", "finished"})  # not cancelled ones
# A change's state as people read it (the codes stay in the store, the CLI and the API).
CHANGE_STATES = {
    "planned": N_("planned"),
    "running": N_("running"),
    "finished": N_("finished"),
    "cancelled": N_("cancelled"),
}


def _refs(impact: dict[str, Any], section: str) -> list[dict[str, str]]:
    refs = impact.get(section, [])
    return [r for r in refs if isinstance(r, dict)] if isinstance(refs, list) else []


def tenants_of(record: ChangeRecord) -> set[str]:
    """Every ministry (tenant) the change's impact lists."""
    found = {str(t.get("tenant", "")) for t in _refs(record.impact, "tenants")}
    for section in DEVICE_SECTIONS:
        found.update(r.get("tenant", "") for r in _refs(record.impact, section))
    found.discard("")
    return found


def may_see(user: User, record: ChangeRecord) -> bool:
    """MPTC staff see every change; a focal officer those affecting their ministry."""
    if user.role != "focal":
        return True
    return bool(user.tenant) and user.tenant in tenants_of(record)


def visible(user: User, records: Iterable[ChangeRecord]) -> list[ChangeRecord]:
    return [r for r in records if may_see(user, r)]


def sites_of(record: ChangeRecord) -> set[str]:
    """The sites a change touches: those it takes down, and the sites of every device it
    takes down, isolates or degrades."""
    found = set(record.failure.sites)
    found.update(str(s) for s in record.impact.get("isolated_sites", []))
    for section in DEVICE_SECTIONS:
        found.update(r.get("site", "") for r in _refs(record.impact, section))
    found.discard("")
    return found


def window_text(record: ChangeRecord) -> str:
    """``2026-12-05 22:00 – 02:00 ICT``: the end as a time of day when the window is
    shorter than a day (the next such time, as `govnet change new --window` reads it),
    else with its date."""
    start, end = record.window.start.astimezone(ICT), record.window.end.astimezone(ICT)
    tail = f"{end:%H:%M}" if end - start < timedelta(days=1) else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {tail} ICT"


def elements(record: ChangeRecord) -> list[str]:
    failure = record.failure
    return (
        [f"link {x}" for x in failure.links]
        + [f"device {x}" for x in failure.devices]
        + [f"site {x}" for x in failure.sites]
    )


@dataclass(frozen=True)
class Scope:
    """The part of a change's impact one reader may see."""

    down: tuple[dict[str, str], ...]
    isolated: tuple[dict[str, str], ...]
    degraded: tuple[dict[str, str], ...]
    unmonitored: tuple[dict[str, str], ...]
    isolated_sites: tuple[str, ...]
    services: tuple[dict[str, Any], ...]  # tenant services cut off from their data centres
    links_down: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.down or self.isolated or self.degraded or self.services)


def scope_for(user: User, record: ChangeRecord) -> Scope:
    impact = record.impact
    if user.role == "focal":
        mine = user.tenant or ""

        def own(section: str) -> tuple[dict[str, str], ...]:
            return tuple(r for r in _refs(impact, section) if r.get("tenant") == mine)

        return Scope(
            down=own("down"),
            isolated=own("isolated"),
            degraded=own("degraded"),
            unmonitored=(),
            isolated_sites=(),
            services=tuple(t for t in _refs(impact, "tenants") if t.get("tenant") == mine),
            links_down=(),
        )
    return Scope(
        down=tuple(_refs(impact, "down")),
        isolated=tuple(_refs(impact, "isolated")),
        degraded=tuple(_refs(impact, "degraded")),
        unmonitored=tuple(_refs(impact, "unmonitored")),
        isolated_sites=tuple(str(s) for s in impact.get("isolated_sites", [])),
        services=tuple(_refs(impact, "tenants")),
        links_down=tuple(str(s) for s in impact.get("links_down", [])),
    )


def summary(scope: Scope) -> str:
    """One line: ``1 down · 5 isolated (5 sites) · 2 degraded · cuts off MEF FMIS`` — a
    :class:`Text`, so a Khmer page says it in Khmer (its str is the English)."""
    parts: list[Text] = []
    if scope.down:
        parts.append(N_("%(n)d down", n=len(scope.down)))
    if scope.isolated:
        sites = len(scope.isolated_sites)
        if sites == 1:
            parts.append(N_("%(n)d isolated (1 site)", n=len(scope.isolated)))
        elif sites:
            parts.append(N_("%(n)d isolated (%(sites)d sites)", n=len(scope.isolated), sites=sites))
        else:
            parts.append(N_("%(n)d isolated", n=len(scope.isolated)))
    if scope.degraded:
        parts.append(N_("%(n)d without redundancy", n=len(scope.degraded)))
    if scope.services:
        cut = ", ".join(f"{t.get('tenant', '')} {t.get('service', '')}" for t in scope.services)
        parts.append(N_("cuts off %(services)s", services=cut))
    if not parts:
        return N_("no device loses its path to the data centres")
    line = parts[0]
    for part in parts[1:]:
        line = N_("%(line)s · %(part)s", line=line, part=part)
    return line


@dataclass(frozen=True)
class ChangeView:
    id: int
    title: str
    state: str
    window: str
    overdue: bool  # planned, and its window is over: never started
    elements: tuple[str, ...]
    summary: str
    record: ChangeRecord

    @property
    def group(self) -> str:
        return self.state if self.state in ("running", "planned") else "finished"


def view(user: User, record: ChangeRecord, now: datetime) -> ChangeView:
    return ChangeView(
        id=record.id,
        title=record.title,
        state=record.state,
        window=window_text(record),
        overdue=record.state == "planned" and record.window.end <= now,
        elements=tuple(elements(record)) if user.role != "focal" else (),
        summary=summary(scope_for(user, record)),
        record=record,
    )


def grouped(views: Sequence[ChangeView]) -> list[tuple[str, list[ChangeView]]]:
    """The list's sections: running, planned (by window), finished (latest first)."""
    sections: list[tuple[str, list[ChangeView]]] = []
    for group in GROUPS:
        mine = [v for v in views if v.group == group]
        if group == "finished":
            mine.sort(key=lambda v: (v.record.window.start, v.id), reverse=True)
        sections.append((group, mine))
    return sections


def chart_bands(
    records: Iterable[ChangeRecord], touches: Callable[[ChangeRecord], bool], say: Say
) -> list[Annotation]:
    """Chart bands for the changes that ``touches`` (not cancelled ones): their windows,
    named in the language of ``say``."""
    return [
        Annotation(
            start=r.window.start.timestamp(),
            end=r.window.end.timestamp(),
            label=f"#{r.id} {r.title}",
            title=say._(
                "change %(id)s (%(state)s): %(title)s — %(window)s",
                id=r.id,
                state=say(CHANGE_STATES.get(r.state, r.state)),
                title=r.title,
                window=window_text(r),
            ),
            href=f"/changes/{r.id}",
        )
        for r in records
        if r.state in SHOWN_ON_CHARTS and touches(r)
    ]


def touching_site(code: str) -> Callable[[ChangeRecord], bool]:
    return lambda record: code in sites_of(record)


def affecting_tenant(code: str) -> Callable[[ChangeRecord], bool]:
    return lambda record: code in tenants_of(record)
