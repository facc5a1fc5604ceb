"""A site's page: its devices, their state, RTT and loss history (SVG charts), with the
windows of changes touching the site shaded on the charts."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from controller.charts import line_chart
from controller.i18n import say
from controller.text import N_
from controller.web import promql
from controller.web.auth import CurrentUser
from controller.web.backends import Series
from controller.web.changes import changes_beside
from controller.web.context import console
from controller.web.data import RANGES, Fetch, parse_range
from controller.web.nav import NavItem
from controller.web.templating import language_of, render
from controller.web.views.changes import chart_bands, touching_site

router = APIRouter()
NAV: list[NavItem] = []


@router.get("/sites/{code}")
def site_page(request: Request, code: str, user: CurrentUser, range: str = "1h") -> Response:
    sites = console(request).sites
    site = sites.site(code)
    if site is None:
        raise HTTPException(404, N_("no site %(code)s in the inventory", code=repr(code[:20])))
    label, seconds = parse_range(range)
    devices = sites.devices_by_site.get(code, [])
    labels = {"site": code}
    if user.role == "focal":
        devices = [d for d in devices if d.tenant == user.tenant]
        if not devices:
            raise HTTPException(403, N_("this site has no service of your ministry"))
        labels["tenant"] = user.tenant or ""
    fetch = Fetch(request)
    states = {
        s.labels.get("device", ""): s.labels.get("state", "")
        for s in fetch.query(promql.selector("govnet_site_reachability", **labels) + " == 1")
    }
    rtt, start, end, step = fetch.query_range(
        promql.selector("govnet_icmp_rtt_seconds", stat="avg", **labels), seconds
    )
    loss, _, _, _ = fetch.query_range(promql.selector("govnet_icmp_loss_ratio", **labels), seconds)
    allowed = {d.name for d in devices}

    def series(result: list[Series]) -> list[tuple[str, list[tuple[float, float]]]]:
        return [
            (s.labels.get("device", "?"), s.points)
            for s in result
            if s.labels.get("device") in allowed
        ]

    speaking = say(language_of(request))
    bands = chart_bands(changes_beside(request, user, fetch.errors), touching_site(code), speaking)
    charts = [
        line_chart(
            N_("Round-trip time (average per cycle)"),
            series(rtt),
            start,
            end,
            step,
            speaking.ms,
            annotations=bands,
            say=speaking,
        ),
        line_chart(
            N_("ICMP loss"),
            series(loss),
            start,
            end,
            step,
            speaking.percent,
            y_max=1.0,
            annotations=bands,
            say=speaking,
        ),
    ]
    alerts = [a for a in fetch.alerts(user) if a.site == code]
    return render(
        request,
        "site.html",
        title=f"{site.name} ({site.code})",
        site=site,
        province_name=sites.province_name(site.province),
        province_site=sites.site(site.province),
        devices=[(d, states.get(d.name)) for d in devices],
        charts=charts,
        range=label,
        ranges=list(RANGES),
        alerts=alerts,
        errors=fetch.errors,
        now=datetime.now(UTC),
        refresh=60,
    )
