"""Pure: the inventory → Prometheus text series the alert rules and the console join on.

``govnet_device_info{device, site, province, tenant, role} 1`` — where a device is.
``govnet_link_info{device, ifname, link, link_kind, peer, province, site, tenant} 1`` —
one series per link end; province/site/tenant are the *served* end's: the end further
from the core (a province router for a province uplink, the commune for an access
link), so an alert on a cut uplink carries the province it cuts off.
``govnet_link_bandwidth_bytes_per_second{device, ifname, link}`` — the link's inventory
bandwidth at each end: the capacity saturation is measured against.
"""

from __future__ import annotations

from collections.abc import Iterable

from controller.inventory.model import ROLE_TIER, Device, Inventory, Link
from controller.inventory.views import device_provinces

# Further from the core = higher tier (the same order as the probes' parent DAG).
NONE = "none"


def escape_label_value(value: str) -> str:
    """Text exposition format: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _series(name: str, labels: dict[str, str]) -> str:
    body = ",".join(f'{key}="{escape_label_value(value)}"' for key, value in labels.items())
    return f"{name}{{{body}}} 1"


def served_end(link: Link, devices: dict[str, Device]) -> Device | None:
    """The end of the link further from the core (ties: the b end)."""
    a, b = devices.get(link.a_device), devices.get(link.b_device)
    if a is None or b is None:
        return a or b
    return a if ROLE_TIER.get(a.role, 9) > ROLE_TIER.get(b.role, 9) else b


def device_info(inv: Inventory) -> Iterable[str]:
    provinces = device_provinces(inv)
    for device in inv.devices:
        yield _series(
            "govnet_device_info",
            {
                "device": device.name,
                "site": device.site,
                "province": provinces.get(device.name) or "unknown",
                "tenant": device.tenant or NONE,
                "role": device.role.value,
            },
        )


def link_info(inv: Inventory) -> Iterable[str]:
    devices = {d.name: d for d in inv.devices}
    provinces = device_provinces(inv)
    for link in inv.links:
        served = served_end(link, devices)
        if served is None:
            continue
        served_labels = {
            "province": provinces.get(served.name) or "unknown",
            "site": served.site,
            "tenant": link.tenant or served.tenant or NONE,
        }
        for device, ifname, peer in (
            (link.a_device, link.a_interface, link.b_device),
            (link.b_device, link.b_interface, link.a_device),
        ):
            yield _series(
                "govnet_link_info",
                {
                    "device": device,
                    "ifname": ifname,
                    "link": link.id,
                    "link_kind": link.kind.value,
                    "peer": peer,
                    **served_labels,
                },
            )


def link_bandwidth(inv: Inventory) -> Iterable[str]:
    for link in inv.links:
        value = link.bandwidth * 1_000_000 / 8
        ends = ((link.a_device, link.a_interface), (link.b_device, link.b_interface))
        for device, ifname in ends:
            series = _series(
                "govnet_link_bandwidth_bytes_per_second",
                {"device": device, "ifname": ifname, "link": link.id},
            )
            yield f"{series[:-2]} {value:g}"


def inventory_textfile(inv: Inventory) -> str:
    """The whole textfile: HELP/TYPE headers and one line per series."""
    lines = [
        "# HELP govnet_device_info Where a device is, from the inventory (always 1).",
        "# TYPE govnet_device_info gauge",
        *device_info(inv),
        "# HELP govnet_link_info One end of an inventory link, with the province, site and"
        " tenant of the end it serves (always 1).",
        "# TYPE govnet_link_info gauge",
        *link_info(inv),
        "# HELP govnet_link_bandwidth_bytes_per_second The link's bandwidth in the inventory.",
        "# TYPE govnet_link_bandwidth_bytes_per_second gauge",
        *link_bandwidth(inv),
    ]
    return "\n".join(lines) + "\n"
