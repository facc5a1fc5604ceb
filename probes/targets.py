"""Probe targets from the inventory, and their upstream parents (pure).

Every device except the NMS is a target: routers, gateways, switches, firewalls and the
CPEs of the commune sites. ICMP goes to the loopback (what the routing plane must
reach), SNMP to the management address.

Parents come from a rooted DAG over the link graph. The roots are the core routers (or,
in an inventory without any, the devices the NMS is attached to). Each device gets a
*level*: its BFS distance from the roots. A device's parents are its neighbours that are
closer to the core: one level closer, or on the same level but of a more central role
(a DC gateway is upstream of a province router). Ranks ``(level, tier)`` strictly
decrease along every parent edge, so the graph is acyclic. In the lab, pr-kh17 (linked
to core-1 and to dr-1, both one hop from the core) has two parents: core-1 and dr-1.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable

from controller.inventory.model import ROLE_TIER, Device, Inventory, Role
from controller.inventory.views import device_provinces
from probes.model import Target

EXCLUDED_ROLES = frozenset({Role.NMS})


def adjacency(inv: Inventory) -> dict[str, set[str]]:
    """Device → its neighbours over the inventory's links (undirected)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for link in inv.links:
        a, b = link.a_device, link.b_device
        if a != b:
            graph[a].add(b)
            graph[b].add(a)
    # a mission hangs off the data centre gateways its IPsec tunnels end on
    gateways = {dc.code: dc.internet.device for dc in inv.datacentres if dc.internet}
    for mission in inv.missions:
        for tunnel in mission.tunnels:
            if tunnel.datacentre in gateways:
                graph[mission.router].add(gateways[tunnel.datacentre])
                graph[gateways[tunnel.datacentre]].add(mission.router)
    return graph


def roots(inv: Inventory, graph: dict[str, set[str]]) -> list[str]:
    """The core routers; without any, the devices the NMS hangs off."""
    core = sorted(d.name for d in inv.devices if d.role is Role.CORE)
    if core:
        return core
    nms = {d.name for d in inv.devices if d.role in EXCLUDED_ROLES}
    return sorted({n for name in nms for n in graph.get(name, ()) if n not in nms})


def levels(start: Iterable[str], graph: dict[str, set[str]], skip: set[str]) -> dict[str, int]:
    """BFS distance from ``start`` over ``graph``, never entering ``skip``."""
    level: dict[str, int] = {}
    queue: deque[str] = deque()
    for name in start:
        if name not in level and name not in skip:
            level[name] = 0
            queue.append(name)
    while queue:
        name = queue.popleft()
        for neighbour in sorted(graph.get(name, ())):
            if neighbour not in level and neighbour not in skip:
                level[neighbour] = level[name] + 1
                queue.append(neighbour)
    return level


def parents_of(
    name: str, graph: dict[str, set[str]], level: dict[str, int], tier: dict[str, int]
) -> tuple[str, ...]:
    if name not in level:
        return ()
    rank = (level[name], tier[name])
    found = [
        n
        for n in graph.get(name, ())
        if n in level and level[n] >= level[name] - 1 and (level[n], tier[n]) < rank
    ]
    return tuple(sorted(found))


def _target(
    inv: Inventory,
    device: Device,
    province: str | None,
    parents: tuple[str, ...],
    level: int,
) -> Target:
    profile_name = inv.resolved(device, "snmp_profile")
    profile = inv.credentials.snmp.get(profile_name) if profile_name else None
    mgmt = str(device.mgmt)
    return Target(
        name=device.name,
        role=device.role.value,
        site=device.site,
        province=province or "",
        tenant=device.tenant or "",
        icmp_address=str(device.loopback) if device.loopback else mgmt,
        snmp_address=mgmt,
        snmp_profile_name=profile_name,
        snmp_profile=profile,
        parents=parents,
        level=level,
    )


def build_targets(inv: Inventory) -> list[Target]:
    """Every device but the NMS, ordered root-first (level, then name)."""
    graph = adjacency(inv)
    skip = {d.name for d in inv.devices if d.role in EXCLUDED_ROLES}
    level = levels(roots(inv, graph), graph, skip)
    tier = {d.name: ROLE_TIER.get(d.role, 9) for d in inv.devices}
    provinces = device_provinces(inv)
    targets = [
        _target(
            inv,
            device,
            provinces.get(device.name),
            parents_of(device.name, graph, level, tier),
            level.get(device.name, -1),
        )
        for device in inv.devices
        if device.role not in EXCLUDED_ROLES
    ]
    return sorted(targets, key=lambda t: (t.level if t.level >= 0 else 1 << 30, t.name))


def tunnel_targets(inv: Inventory) -> list[Target]:
    """One ICMP target per mission tunnel: the mission's overlay address on it, which the
    NMS reaches only through that tunnel (the data centre end holds the connected /31).
    Named ``<mission>-<datacentre>`` in lower case, like the IKE connection; role
    ``tunnel``, site the mission, province the data centre."""
    out: list[Target] = []
    for mission in inv.missions:
        for tunnel in mission.tunnels:
            out.append(
                Target(
                    name=f"{mission.code}-{tunnel.datacentre}".lower(),
                    role="tunnel",
                    site=mission.code,
                    province=tunnel.datacentre,
                    tenant="",
                    icmp_address=str(tunnel.overlay("mission").ip),
                    snmp_address="",
                    snmp_profile_name=None,
                    snmp_profile=None,
                )
            )
    return out


def ancestors(targets: Iterable[Target], by_name: dict[str, Target]) -> set[str]:
    """Every target upstream of ``targets`` (not including them)."""
    seen: set[str] = set()
    stack = [p for t in targets for p in t.parents]
    while stack:
        name = stack.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        stack.extend(by_name[name].parents)
    return seen
