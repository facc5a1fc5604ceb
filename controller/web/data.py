"""Fetching for pages: back-end failures become a banner on the page (the rest of the page
still renders); the JSON API turns them into 503 instead.

What a failure says depends on who reads it (:func:`shown_errors`): MPTC staff (soc,
engineer) get the detail — which back end, its address, the error — to act on it; anyone
else (a ministry's focal officer) one line, ``monitoring is unavailable``, with no
internal address and no exception text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import HTTPException, Request

from controller.soc.errors import BackendError
from controller.text import N_
from controller.web.auth import optional_user
from controller.web.backends import Sample, Series
from controller.web.context import console
from controller.web.nav import STAFF
from controller.web.users import User
from controller.web.views.alerts import AlertView, parse_alerts, visible_to

RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400}
POINTS = 120
MONITORING_UNAVAILABLE = N_("monitoring is unavailable")


def shown_errors(user: User | None, errors: Sequence[str]) -> list[str]:
    """Back-end failures as ``user`` may read them: the detail for MPTC staff, one line
    without addresses or exception text for everyone else."""
    if not errors:
        return []
    if user is not None and user.role in STAFF:
        return list(errors)
    return [MONITORING_UNAVAILABLE]


@dataclass
class Fetch:
    """Collects back-end errors while a page gathers its data."""

    request: Request
    errors: list[str] = field(default_factory=list)

    def alerts(self, user: User) -> list[AlertView]:
        try:
            raw = console(self.request).backends.alertmanager.alerts()
        except BackendError as exc:
            self.errors.append(str(exc))
            return []
        return visible_to(user, parse_alerts(raw))

    def query(self, promql: str) -> list[Sample]:
        try:
            return console(self.request).backends.prometheus.query(promql)
        except BackendError as exc:
            self._note(str(exc))
            return []

    def query_range(self, promql: str, seconds: int) -> tuple[list[Series], float, float, float]:
        end = datetime.now(UTC).timestamp()
        start, step = end - seconds, max(seconds / POINTS, 1.0)
        try:
            series = console(self.request).backends.prometheus.query_range(promql, start, end, step)
        except BackendError as exc:
            self._note(str(exc))
            series = []
        return series, start, end, step

    def unavailable(self) -> HTTPException:
        """A 503 saying what failed, as the signed-in user may read it."""
        shown = shown_errors(optional_user(self.request), self.errors)
        return HTTPException(503, "; ".join(shown) or MONITORING_UNAVAILABLE)

    def _note(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)


def parse_range(text: str) -> tuple[str, int]:
    if text not in RANGES:
        raise HTTPException(400, f"range {text[:20]!r}: choose one of {', '.join(RANGES)}")
    return text, RANGES[text]


_SAFE_NEXT = re.compile(r"^/[A-Za-z0-9/_.-]*$")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to after sign-in (never another site: no open redirect)."""
    if target and _SAFE_NEXT.match(target) and not target.startswith("//"):
        return target
    return default
