"""Missions abroad: each mission's tunnels to the NDC and the DR, their IPsec state and
the round trip across the internet, from the probes' and the IPsec exporter's metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response

from controller.text import N_
from controller.web.auth import Staff
from controller.web.context import console
from controller.web.data import Fetch
from controller.web.nav import STAFF, NavItem
from controller.web.templating import render

router = APIRouter()
NAV = [NavItem(N_("Missions"), "/missions", STAFF, order=35)]


@dataclass(frozen=True)
class TunnelRow:
    name: str
    datacentre: str
    up: bool | None  # None: no data
    ike_up: bool | None
    established_seconds: float | None
    rtt: float | None
    loss: float | None
    rekeys: float | None
    auth_failures: float | None


@dataclass
class MissionRow:
    code: str
    name: str
    city: str
    country: str
    router: str
    rtt: float | None
    loss: float | None
    tunnels: list[TunnelRow] = field(default_factory=list)

    @property
    def state(self) -> str:
        """down (no tunnel up), redundancy (one of two up), up, or nodata."""
        known = [t.up for t in self.tunnels if t.up is not None]
        if not known:
            return "nodata"
        ups = sum(1 for up in known if up)
        if ups == 0:
            return "down"
        return "up" if ups == len(self.tunnels) else "redundancy"


def _by(fetch: Fetch, promql: str, *keys: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.get(k, "") for k in keys): s.value for s in fetch.query(promql)}


@router.get("/missions")
def missions(request: Request, user: Staff) -> Response:
    sites = console(request).sites
    fetch = Fetch(request)
    tunnel_up = _by(fetch, "govnet:tunnel_up", "tunnel")
    ike = _by(fetch, 'govnet_ipsec_ike_sa_up{side="mission"}', "tunnel")
    age = _by(fetch, 'govnet_ipsec_ike_sa_established_seconds{side="mission"}', "tunnel")
    t_rtt = _by(fetch, 'govnet_tunnel_rtt_seconds{stat="avg"}', "tunnel")
    t_loss = _by(fetch, "govnet_tunnel_loss_ratio", "tunnel")
    rekeys = _by(fetch, "sum by (tunnel) (govnet_ipsec_rekeys_total)", "tunnel")
    auth = _by(fetch, "sum by (tunnel) (govnet_ipsec_auth_failures_total)", "tunnel")
    m_rtt = _by(fetch, 'govnet_icmp_rtt_seconds{role="mission-router",stat="avg"}', "device")
    m_loss = _by(fetch, 'govnet_icmp_loss_ratio{role="mission-router"}', "device")
    rows = []
    for mission in sites.missions:
        row = MissionRow(
            mission.code,
            mission.name,
            mission.city,
            mission.country,
            mission.router,
            m_rtt.get((mission.router,)),
            m_loss.get((mission.router,)),
        )
        for tunnel in mission.tunnels:
            name = (f"{mission.code}-{tunnel.datacentre}".lower(),)
            up = tunnel_up.get(name)
            row.tunnels.append(
                TunnelRow(
                    name=name[0],
                    datacentre=tunnel.datacentre,
                    up=None if up is None else up >= 1,
                    ike_up=None if name not in ike else ike[name] >= 1,
                    established_seconds=age.get(name),
                    rtt=t_rtt.get(name),
                    loss=t_loss.get(name),
                    rekeys=rekeys.get(name),
                    auth_failures=auth.get(name),
                )
            )
        rows.append(row)
    order = {"down": 0, "redundancy": 1, "nodata": 2, "up": 3}
    rows.sort(key=lambda r: (order[r.state], r.code))
    return render(
        request,
        "missions.html",
        title=N_("Missions abroad"),
        rows=rows,
        errors=fetch.errors,
        refresh=30,
    )
