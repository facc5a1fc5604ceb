"""Ministries (tenants): their services, routers and alerts. A focal officer sees only
their own ministry."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from controller.charts import line_chart
from controller.i18n import say
from controller.text import N_
from controller.web import promql
from controller.web.auth import CurrentUser, Staff
from controller.web.changes import changes_beside
from controller.web.context import console
from controller.web.data import Fetch
from controller.web.nav import NavItem
from controller.web.templating import language_of, render
from controller.web.views.changes import affecting_tenant, chart_bands, view

router = APIRouter()
NAV = [
    NavItem(N_("Ministries"), "/ministries", frozenset({"soc", "engineer"}), order=50),
    NavItem(N_("My ministry"), "/ministry", frozenset({"focal"}), order=5),
]


@router.get("/ministry")
def my_ministry(user: CurrentUser) -> Response:
    if user.role == "focal" and user.tenant:
        return RedirectResponse(f"/ministries/{user.tenant}", status_code=303)
    return RedirectResponse("/ministries", status_code=303)


@router.get("/ministries")
def ministries(request: Request, user: Staff) -> Response:
    sites = console(request).sites
    fetch = Fetch(request)
    alerts = fetch.alerts(user)
    rows = [
        {
            "tenant": t,
            "devices": len(sites.tenant_devices(t.code)),
            "alerts": sum(1 for a in alerts if a.visible and a.tenant == t.code),
        }
        for t in sorted(sites.tenants.values(), key=lambda t: t.code)
    ]
    return render(
        request, "ministries.html", title=N_("Ministries"), rows=rows, errors=fetch.errors
    )


@router.get("/ministries/{code}")
def ministry(request: Request, code: str, user: CurrentUser) -> Response:
    sites = console(request).sites
    tenant = sites.tenants.get(code)
    if user.role == "focal" and code != user.tenant:
        raise HTTPException(403, N_("you can see your own ministry only"))
    if tenant is None:
        raise HTTPException(404, N_("no ministry %(code)s in the inventory", code=repr(code[:20])))
    fetch = Fetch(request)
    states = {
        s.labels.get("device", ""): s.labels.get("state", "")
        for s in fetch.query(promql.selector("govnet_site_reachability", tenant=code) + " == 1")
    }
    rtt, start, end, step = fetch.query_range(
        promql.selector("govnet_icmp_rtt_seconds", stat="avg", tenant=code), 3600
    )
    now = datetime.now(UTC)
    ours = [c for c in changes_beside(request, user, fetch.errors) if affecting_tenant(code)(c)]
    speaking = say(language_of(request))
    chart = line_chart(
        N_("Round-trip time to the ministry's routers (1 h)"),
        [(s.labels.get("device", "?"), s.points) for s in rtt],
        start,
        end,
        step,
        speaking.ms,
        annotations=chart_bands(ours, affecting_tenant(code), speaking),
        say=speaking,
    )
    # running, and planned ones still to come: what the ministry should know about
    upcoming = [
        view(user, c, now)
        for c in ours
        if c.state == "running" or (c.state == "planned" and c.window.end > now)
    ]
    alerts = [a for a in fetch.alerts(user) if a.tenant == code]
    return render(
        request,
        "ministry.html",
        title=f"{tenant.name} ({tenant.code})",
        tenant=tenant,
        devices=[(d, states.get(d.name)) for d in sites.tenant_devices(code)],
        chart=chart,
        alerts=alerts,
        changes=upcoming,
        errors=fetch.errors,
        now=now,
        refresh=60,
    )
