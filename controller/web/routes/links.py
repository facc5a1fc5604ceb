"""Link utilisation: every inventory link, its state and the busiest direction."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from controller.inventory.model import LinkKind
from controller.soc.info import served_end
from controller.text import N_
from controller.web.auth import Staff
from controller.web.context import console
from controller.web.data import Fetch
from controller.web.nav import STAFF, NavItem
from controller.web.templating import render

router = APIRouter()
NAV = [NavItem(N_("Links"), "/links", STAFF, order=30)]


@dataclass(frozen=True)
class LinkRow:
    link: str
    kind: str
    bandwidth_mbps: float
    province: str
    down: bool | None
    utilisation_in: float | None
    utilisation_out: float | None

    @property
    def busiest(self) -> float:
        return max(self.utilisation_in or 0.0, self.utilisation_out or 0.0)


@router.get("/links")
def links(request: Request, user: Staff, kind: str = "") -> Response:
    kinds = [k.value for k in LinkKind]
    if kind and kind not in kinds:
        raise HTTPException(
            400,
            N_(
                "kind %(value)s: choose one of %(choices)s",
                value=repr(kind[:30]),
                choices=", ".join(kinds),
            ),
        )
    sites = console(request).sites
    fetch = Fetch(request)
    util: dict[tuple[str, str], float] = {}
    for s in fetch.query("govnet:link_utilisation:ratio_rate5m"):
        key = (s.labels.get("link", ""), s.labels.get("direction", ""))
        util[key] = max(util.get(key, 0.0), s.value)
    down = {s.labels.get("link", ""): s.value >= 1 for s in fetch.query("govnet:link_down")}
    rows = []
    for link in sites.links:
        if kind and link.kind.value != kind:
            continue
        served = served_end(link, sites.devices)
        rows.append(
            LinkRow(
                link=link.id,
                kind=link.kind.value,
                bandwidth_mbps=link.bandwidth,
                province=(sites.device_province.get(served.name) or "") if served else "",
                down=down.get(link.id),
                utilisation_in=util.get((link.id, "in")),
                utilisation_out=util.get((link.id, "out")),
            )
        )
    rows.sort(key=lambda r: (not r.down, -r.busiest, r.link))
    return render(
        request,
        "links.html",
        title=N_("Link utilisation"),
        rows=rows,
        kind=kind,
        kinds=kinds,
        errors=fetch.errors,
        refresh=60,
    )
