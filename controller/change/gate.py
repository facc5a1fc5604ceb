"""The probe gate: which sites answer the probes before a change and after it.

A site is ``up`` when every probed device there answers (ICMP, through the probes'
cycle); a change passes the gate when every site that was up before is still up after
it. Sites that came up are reported too (a rehearsal lists every change) but never fail
the gate. Pure but for the ``poll`` function the caller gives
(:func:`controller.change.probing.probe_poller` runs the real probes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Poll = Callable[[], Mapping[str, bool]]  # device → answered this cycle


@dataclass(frozen=True, order=True)
class SiteChange:
    site: str
    before: str  # up | down
    after: str
    devices: tuple[str, ...]  # the site's devices whose answer changed

    @property
    def lost(self) -> bool:
        return self.before == "up" and self.after != "up"

    def as_text(self) -> str:
        return f"{self.site} {self.before} → {self.after} ({', '.join(self.devices)})"


def site_states(sites: Mapping[str, str], answered: Mapping[str, bool]) -> dict[str, bool]:
    """Site → up (every device of it that was probed answered)."""
    states: dict[str, bool] = {}
    for device, ok in answered.items():
        site = sites.get(device)
        if site is not None:
            states[site] = states.get(site, True) and ok
    return states


def changed_sites(
    sites: Mapping[str, str], before: Mapping[str, bool], after: Mapping[str, bool]
) -> list[SiteChange]:
    """Every site whose state differs between the two cycles, sorted by site."""
    was, now = site_states(sites, before), site_states(sites, after)
    found = []
    for site in sorted(set(was) | set(now)):
        old, new = was.get(site), now.get(site)
        if old == new:
            continue
        devices = tuple(
            sorted(d for d, s in sites.items() if s == site and before.get(d) != after.get(d))
        )
        found.append(SiteChange(site, _word(old), _word(new), devices))
    return found


def _word(state: bool | None) -> str:
    return "not probed" if state is None else ("up" if state else "down")


def summary(changes: list[SiteChange]) -> str:
    lost = [c.site for c in changes if c.lost]
    if lost:
        return f"{len(lost)} site(s) up before are not after: {', '.join(lost)}"
    if changes:
        return f"no site lost; {len(changes)} site(s) changed: {', '.join(c.site for c in changes)}"
    return "every site answers as before"


class ProbeGate:
    """For the safe-change path (``Options.gate``): one probe cycle before the push and
    one after verification; the change is kept only when no site that was up is down."""

    def __init__(self, poll: Poll, sites: Mapping[str, str]) -> None:
        self.poll = poll
        self.sites = dict(sites)
        self.answered_before: dict[str, bool] | None = None
        self.answered_after: dict[str, bool] | None = None
        self.changes: list[SiteChange] = []

    def before(self) -> None:
        self.answered_before = dict(self.poll())

    def after(self) -> list[str]:
        """The problems that fail the gate (empty: pass)."""
        if self.answered_before is None:
            raise RuntimeError("ProbeGate.after() before before()")
        self.answered_after = dict(self.poll())
        self.changes = changed_sites(self.sites, self.answered_before, self.answered_after)
        return [f"probe gate: site {c.as_text()}" for c in self.changes if c.lost]

    @property
    def ran(self) -> bool:
        return self.answered_after is not None

    def report(self) -> dict[str, Any]:
        return {
            "summary": summary(self.changes) if self.ran else "the change was not probed",
            "probed": self.ran,
            "sites_changed": [
                {"site": c.site, "before": c.before, "after": c.after, "devices": list(c.devices)}
                for c in self.changes
            ],
            "sites_lost": [c.site for c in self.changes if c.lost],
        }
