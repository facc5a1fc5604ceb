"""The alert list, an alert's page, and acknowledgement (an Alertmanager silence)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from controller.soc.errors import BackendError
from controller.text import N_
from controller.web.auth import CurrentUser, Engineer, Staff
from controller.web.context import console
from controller.web.data import Fetch
from controller.web.nav import ALL_ROLES, NavItem
from controller.web.templating import render
from controller.web.views.alerts import FINGERPRINT, SEVERITIES, AlertView

router = APIRouter()
NAV = [NavItem(N_("Alerts"), "/alerts", ALL_ROLES, order=20)]

DURATIONS = {"1h": 1, "4h": 4, "12h": 12, "24h": 24, "72h": 72}
SILENCE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATES = ("active", "suppressed", "silenced", "all")


def check_filters(request: Request, severity: str, province: str, state: str) -> None:
    if severity and severity not in SEVERITIES:
        raise HTTPException(
            400,
            N_(
                "severity %(value)s: choose one of %(choices)s",
                value=repr(severity[:20]),
                choices=", ".join(SEVERITIES),
            ),
        )
    known = {p.code for p in console(request).sites.provinces} | {"national", "unknown"}
    if province and province not in known:
        raise HTTPException(
            400,
            N_("province %(value)s: not in the inventory (e.g. KH-2)", value=repr(province[:20])),
        )
    if state not in STATES:
        raise HTTPException(
            400,
            N_(
                "state %(value)s: choose one of %(choices)s",
                value=repr(state[:20]),
                choices=", ".join(STATES),
            ),
        )


def select(alerts: list[AlertView], severity: str, province: str, state: str) -> list[AlertView]:
    def keep(a: AlertView) -> bool:
        if severity and a.severity != severity:
            return False
        if province and a.province != province:
            return False
        if state == "active":
            return a.visible
        if state == "suppressed":
            return a.inhibited and not a.silenced
        if state == "silenced":
            return a.silenced
        return True

    return [a for a in alerts if keep(a)]


@router.get("/alerts")
def alert_list(
    request: Request, user: CurrentUser, severity: str = "", province: str = ""
) -> Response:
    check_filters(request, severity, province, "all")
    fetch = Fetch(request)
    alerts = select(fetch.alerts(user), severity, province, "all")
    return render(
        request,
        "alerts.html",
        title=N_("Alerts"),
        active=[a for a in alerts if a.visible],
        silenced=[a for a in alerts if a.silenced],
        suppressed=[a for a in alerts if a.inhibited and not a.silenced],
        severity=severity,
        province=province,
        severities=SEVERITIES,
        provinces=console(request).sites.provinces,
        errors=fetch.errors,
        now=datetime.now(UTC),
        refresh=30,
    )


def _find(
    request: Request, user: CurrentUser, fingerprint: str
) -> tuple[AlertView, list[AlertView], list[str]]:
    if not FINGERPRINT.match(fingerprint):
        raise HTTPException(404, N_("no such alert (a fingerprint is 16 hex digits)"))
    fetch = Fetch(request)
    alerts = fetch.alerts(user)
    if fetch.errors:
        raise fetch.unavailable()
    alert = next((a for a in alerts if a.fingerprint == fingerprint), None)
    if alert is None:
        raise HTTPException(404, N_("no such alert: it may have resolved"))
    return alert, alerts, fetch.errors


@router.get("/alerts/{fingerprint}")
def alert_page(request: Request, fingerprint: str, user: CurrentUser) -> Response:
    alert, alerts, errors = _find(request, user, fingerprint)
    parents = [a for a in alerts if a.fingerprint in alert.inhibited_by]
    return render(
        request,
        "alert.html",
        title=alert.name,
        alert=alert,
        parents=parents,
        suppressed=alert.suppressed(),
        durations=list(DURATIONS),
        can_silence=user.role in ("soc", "engineer"),
        can_expire=user.role == "engineer",
        errors=errors,
        now=datetime.now(UTC),
    )


def _comment(text: str) -> str:
    text = text.strip()
    if len(text) < 3:
        raise HTTPException(400, N_("comment: say why (at least 3 characters)"))
    if len(text) > 500:
        raise HTTPException(400, N_("comment: at most 500 characters"))
    if any(ord(c) < 32 and c not in "\t" for c in text):
        raise HTTPException(400, N_("comment: one line of text, no control characters"))
    return text


@router.post("/alerts/{fingerprint}/silence")
def acknowledge(
    request: Request,
    fingerprint: str,
    user: Staff,
    comment: Annotated[str, Form(max_length=2000)] = "",
    duration: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if duration not in DURATIONS:
        raise HTTPException(
            400,
            N_(
                "duration %(value)s: choose one of %(choices)s",
                value=repr(duration[:10]),
                choices=", ".join(DURATIONS),
            ),
        )
    text = _comment(comment)
    alert, _, _ = _find(request, user, fingerprint)
    matchers = [
        {"name": name, "value": value, "isRegex": False, "isEqual": True}
        for name, value in sorted(alert.labels.items())
    ]
    ends = datetime.now(UTC) + timedelta(hours=DURATIONS[duration])
    try:
        console(request).backends.alertmanager.create_silence(matchers, ends, user.username, text)
    except BackendError as exc:
        raise HTTPException(503, str(exc)) from exc
    return RedirectResponse(f"/alerts/{fingerprint}?done=silenced", status_code=303)


@router.post("/silences/{silence_id}/expire")
def expire(request: Request, silence_id: str, user: Engineer) -> Response:
    if not SILENCE_ID.match(silence_id):
        raise HTTPException(404, N_("no such silence (an id is a UUID)"))
    try:
        console(request).backends.alertmanager.expire_silence(silence_id)
    except BackendError as exc:
        raise HTTPException(503, str(exc)) from exc
    return RedirectResponse("/alerts?done=expired", status_code=303)
