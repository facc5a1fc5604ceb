"""The inventory as the console needs it: provinces with their communes, every valid
site code (what user input is checked against), devices per site and per tenant."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from controller.inventory.model import Device, Inventory, Link, Mission, Tenant
from controller.inventory.views import device_provinces


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    kind: str  # capital | province | commune | sangkat | datacentre
    province: str
    name_km: str | None = None


@dataclass(frozen=True)
class ProvinceInfo:
    code: str
    name: str
    communes: tuple[Site, ...]
    name_km: str | None = None


def _province_number(code: str) -> int:
    try:
        return int(code.split("-")[1])
    except (IndexError, ValueError):
        return 999


class SiteIndex:
    def __init__(self, inv: Inventory) -> None:
        self.inventory = inv
        self.network = inv.network.name
        self.sites: dict[str, Site] = {}
        communes: dict[str, list[Site]] = defaultdict(list)
        for p in inv.provinces:
            self.sites[p.code] = Site(p.code, p.name, p.kind, p.code, p.name_km)
        for c in inv.communes:
            site = Site(c.code, c.name, c.kind, c.province, c.name_km)
            self.sites[c.code] = site
            communes[c.province].append(site)
        for dc in inv.datacentres:
            self.sites[dc.code] = Site(dc.code, dc.name, "datacentre", dc.province, dc.name_km)
        # The data centres, the primary (NDC) first.
        self.datacentres = [
            self.sites[dc.code]
            for dc in sorted(inv.datacentres, key=lambda dc: (dc.role != "primary", dc.code))
        ]
        for mission in inv.missions:
            self.sites[mission.code] = Site(mission.code, mission.name, "mission", "")
        self.missions: list[Mission] = sorted(inv.missions, key=lambda x: x.code)
        self.provinces = [
            ProvinceInfo(
                p.code,
                p.name,
                tuple(sorted(communes[p.code], key=lambda s: s.code)),
                p.name_km,
            )
            for p in sorted(inv.provinces, key=lambda p: _province_number(p.code))
        ]
        self.province_names = {p.code: p.name for p in inv.provinces}
        self.devices: dict[str, Device] = {d.name: d for d in inv.devices}
        self.device_province = device_provinces(inv)
        self.devices_by_site: dict[str, list[Device]] = defaultdict(list)
        for d in inv.devices:
            self.devices_by_site[d.site].append(d)
        self.tenants: dict[str, Tenant] = {t.code: t for t in inv.tenants}
        self.links: list[Link] = list(inv.links)

    def site(self, code: str) -> Site | None:
        return self.sites.get(code)

    def province(self, code: str) -> ProvinceInfo | None:
        return next((p for p in self.provinces if p.code == code), None)

    def tenant_devices(self, tenant: str) -> list[Device]:
        return [d for d in self.devices.values() if d.tenant == tenant]

    def tenant_sites(self, tenant: str) -> set[str]:
        return {d.site for d in self.tenant_devices(tenant)}

    def province_name(self, code: str) -> str:
        return self.province_names.get(code, code)
