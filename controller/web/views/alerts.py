"""Alertmanager's ``/api/v2/alerts`` → alert views: severity order, age, who inhibits
whom, and how much each visible alert suppresses (transitively, sites counted)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller.text import N_
from controller.web.users import User

SEVERITIES = ("critical", "major", "warning", "info")
# Severities as people read them (the codes stay in labels, the API and the CLI).
SEVERITY_NAMES = {
    "critical": N_("critical"),
    "major": N_("major"),
    "warning": N_("warning"),
    "info": N_("info"),
}
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
MAX_DEPTH = 8


@dataclass
class AlertView:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    state: str  # active | suppressed | unprocessed
    inhibited_by: tuple[str, ...]
    silenced_by: tuple[str, ...]
    children: list[AlertView] = field(default_factory=list)  # suppressed under this one

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "?")

    @property
    def severity(self) -> str:
        severity = self.labels.get("severity", "info")
        return severity if severity in SEVERITY_RANK else "info"

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]

    @property
    def province(self) -> str:
        return self.labels.get("province", "")

    @property
    def site(self) -> str:
        return self.labels.get("site", "")

    @property
    def tenant(self) -> str:
        return self.labels.get("tenant", "none")

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.name

    def summary_in(self, language: str) -> str:
        """The summary in ``language``: in Khmer the rule's ``summary_km`` when it has one."""
        if language == "km":
            khmer = self.annotations.get("summary_km")
            if khmer:
                return khmer
        return self.summary

    @property
    def silenced(self) -> bool:
        return bool(self.silenced_by)

    @property
    def inhibited(self) -> bool:
        return bool(self.inhibited_by)

    @property
    def visible(self) -> bool:
        """Shown in the main list: neither inhibited nor acknowledged (silenced)."""
        return not self.inhibited and not self.silenced

    def age(self, now: datetime) -> float:
        return (now - self.starts_at).total_seconds()

    def suppressed(self) -> list[AlertView]:
        """Every alert suppressed under this one, transitively (bounded depth)."""
        found: dict[str, AlertView] = {}
        frontier = list(self.children)
        for _ in range(MAX_DEPTH):
            following = []
            for child in frontier:
                if child.fingerprint not in found and child.fingerprint != self.fingerprint:
                    found[child.fingerprint] = child
                    following.extend(child.children)
            frontier = following
            if not frontier:
                break
        return sorted(found.values(), key=sort_key)

    def suppressed_sites(self) -> int:
        """Sites behind the suppressed alerts: a summary alert's ``sites`` annotation, or
        one per site-level alert."""
        total = 0
        for alert in self.suppressed():
            sites = alert.annotations.get("sites", "")
            if sites.isdigit():
                total += int(sites)
            elif alert.labels.get("scope") == "commune":
                total += 1
        return total

    def as_dict(self, now: datetime) -> dict[str, Any]:
        suppressed = self.suppressed()
        return {
            "fingerprint": self.fingerprint,
            "alertname": self.name,
            "severity": self.severity,
            "state": "silenced"
            if self.silenced
            else ("suppressed" if self.inhibited else "active"),
            "summary": self.summary,
            "province": self.province,
            "site": self.site,
            "tenant": self.tenant,
            "labels": self.labels,
            "annotations": self.annotations,
            "starts_at": self.starts_at.isoformat(),
            "age_seconds": round(self.age(now), 1),
            "inhibited_by": list(self.inhibited_by),
            "silenced_by": list(self.silenced_by),
            "suppressed_alerts": len(suppressed),
            "suppressed_sites": self.suppressed_sites(),
            "suppressed": [a.fingerprint for a in suppressed],
        }


def sort_key(alert: AlertView) -> tuple[int, float, str]:
    return (alert.rank, -alert.starts_at.timestamp(), alert.name)


def _parse_time(text: object) -> datetime:
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _strings(mapping: object) -> dict[str, str]:
    if not isinstance(mapping, dict):
        return {}
    return {str(k): str(v) for k, v in mapping.items()}


def parse_alerts(raw: Iterable[dict[str, Any]]) -> list[AlertView]:
    """Alert views with their children linked; malformed entries are skipped."""
    alerts: dict[str, AlertView] = {}
    for item in raw:
        fingerprint = str(item.get("fingerprint", ""))
        labels = _strings(item.get("labels"))
        status = item.get("status") if isinstance(item.get("status"), dict) else {}
        assert isinstance(status, dict)
        if not FINGERPRINT.match(fingerprint) or "alertname" not in labels:
            continue
        alerts[fingerprint] = AlertView(
            fingerprint=fingerprint,
            labels=labels,
            annotations=_strings(item.get("annotations")),
            starts_at=_parse_time(item.get("startsAt")),
            state=str(status.get("state", "unprocessed")),
            inhibited_by=tuple(str(f) for f in status.get("inhibitedBy") or ()),
            silenced_by=tuple(str(s) for s in status.get("silencedBy") or ()),
        )
    for alert in alerts.values():
        for parent in alert.inhibited_by:
            if parent in alerts and parent != alert.fingerprint:
                alerts[parent].children.append(alert)
    return sorted(alerts.values(), key=sort_key)


def visible_to(user: User, alerts: Sequence[AlertView]) -> list[AlertView]:
    """A focal officer sees only the alerts of their own ministry (tenant label)."""
    if user.role != "focal":
        return list(alerts)
    return [a for a in alerts if user.tenant and a.tenant == user.tenant]


def worst(alerts: Iterable[AlertView]) -> AlertView | None:
    return min(alerts, key=sort_key, default=None)
