"""Prometheus and Alertmanager as govnet sees them (the console, the change workflow): two
small protocols and their HTTP implementations (httpx, bounded timeouts, no proxies from
the environment). Tests pass fakes to ``create_app``; errors become :class:`BackendError`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from controller.soc.errors import BackendError


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]


class Prometheus(Protocol):
    def query(self, promql: str) -> list[Sample]: ...

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]: ...


class Alertmanager(Protocol):
    def alerts(self) -> list[dict[str, Any]]: ...

    def create_silence(
        self, matchers: list[dict[str, Any]], ends: datetime, created_by: str, comment: str
    ) -> str: ...

    def expire_silence(self, silence_id: str) -> None: ...

    def silence_state(self, silence_id: str) -> str | None:
        """``active``, ``pending`` or ``expired``; None when Alertmanager has no such
        silence (e.g. it was restarted without its data)."""
        ...


@dataclass(frozen=True)
class Backends:
    prometheus: Prometheus
    alertmanager: Alertmanager


def _float(text: object) -> float:
    try:
        value = float(str(text))
    except ValueError:
        return math.nan
    return value


class _Http:
    def __init__(self, base_url: str, timeout: float, name: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.name = name

    def request(self, method: str, path: str, missing_ok: bool = False, **kwargs: Any) -> Any:
        """The JSON answer; None for an empty one, or for HTTP 404 when ``missing_ok``."""
        try:
            with httpx.Client(trust_env=False, timeout=self.timeout) as client:
                response = client.request(method, self.base_url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendError(
                f"{self.name} at {self.base_url} did not answer ({type(exc).__name__})"
            ) from exc
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 400:
            detail = response.text.strip()[:200]
            raise BackendError(
                f"{self.name} refused the request: HTTP {response.status_code} {detail}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise BackendError(f"{self.name} answered something that is not JSON") from exc


class HttpPrometheus(_Http):
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        super().__init__(base_url, timeout, "Prometheus")

    def _data(self, path: str, params: dict[str, str]) -> Any:
        body = self.request("GET", path, params=params)
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            raise BackendError(f"Prometheus query failed: {error or 'bad answer'}")
        return body.get("data") or {}

    def query(self, promql: str) -> list[Sample]:
        data = self._data("/api/v1/query", {"query": promql})
        return [
            Sample(dict(item.get("metric", {})), _float(item.get("value", [0, "NaN"])[1]))
            for item in data.get("result", [])
            if isinstance(item, dict)
        ]

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        data = self._data(
            "/api/v1/query_range",
            {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"},
        )
        return [
            Series(
                dict(item.get("metric", {})),
                [(float(t), _float(v)) for t, v in item.get("values", [])],
            )
            for item in data.get("result", [])
            if isinstance(item, dict)
        ]


class HttpAlertmanager(_Http):
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        super().__init__(base_url, timeout, "Alertmanager")

    def alerts(self) -> list[dict[str, Any]]:
        body = self.request(
            "GET",
            "/api/v2/alerts",
            params={
                "active": "true",
                "silenced": "true",
                "inhibited": "true",
                "unprocessed": "true",
            },
        )
        if not isinstance(body, list):
            raise BackendError("Alertmanager answered something that is not a list of alerts")
        return [a for a in body if isinstance(a, dict)]

    def create_silence(
        self, matchers: list[dict[str, Any]], ends: datetime, created_by: str, comment: str
    ) -> str:
        now = datetime.now(UTC)
        body = self.request(
            "POST",
            "/api/v2/silences",
            json={
                "matchers": matchers,
                "startsAt": now.isoformat(),
                "endsAt": ends.isoformat(),
                "createdBy": created_by,
                "comment": comment,
            },
        )
        if not isinstance(body, dict) or not isinstance(body.get("silenceID"), str):
            raise BackendError("Alertmanager did not return a silence id")
        return str(body["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        self.request("DELETE", f"/api/v2/silence/{silence_id}")

    def silence_state(self, silence_id: str) -> str | None:
        body = self.request("GET", f"/api/v2/silence/{silence_id}", missing_ok=True)
        if body is None:
            return None
        state = body.get("status", {}).get("state") if isinstance(body, dict) else None
        if state not in {"active", "pending", "expired"}:
            raise BackendError(f"{self.name} answered a silence without a known state")
        return str(state)


def http_backends(prometheus_url: str, alertmanager_url: str, timeout: float) -> Backends:
    return Backends(
        HttpPrometheus(prometheus_url, timeout), HttpAlertmanager(alertmanager_url, timeout)
    )
