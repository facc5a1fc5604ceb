"""Pure views of a validated inventory: summaries, the site tree, exports."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from controller.inventory.model import Device, Inventory, Platform

ANSIBLE_NETWORK_OS: dict[Platform, str] = {
    Platform.FRR: "frr.frr.frr",
    Platform.CISCO_IOS: "cisco.ios.ios",
    Platform.HUAWEI_VRP: "community.network.ce",
    Platform.LINUX: "",
}


def province_of_site(inv: Inventory, site: str) -> str | None:
    """The province a site (province, commune or data centre code) lies in."""
    index = _site_provinces(inv)
    return index.get(site)


def _site_provinces(inv: Inventory) -> dict[str, str]:
    index = {p.code: p.code for p in inv.provinces}
    index.update({c.code: c.province for c in inv.communes})
    index.update({d.code: d.province for d in inv.datacentres})
    return index


def device_provinces(inv: Inventory) -> dict[str, str | None]:
    """Device name → province code."""
    index = _site_provinces(inv)
    return {d.name: index.get(d.site) for d in inv.devices}


def summary(inv: Inventory) -> dict[str, Any]:
    """Counts by kind, and by province: what `inventory show` prints."""
    provinces_of = device_provinces(inv)
    communes = Counter(c.province for c in inv.communes)
    sangkats = Counter(c.province for c in inv.communes if c.kind == "sangkat")
    devices = Counter(p for p in provinces_of.values() if p)
    names = {p.code: p.name for p in inv.provinces}
    racks = sum(len(room.racks) for dc in inv.datacentres for room in dc.rooms)
    return {
        "network": inv.network.name,
        "totals": {
            "provinces": len(inv.provinces),
            "communes": len(inv.communes),
            "tenants": len(inv.tenants),
            "services": sum(len(t.services) for t in inv.tenants),
            "datacentres": len(inv.datacentres),
            "missions": len(inv.missions),
            "racks": racks,
            "devices": len(inv.devices),
            "links": len(inv.links),
            "hosting": len(inv.hosting),
        },
        "devices_by_role": dict(sorted(Counter(d.role.value for d in inv.devices).items())),
        "links_by_kind": dict(sorted(Counter(link.kind.value for link in inv.links).items())),
        "provinces": [
            {
                "code": p.code,
                "name": names[p.code],
                "communes": communes.get(p.code, 0),
                "sangkats": sangkats.get(p.code, 0),
                "devices": devices.get(p.code, 0),
            }
            for p in sorted(inv.provinces, key=lambda p: int(p.code.split("-")[1]))
        ],
    }


def _group_name(prefix: str, value: str) -> str:
    return f"{prefix}_" + re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def _host_vars(inv: Inventory, device: Device, province: str | None) -> dict[str, Any]:
    platform = inv.platform(device)
    host: dict[str, Any] = {
        "ansible_host": str(device.mgmt),
        "govnet_role": device.role.value,
        "govnet_site": device.site,
        "govnet_platform": platform.value,
    }
    if platform is not Platform.LINUX:
        host["ansible_connection"] = "ansible.netcommon.network_cli"
        host["ansible_network_os"] = ANSIBLE_NETWORK_OS[platform]
    if province:
        host["govnet_province"] = province
    if device.tenant:
        host["govnet_tenant"] = device.tenant
    if device.loopback:
        host["govnet_loopback"] = str(device.loopback)
    return host


def ansible_inventory(inv: Inventory) -> dict[str, Any]:
    """An Ansible YAML inventory: every device under ``all``, grouped by role, province, tenant."""
    provinces_of = device_provinces(inv)
    hosts: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for device in inv.devices:
        province = provinces_of[device.name]
        hosts[device.name] = _host_vars(inv, device, province)
        memberships = [_group_name("role", device.role.value)]
        if province:
            memberships.append(_group_name("province", province))
        if device.tenant:
            memberships.append(_group_name("tenant", device.tenant))
        for group in memberships:
            groups.setdefault(group, {"hosts": {}})["hosts"][device.name] = None
    return {"all": {"hosts": hosts, "children": dict(sorted(groups.items()))}}
