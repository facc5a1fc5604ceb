"""The national overview (a tile per province) and the province pages."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from controller.i18n import say
from controller.text import N_
from controller.web import promql
from controller.web.auth import CurrentUser, Staff
from controller.web.changes import changes_beside
from controller.web.context import console
from controller.web.data import Fetch
from controller.web.nav import STAFF, NavItem
from controller.web.sitemap import SiteIndex
from controller.web.templating import language_of, render
from controller.web.views.changes import view
from controller.web.views.map import BACKBONE_STATES, Place, national_map
from controller.web.views.overview import COMMUNE_STATES, PROVINCE_ROUTERS, tiles

router = APIRouter()
NAV = [NavItem(N_("Overview"), "/", STAFF, order=10)]


@router.get("/")
def overview(request: Request, user: CurrentUser) -> Response:
    if user.role == "focal":
        return RedirectResponse("/ministry", status_code=303)
    fetch = Fetch(request)
    sites = console(request).sites
    alerts = fetch.alerts(user)
    core, datacentres = backbone(sites)
    grid = tiles(
        sites.provinces,
        fetch.query(COMMUNE_STATES),
        fetch.query(PROVINCE_ROUTERS),
        alerts,
        dc_sites=[dc.code for dc in datacentres],
    )
    drawn = national_map(
        grid, core, datacentres, fetch.query(BACKBONE_STATES), alerts, say(language_of(request))
    )
    national = [a for a in alerts if a.visible and a.province in ("national", "unknown", "")]
    now = datetime.now(UTC)
    running = [
        view(user, c, now)
        for c in changes_beside(request, user, fetch.errors)
        if c.state == "running"
    ]
    return render(
        request,
        "overview.html",
        title=N_("National overview"),
        tiles=grid,
        map=drawn,
        running=running,
        national=national,
        active=sum(1 for a in alerts if a.visible),
        suppressed=sum(1 for a in alerts if a.inhibited),
        silenced=sum(1 for a in alerts if a.silenced),
        errors=fetch.errors,
        now=now,
        refresh=30,
    )


def backbone(sites: SiteIndex) -> tuple[Place, list[Place]]:
    """The core (its routers, its site's page) and the data centres, from the inventory."""
    routers = [d for d in sites.devices.values() if d.role.value == "core"]
    core_site = routers[0].site if routers else ""
    core = Place(
        "core",
        N_("Core"),
        f"/sites/{core_site}" if core_site else "/links",
        tuple(d.name for d in routers),
    )
    datacentres = [
        Place(
            dc.code,
            f"{dc.code} — {dc.name}" if dc.name != dc.code else dc.code,
            f"/sites/{dc.code}",
            tuple(d.name for d in sites.devices_by_site.get(dc.code, []) if d.role.value != "nms"),
            f"{dc.code} — {dc.name_km}" if dc.name_km else None,
        )
        for dc in sites.datacentres
    ]
    return core, datacentres


@router.get("/provinces/{code}")
def province(request: Request, code: str, user: Staff) -> Response:
    sites = console(request).sites
    info = sites.province(code)
    if info is None:
        raise HTTPException(404, N_("no province %(code)s in the inventory", code=repr(code[:20])))
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
