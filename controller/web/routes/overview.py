"""The national overview (a tile per province) and the province pages."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from controller.web import promql
from controller.web.auth import CurrentUser, Staff
from controller.web.context import console
from controller.web.data import Fetch
from controller.web.nav import STAFF, NavItem
from controller.web.templating import render
from controller.web.views.overview import COMMUNE_STATES, PROVINCE_ROUTERS, tiles

router = APIRouter()
NAV = [NavItem("Overview", "/", STAFF, order=10)]


@router.get("/")
def overview(request: Request, user: CurrentUser) -> Response:
    if user.role == "focal":
        return RedirectResponse("/ministry", status_code=303)
    fetch = Fetch(request)
    alerts = fetch.alerts(user)
    grid = tiles(
        console(request).sites.provinces,
        fetch.query(COMMUNE_STATES),
        fetch.query(PROVINCE_ROUTERS),
        alerts,
    )
    national = [a for a in alerts if a.visible and a.province in ("national", "unknown", "")]
    return render(
        request,
        "overview.html",
        title="National overview",
        tiles=grid,
        national=national,
        active=sum(1 for a in alerts if a.visible),
        suppressed=sum(1 for a in alerts if a.inhibited),
        silenced=sum(1 for a in alerts if a.silenced),
        errors=fetch.errors,
        now=datetime.now(UTC),
        refresh=30,
    )


@router.get("/provinces/{code}")
def province(request: Request, code: str, user: Staff) -> Response:
    sites = console(request).sites
    info = sites.province(code)
    if info is None:
        raise HTTPException(404, f"no province {code[:20]!r} in the inventory")
    fetch = Fetch(request)
    states: dict[str, str] = {}
    for sample in fetch.query(promql.selector("govnet_site_reachability", province=code) + " == 1"):
        states[sample.labels.get("device", "")] = sample.labels.get("state", "")
    alerts = [a for a in fetch.alerts(user) if a.province == code]
    routers = [d for d in sites.devices_by_site.get(code, []) if d.role.value == "province-router"]
    communes = [
        (site, [(d, states.get(d.name)) for d in sites.devices_by_site.get(site.code, [])])
        for site in info.communes
    ]
    return render(
        request,
        "province.html",
        title=f"{info.name} ({info.code})",
        province=info,
        routers=[(d, states.get(d.name)) for d in routers],
        communes=communes,
        alerts=alerts,
        errors=fetch.errors,
        now=datetime.now(UTC),
        refresh=30,
    )
