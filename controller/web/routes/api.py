"""The JSON API, with the same sign-in and roles as the pages:

    GET /api/alerts?state=active|suppressed|silenced|all&severity=&province=
    GET /api/provinces            (soc, engineer)

A focal officer's /api/alerts holds only their ministry's alerts. Back-end failures are
503 here (pages show a banner instead): the detail for staff, "monitoring is unavailable"
for a focal officer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from controller.web.auth import CurrentUser, Staff
from controller.web.context import console
from controller.web.data import Fetch
from controller.web.nav import NavItem
from controller.web.routes.alerts import check_filters, select
from controller.web.views.overview import COMMUNE_STATES, PROVINCE_ROUTERS, tiles

router = APIRouter(prefix="/api")
NAV: list[NavItem] = []


def _strict(fetch: Fetch) -> None:
    if fetch.errors:
        raise fetch.unavailable()


@router.get("/alerts")
def api_alerts(
    request: Request, user: CurrentUser, state: str = "all", severity: str = "", province: str = ""
) -> dict[str, Any]:
    check_filters(request, severity, province, state)
    fetch = Fetch(request)
    alerts = fetch.alerts(user)
    _strict(fetch)
    now = datetime.now(UTC)
    chosen = select(alerts, severity, province, state)
    return {
        "alerts": [a.as_dict(now) for a in chosen],
        "counts": {
            "active": sum(1 for a in alerts if a.visible),
            "suppressed": sum(1 for a in alerts if a.inhibited and not a.silenced),
            "silenced": sum(1 for a in alerts if a.silenced),
        },
    }


@router.get("/provinces")
def api_provinces(request: Request, user: Staff) -> dict[str, Any]:
    fetch = Fetch(request)
    alerts = fetch.alerts(user)
    sites = console(request).sites
    grid = tiles(
        sites.provinces,
        fetch.query(COMMUNE_STATES),
        fetch.query(PROVINCE_ROUTERS),
        alerts,
        dc_sites=[dc.code for dc in sites.datacentres],
    )
    _strict(fetch)
    return {"provinces": [t.as_dict() for t in grid]}
