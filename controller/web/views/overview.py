"""The national overview: one tile per province, from Prometheus and the alert list.

Alerts of the backbone — the core routers, the data centres (NDC, DR) and the links
between them (``scope`` core, national or datacentre, or at a data-centre site) — belong
to the backbone, not to the province its devices stand in: a core router down does not
colour Phnom Penh."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from controller.text import N_, Text
from controller.web.backends import Sample
from controller.web.sitemap import ProvinceInfo
from controller.web.views.alerts import AlertView, worst

COMMUNE_STATES = 'count by (province, state) (govnet_site_reachability{role="cpe"} == 1)'
PROVINCE_ROUTERS = 'govnet_site_up{role="province-router"}'
BACKBONE_SCOPES = frozenset({"core", "national", "datacentre"})


def on_backbone(alert: AlertView, dc_sites: Collection[str] = ()) -> bool:
    """An alert of the core, the data centres or the links between them."""
    labels = alert.labels
    return (
        labels.get("scope") in BACKBONE_SCOPES
        or labels.get("role") == "core"
        or alert.site in dc_sites
    )


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    communes: int
    up: int
    down: int
    unreachable: int
    router_up: bool | None
    alert: AlertView | None
    alerts: int
    suppressed: int = 0  # alerts of the province hidden under another (topology)
    silenced: int = 0  # alerts of the province acknowledged
    name_km: str | None = None

    @property
    def no_data(self) -> int:
        return max(0, self.communes - self.up - self.down - self.unreachable)

    @property
    def not_answering(self) -> int:
        return self.down + self.unreachable

    @property
    def trouble(self) -> tuple[Text, ...]:
        """What is wrong that no shown alert says (not fired yet, or acknowledged): the
        province's router down, sites not answering. With no shown alert, it makes the
        province major — on its card and its map tile alike."""
        found = []
        if self.router_up is False:
            found.append(N_("router down"))
        if self.not_answering:
            found.append(N_("%(count)d not answering", count=self.not_answering))
        return tuple(found)

    @property
    def colour(self) -> str:
        """The province's colour, the one status its card and its map tile show: its
        worst shown alert's severity, else major for trouble, else no data or ok."""
        if self.alert is not None:
            return self.alert.severity
        if self.trouble:
            return "major"
        if self.up == 0 and self.router_up is None:
            return "nodata"
        return "ok"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "communes": self.communes,
            "up": self.up,
            "down": self.down,
            "unreachable": self.unreachable,
            "no_data": self.no_data,
            "router_up": self.router_up,
            "colour": self.colour,
            "alerts": self.alerts,
            "suppressed": self.suppressed,
            "silenced": self.silenced,
            "worst_alert": None
            if self.alert is None
            else {
                "fingerprint": self.alert.fingerprint,
                "alertname": self.alert.name,
                "severity": self.alert.severity,
                "summary": self.alert.summary,
            },
        }


def tiles(
    provinces: Sequence[ProvinceInfo],
    commune_states: Sequence[Sample],
    routers: Sequence[Sample],
    alerts: Sequence[AlertView],
    dc_sites: Collection[str] = (),
) -> list[Tile]:
    counts: dict[tuple[str, str], int] = {}
    for sample in commune_states:
        key = (sample.labels.get("province", ""), sample.labels.get("state", ""))
        counts[key] = counts.get(key, 0) + int(sample.value)
    router_up: dict[str, bool] = {}
    for sample in routers:
        province = sample.labels.get("province", "")
        router_up[province] = router_up.get(province, False) or sample.value >= 1
    result = []
    for p in provinces:
        here = [a for a in alerts if a.province == p.code and not on_backbone(a, dc_sites)]
        mine = [a for a in here if a.visible]
        result.append(
            Tile(
                code=p.code,
                name=p.name,
                name_km=p.name_km,
                communes=len(p.communes),
                up=counts.get((p.code, "up"), 0),
                down=counts.get((p.code, "down"), 0),
                unreachable=counts.get((p.code, "unreachable"), 0),
                router_up=router_up.get(p.code),
                alert=worst(mine),
                alerts=len(mine),
                suppressed=sum(1 for a in here if a.inhibited),
                silenced=sum(1 for a in here if a.silenced and not a.inhibited),
            )
        )
    return result
