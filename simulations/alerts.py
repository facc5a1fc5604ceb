"""Alert expectations of a fault campaign, judged against Alertmanager's alerts (pure).

A scenario step ``alerts:`` says, with label matchers (``{alertname: X, province: KH-2}``;
a value ``~REGEX`` matches as a regular expression):

- ``raise``      — each matcher matches at least one *active* alert (it pages);
- ``suppressed`` — each matcher matches at least one alert, and every alert it matches
                   is suppressed (inhibited or silenced): it exists, but never pages;
- ``quiet``      — no alert it matches is active (absent or suppressed both pass);
- ``resolved``   — no alert it matches exists at all.

The step is retried until all hold or its ``timeout`` passes — or, with ``hold: S``, it
must hold on every poll for S seconds (a flapping commune must never page).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simulations.errors import LabError

KINDS = ("raise", "suppressed", "quiet", "resolved")
DEFAULT_TIMEOUT = 150.0
MAX_TIMEOUT = 900.0


@dataclass(frozen=True)
class Matcher:
    labels: tuple[tuple[str, str], ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        for name, want in self.labels:
            have = str(labels.get(name, ""))
            if want.startswith("~"):
                if re.fullmatch(want[1:], have) is None:
                    return False
            elif have != want:
                return False
        return True

    def as_text(self) -> str:
        return "{" + ", ".join(f"{k}={v}" for k, v in self.labels) + "}"


@dataclass(frozen=True)
class AlertExpectation:
    expect: dict[str, tuple[Matcher, ...]]
    timeout: float = DEFAULT_TIMEOUT
    hold: float = 0.0

    @property
    def name(self) -> str:
        parts = [
            f"{kind} {', '.join(m.as_text() for m in matchers)}"
            for kind, matchers in self.expect.items()
            if matchers
        ]
        return "alerts " + "; ".join(parts)


def parse_alerts(spec: Any, where: str) -> AlertExpectation:
    """``{raise: [...], suppressed: [...], quiet: [...], resolved: [...], timeout, hold}``."""
    if not isinstance(spec, Mapping):
        raise LabError(f"{where}: alerts needs a mapping of {', '.join(KINDS)}")
    unknown = sorted(set(spec) - set(KINDS) - {"timeout", "hold"})
    if unknown:
        raise LabError(f"{where}: alerts: unknown key(s) {', '.join(unknown)}")
    expect: dict[str, tuple[Matcher, ...]] = {}
    for kind in KINDS:
        items = spec.get(kind) or []
        if not isinstance(items, list):
            raise LabError(f"{where}: alerts.{kind} must be a list of label matchers")
        matchers = []
        for item in items:
            if not isinstance(item, Mapping) or not item:
                raise LabError(f"{where}: alerts.{kind}: {item!r} is not a label matcher")
            for value in item.values():
                if str(value).startswith("~"):
                    try:
                        re.compile(str(value)[1:])
                    except re.error as exc:
                        problem = f"{where}: alerts.{kind}: bad regex {value!r}: {exc}"
                        raise LabError(problem) from None
            matchers.append(Matcher(tuple((str(k), str(v)) for k, v in item.items())))
        expect[kind] = tuple(matchers)
    if not any(expect.values()):
        raise LabError(f"{where}: alerts needs at least one of {', '.join(KINDS)}")
    timeout = min(float(spec.get("timeout", DEFAULT_TIMEOUT)), MAX_TIMEOUT)
    hold = min(float(spec.get("hold", 0.0)), MAX_TIMEOUT)
    return AlertExpectation(expect, timeout, hold)


def _state(alert: Mapping[str, Any]) -> str:
    status = alert.get("status") or {}
    return str(status.get("state") or "active")


def judge(
    expectation: AlertExpectation, alerts: Sequence[Mapping[str, Any]]
) -> tuple[bool, list[str]]:
    """(all hold, one line per matcher that does not — or per matcher that does)."""
    problems: list[str] = []
    for kind, matchers in expectation.expect.items():
        for matcher in matchers:
            found = [a for a in alerts if matcher.matches(a.get("labels") or {})]
            active = [a for a in found if _state(a) == "active"]
            names = sorted({str((a.get("labels") or {}).get("alertname")) for a in active})
            if kind == "raise" and not active:
                seen = f" ({len(found)} suppressed)" if found else ""
                problems.append(f"raise {matcher.as_text()}: no active alert{seen}")
            elif kind == "suppressed" and not found:
                problems.append(f"suppressed {matcher.as_text()}: no such alert")
            elif kind in ("suppressed", "quiet") and active:
                problems.append(f"{kind} {matcher.as_text()}: pages: {', '.join(names)}")
            elif kind == "resolved" and found:
                left = sorted({str((a.get("labels") or {}).get("alertname")) for a in found})
                problems.append(f"resolved {matcher.as_text()}: still there: {', '.join(left)}")
    return not problems, problems


def alert_lines(alerts: Sequence[Mapping[str, Any]]) -> list[str]:
    """``alertname{province,site} state`` per alert, sorted (for a failure's detail)."""
    lines = []
    for alert in alerts:
        labels = alert.get("labels") or {}
        where = ",".join(str(labels.get(k, "")) for k in ("province", "site"))
        lines.append(f"{labels.get('alertname')}{{{where}}} {_state(alert)}")
    return sorted(lines)
