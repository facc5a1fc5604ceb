"""The national overview: one tile per province, from Prometheus and the alert list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.web.backends import Sample
from controller.web.sitemap import ProvinceInfo
from controller.web.views.alerts import AlertView, worst

COMMUNE_STATES = 'count by (province, state) (govnet_site_reachability{role="cpe"} == 1)'
PROVINCE_ROUTERS = 'govnet_site_up{role="province-router"}'


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

    @property
    def no_data(self) -> int:
        return max(0, self.communes - self.up - self.down - self.unreachable)

    @property
    def colour(self) -> str:
        if self.alert is not None:
            return self.alert.severity
        if self.down or self.unreachable or self.router_up is False:
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
        mine = [a for a in alerts if a.visible and a.province == p.code]
        result.append(
            Tile(
                code=p.code,
                name=p.name,
                communes=len(p.communes),
                up=counts.get((p.code, "up"), 0),
                down=counts.get((p.code, "down"), 0),
                unreachable=counts.get((p.code, "unreachable"), 0),
                router_up=router_up.get(p.code),
                alert=worst(mine),
                alerts=len(mine),
            )
        )
    return result
