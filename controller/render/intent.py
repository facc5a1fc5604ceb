"""Inventory → per-device intent: what each device should be configured with.

Pure functions over the validated inventory. Templates (one set per platform)
turn an intent into configuration text; nothing here knows any CLI syntax.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Literal

from controller.inventory.model import Device, InternetEndpoint, Inventory, Link, Platform, Role
from controller.inventory.views import device_provinces

ROUTER_ROLES = frozenset(
    {
        Role.CORE,
        Role.DC_GATEWAY,
        Role.PROVINCE_ROUTER,
        Role.MINISTRY_ROUTER,
        Role.FIREWALL,
        Role.MISSION_ROUTER,
    }
)


@dataclass(frozen=True)
class InterfaceIntent:
    name: str
    description: str
    addresses: tuple[IPv4Interface, ...] = ()
    bandwidth_mbps: float | None = None
    vlan: int | None = None
    ospf_area: str | None = None
    ospf_passive: bool = False
    ospf_cost: int | None = None
    ospf_hello: int | None = None
    ospf_dead: int | None = None

    @property
    def parent(self) -> str | None:
        """``eth3`` for the sub-interface ``eth3.1001``."""
        parent, dot, tag = self.name.rpartition(".")
        return parent if dot and tag.isdigit() else None


@dataclass(frozen=True)
class StaticRoute:
    prefix: IPv4Network
    next_hop: IPv4Address
    description: str = ""


@dataclass(frozen=True)
class TunnelIntent:
    """One end of a mission's IPsec tunnel: the VXLAN overlay interface OSPF runs on,
    carried between two inner addresses inside an IKEv2/IPsec SA between the public
    endpoints (the mission initiates, the data centre responds)."""

    name: str  # the IKE connection name: <mission>-<datacentre>, lower case
    mission: str
    datacentre: str
    interface: str  # the VXLAN interface
    vni: int
    local_public: IPv4Address
    remote_public: IPv4Address
    local_inner: IPv4Address
    remote_inner: IPv4Address
    internet_interface: str
    gateway: IPv4Address  # the internet provider's next hop
    psk: str  # a secret reference (env:NAME / file:PATH), never the key
    initiator: bool
    peer: str  # the device at the other end


@dataclass(frozen=True)
class BgpNeighbor:
    address: IPv4Address
    remote_asn: int
    description: str = ""


@dataclass(frozen=True)
class DeviceIntent:
    """Everything a device's configuration is made of, platform-neutral."""

    name: str
    platform: Platform
    role: Role
    site: str
    province: str | None
    tenant: str | None
    loopback: IPv4Address | None
    interfaces: tuple[InterfaceIntent, ...]
    static_routes: tuple[StaticRoute, ...] = ()
    ospf: bool = False
    bgp_asn: int | None = None
    bgp_neighbors: tuple[BgpNeighbor, ...] = ()
    location: str = ""
    contact: str = "noc@mptc.gov.kh"
    syslog: tuple[IPv4Address, ...] = ()
    snmp_user: str | None = None
    discard_routes: tuple[IPv4Network, ...] = ()
    """Prefixes announced from this device and dropped unless a more specific route
    exists (a mission's local network)."""
    tunnels: tuple[TunnelIntent, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def router_id(self) -> IPv4Address | None:
        if self.loopback is not None:
            return self.loopback
        addresses = [a.ip for i in self.interfaces for a in i.addresses]
        return min(addresses) if addresses else None

    def with_interfaces(self, interfaces: tuple[InterfaceIntent, ...]) -> DeviceIntent:
        return replace(self, interfaces=interfaces)


def _describe(names: dict[str, str], link: Link, peer: Device, peer_if: str) -> str:
    """``Tonle Basak (120101) to cpe-120101 eth1``: what a link is, by tenant or site."""
    if link.description:
        text = link.description
    elif link.tenant:
        text = f"{link.tenant} {link.kind.value}"
    else:
        text = f"{names.get(peer.site, peer.site)} ({peer.site})"
    return f"{text} to {peer.name} {peer_if}"[:200]


def _site_names(inv: Inventory) -> dict[str, str]:
    names = {p.code: p.name for p in inv.provinces}
    names.update({c.code: c.name for c in inv.communes})
    names.update({d.code: d.name for d in inv.datacentres})
    return names


def build_intents(inv: Inventory) -> dict[str, DeviceIntent]:
    """Intent for every device of the inventory, keyed by device name."""
    provinces = device_provinces(inv)
    interfaces: dict[str, list[InterfaceIntent]] = defaultdict(list)
    statics: dict[str, list[StaticRoute]] = defaultdict(list)
    bgp_asn: dict[str, int] = {}
    neighbors: dict[str, list[BgpNeighbor]] = defaultdict(list)
    by_name = {d.name: d for d in inv.devices}
    names = _site_names(inv)
    for link in inv.links:
        sides = (
            (
                link.a_device,
                link.a_interface,
                link.a_address,
                link.b_device,
                link.b_interface,
                link.b_address,
            ),
            (
                link.b_device,
                link.b_interface,
                link.b_address,
                link.a_device,
                link.a_interface,
                link.a_address,
            ),
        )
        for index, (dev, iface, address, peer, peer_if, peer_address) in enumerate(sides):
            device = by_name[dev]
            ospf = link.routing.ospf
            router = device.role in ROUTER_ROLES
            static_router_side = link.routing.static and router and index == 0
            interfaces[dev].append(
                InterfaceIntent(
                    name=iface,
                    description=_describe(names, link, by_name[peer], peer_if),
                    addresses=(address,),
                    bandwidth_mbps=link.bandwidth,
                    vlan=link.vlan,
                    ospf_area=ospf.area_id
                    if ospf and router
                    else ("0.0.0.0" if static_router_side else None),
                    ospf_passive=static_router_side,
                    ospf_cost=ospf.cost if ospf else None,
                    ospf_hello=ospf.hello if ospf else None,
                    ospf_dead=ospf.dead if ospf else None,
                )
            )
            peer_device = by_name[peer]
            if link.routing.static:
                if router and index == 0 and peer_device.loopback is not None:
                    statics[dev].append(
                        StaticRoute(
                            IPv4Network(f"{peer_device.loopback}/32"),
                            peer_address.ip,
                            f"{peer} loopback",
                        )
                    )
                elif not router:
                    statics[dev].append(
                        StaticRoute(IPv4Network("0.0.0.0/0"), peer_address.ip, f"via {peer}")
                    )
            if link.routing.bgp is not None:
                own, remote = (
                    (link.routing.bgp.asn_a, link.routing.bgp.asn_b)
                    if index == 0
                    else (link.routing.bgp.asn_b, link.routing.bgp.asn_a)
                )
                bgp_asn[dev] = own
                neighbors[dev].append(BgpNeighbor(peer_address.ip, remote, f"{peer} {peer_if}"))
    tunnels, discards = _mission_tunnels(inv, interfaces)
    intents: dict[str, DeviceIntent] = {}
    for device in inv.devices:
        intent = _device_intent(
            inv, device, provinces.get(device.name), interfaces, statics, bgp_asn, neighbors, names
        )
        if device.name in tunnels or device.name in discards:
            intent = replace(
                intent,
                tunnels=tuple(tunnels.get(device.name, ())),
                discard_routes=tuple(discards.get(device.name, ())),
            )
        intents[device.name] = intent
    return intents


Side = Literal["datacentre", "mission"]
TUNNEL_OSPF_HELLO = 1
TUNNEL_OSPF_DEAD = 5
TUNNEL_COST = {"primary": 100, "dr": 200}  # missions prefer the NDC; the DR is the backup


def tunnel_interface(peer: str) -> str:
    """``vx-ndc`` on a mission, ``vx-fr-par`` on a data centre gateway (≤ 15 characters)."""
    return f"vx-{peer.lower()}"[:15]


def _mission_tunnels(
    inv: Inventory, interfaces: dict[str, list[InterfaceIntent]]
) -> tuple[dict[str, list[TunnelIntent]], dict[str, list[IPv4Network]]]:
    """Each mission's tunnels, both ends: the internet interfaces (public and inner
    addresses, no OSPF: nothing of the private network is routed across the internet in
    clear) and the VXLAN overlay interfaces OSPF runs on."""
    tunnels: dict[str, list[TunnelIntent]] = defaultdict(list)
    discards: dict[str, list[IPv4Network]] = defaultdict(list)
    dcs = {dc.code: dc for dc in inv.datacentres}
    inner: dict[str, list[IPv4Interface]] = defaultdict(list)
    for mission in inv.missions:
        m_ep = mission.internet
        discards[m_ep.device].append(mission.prefix)
        for tunnel in mission.tunnels:
            dc = dcs.get(tunnel.datacentre)
            if dc is None or dc.internet is None:
                continue
            d_ep = dc.internet
            name = f"{mission.code}-{dc.code}".lower()
            cost = tunnel.ospf_cost or TUNNEL_COST[dc.role]
            ends: tuple[tuple[InternetEndpoint, InternetEndpoint, Side, Side, str, bool], ...] = (
                (m_ep, d_ep, "mission", "datacentre", dc.code, True),
                (d_ep, m_ep, "datacentre", "mission", mission.code, False),
            )
            for ep, peer_ep, side, peer_side, peer_label, initiator in ends:
                iface = tunnel_interface(peer_label)
                interfaces[ep.device].append(
                    InterfaceIntent(
                        name=iface,
                        description=f"IPsec tunnel {name} to {peer_ep.device} (VXLAN {tunnel.vni})",
                        addresses=(tunnel.overlay(side),),
                        ospf_area="0.0.0.0",
                        ospf_cost=cost,
                        ospf_hello=TUNNEL_OSPF_HELLO,
                        ospf_dead=TUNNEL_OSPF_DEAD,
                    )
                )
                inner[ep.device].append(IPv4Interface(f"{tunnel.inner(side)}/32"))
                tunnels[ep.device].append(
                    TunnelIntent(
                        name=name,
                        mission=mission.code,
                        datacentre=dc.code,
                        interface=iface,
                        vni=tunnel.vni,
                        local_public=ep.address.ip,
                        remote_public=peer_ep.address.ip,
                        local_inner=tunnel.inner(side),
                        remote_inner=tunnel.inner(peer_side),
                        internet_interface=ep.interface,
                        gateway=ep.gateway,
                        psk=tunnel.psk,
                        initiator=initiator,
                        peer=peer_ep.device,
                    )
                )
    endpoints = [m.internet for m in inv.missions] + [
        dc.internet for dc in inv.datacentres if dc.internet is not None
    ]
    for ep in endpoints:
        interfaces[ep.device].append(
            InterfaceIntent(
                name=ep.interface,
                description=f"internet, via provider {ep.gateway}",
                addresses=(ep.address, *inner.get(ep.device, ())),
            )
        )
    return tunnels, discards


def _device_intent(
    inv: Inventory,
    device: Device,
    province: str | None,
    interfaces: dict[str, list[InterfaceIntent]],
    statics: dict[str, list[StaticRoute]],
    bgp_asn: dict[str, int],
    neighbors: dict[str, list[BgpNeighbor]],
    names: dict[str, str],
) -> DeviceIntent:
    ifs = tuple(sorted(interfaces.get(device.name, []), key=lambda i: _natural(i.name)))
    return DeviceIntent(
        name=device.name,
        platform=inv.platform(device),
        role=device.role,
        site=device.site,
        province=province,
        tenant=device.tenant,
        loopback=device.loopback,
        interfaces=ifs,
        static_routes=tuple(statics.get(device.name, [])),
        ospf=device.role in ROUTER_ROLES and any(i.ospf_area for i in ifs),
        bgp_asn=bgp_asn.get(device.name),
        bgp_neighbors=tuple(neighbors.get(device.name, [])),
        location=names.get(device.site, device.site),
        contact=inv.network.contact,
        syslog=tuple(inv.network.syslog),
        snmp_user=_snmp_user(inv, device),
    )


def _snmp_user(inv: Inventory, device: Device) -> str | None:
    name = inv.resolved(device, "snmp_profile")
    profile = inv.credentials.snmp.get(name) if name else None
    return profile.user if profile is not None and profile.version == "3" else None


def _natural(name: str) -> tuple[object, ...]:
    """Sort eth2 before eth10, and eth3 before eth3.1000."""
    parts: list[object] = []
    number = ""
    text = ""
    for char in name:
        if char.isdigit():
            if text:
                parts.append(text)
                text = ""
            number += char
        else:
            if number:
                parts.append(int(number))
                number = ""
            text += char
    if number:
        parts.append(int(number))
    if text:
        parts.append(text)
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in parts)
