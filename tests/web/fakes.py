"""In-memory back ends for TestClient tests (the browser test uses real ones)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.soc.errors import BackendError
from controller.web.backends import Sample, Series


def am_alert(
    fingerprint: str,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
    inhibited_by: list[str] | None = None,
    silenced_by: list[str] | None = None,
    minutes_ago: float = 5,
) -> dict[str, Any]:
    """An alert as Alertmanager's /api/v2/alerts returns it."""
    suppressed = bool(inhibited_by or silenced_by)
    return {
        "fingerprint": fingerprint,
        "labels": labels,
        "annotations": annotations or {"summary": f"{labels['alertname']} summary"},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
        "endsAt": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        "status": {
            "state": "suppressed" if suppressed else "active",
            "inhibitedBy": inhibited_by or [],
            "silencedBy": silenced_by or [],
        },
    }


# Battambang cut off (one visible critical, three alerts suppressed under it), a MEF
# ministry alert, a MoH alert that must stay invisible to MEF's focal officer.
PROVINCE_DOWN = "a000000000000001"
ALERTS = [
    am_alert(
        PROVINCE_DOWN,
        {
            "alertname": "GovnetProvinceDown",
            "severity": "critical",
            "province": "KH-2",
            "site": "KH-2",
            "tenant": "none",
            "device": "pr-kh2",
            "role": "province-router",
            "scope": "province",
            "team": "noc",
        },
        {"summary": "Province KH-2 is cut off: pr-kh2 is down"},
    ),
    am_alert(
        "a000000000000002",
        {
            "alertname": "GovnetSitesUnreachableBehindProvince",
            "severity": "major",
            "province": "KH-2",
            "site": "KH-2",
            "tenant": "none",
            "scope": "commune",
            "team": "noc",
        },
        {"summary": "4 commune site(s) of KH-2 unreachable", "sites": "4"},
        inhibited_by=["a000000000000003"],
    ),
    am_alert(
        "a000000000000003",
        {
            "alertname": "GovnetProvinceIsolated",
            "severity": "critical",
            "province": "KH-2",
            "site": "KH-2",
            "tenant": "none",
            "scope": "province",
            "team": "noc",
        },
        inhibited_by=[PROVINCE_DOWN],
    ),
    am_alert(
        "a000000000000004",
        {
            "alertname": "GovnetUplinkDown",
            "severity": "warning",
            "province": "KH-2",
            "site": "KH-2",
            "tenant": "none",
            "scope": "link",
            "team": "noc",
            "link": "core-1:eth5--pr-kh2:eth1",
        },
        inhibited_by=[PROVINCE_DOWN],
    ),
    am_alert(
        "b000000000000001",
        {
            "alertname": "GovnetMinistryDown",
            "severity": "critical",
            "province": "KH-12",
            "site": "KH-12",
            "tenant": "MEF",
            "device": "mr-mef",
            "scope": "tenant",
            "team": "noc",
        },
        {"summary": "Ministry MEF is cut off: mr-mef is down"},
    ),
    am_alert(
        "c000000000000001",
        {
            "alertname": "GovnetSnmpUnreachable",
            "severity": "warning",
            "province": "KH-12",
            "site": "KH-12",
            "tenant": "MoH",
            "device": "mr-moh",
            "scope": "tenant",
            "team": "noc",
        },
        {"summary": "mr-moh answers ICMP but not SNMP <script>alert(1)</script>"},
    ),
]


@dataclass
class FakePrometheus:
    queries: list[str] = field(default_factory=list)
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    down: bool = False

    def query(self, promql: str) -> list[Sample]:
        self.queries.append(promql)
        if self.down:
            raise BackendError("Prometheus at http://127.0.0.1:1 did not answer (ConnectError)")
        for prefix, samples in self.samples.items():
            if promql.startswith(prefix):
                return samples
        return []

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        self.queries.append(promql)
        if self.down:
            raise BackendError("Prometheus at http://127.0.0.1:1 did not answer (ConnectError)")
        device = "mr-mef" if 'tenant="MEF"' in promql else "cpe-020301"
        value = 0.002 if "rtt" in promql else 0.0
        points = [(start + i * step, value) for i in range(int((end - start) / step))]
        return [Series({"device": device}, points)]


@dataclass
class FakeAlertmanager:
    raw: list[dict[str, Any]] = field(default_factory=lambda: [dict(a) for a in ALERTS])
    silences: list[dict[str, Any]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    down: bool = False

    def alerts(self) -> list[dict[str, Any]]:
        if self.down:
            raise BackendError("Alertmanager at http://127.0.0.1:1 did not answer (ConnectError)")
        return self.raw

    def create_silence(
        self, matchers: list[dict[str, Any]], ends: datetime, created_by: str, comment: str
    ) -> str:
        silence_id = str(uuid.uuid4())
        self.silences.append(
            {
                "id": silence_id,
                "matchers": matchers,
                "ends": ends,
                "by": created_by,
                "comment": comment,
            }
        )
        return silence_id

    def expire_silence(self, silence_id: str) -> None:
        self.expired.append(silence_id)

    def silence_state(self, silence_id: str) -> str | None:
        if silence_id in self.expired:
            return "expired"
        return "active" if any(s["id"] == silence_id for s in self.silences) else None
