"""Blast radius from the inventory alone: what a set of failed links, devices and sites
cuts off. Pure — no lab, no device, no clock.

The network is the inventory's link graph (devices as nodes, links as edges; parallel
links count). With the failed elements removed, for every device that had a path before:

- ``isolated`` — no path left to any data-centre device (NDC or DR: the devices at a
  data-centre site but the NMS, which hangs off the core like any site);
- ``degraded`` — still a path, but no longer two link-disjoint ones to the data centres
  (it had two before): one more failure would isolate it. Computed with bridges: all
  data-centre devices are contracted into one node, and a device has two disjoint paths
  to it exactly when no bridge separates them — linear in the size of the graph;
- ``tenants`` — each tenant service (inventory ``tenants[].services``) whose data centres
  — its own, and the DR when replicated — a device of that tenant can no longer reach;
- ``unmonitored`` — devices no NMS device can reach any more (the probes poll from there).

Failed devices (named, or at a named site) are listed as ``down``, not as isolated.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.errors import GovnetError
from controller.inventory.model import Device, Inventory, Role

if TYPE_CHECKING:  # networkx is imported where the maths runs: `govnet link …` never pays for it
    import networkx as nx

_DC = "\0datacentres"  # the contracted node that stands for every data-centre device


class ImpactError(GovnetError):
    """A failure names something the inventory does not have."""


@dataclass(frozen=True)
class Failure:
    links: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.links or self.devices or self.sites)


@dataclass(frozen=True, order=True)
class DeviceRef:
    name: str
    site: str
    province: str
    role: str
    tenant: str


@dataclass(frozen=True, order=True)
class TenantImpact:
    tenant: str
    service: str
    datacentres: tuple[str, ...]
    devices: tuple[str, ...]  # the tenant's devices that lost every one of them


@dataclass(frozen=True)
class Impact:
    failure: Failure
    down: tuple[DeviceRef, ...] = ()
    isolated: tuple[DeviceRef, ...] = ()
    degraded: tuple[DeviceRef, ...] = ()
    tenants: tuple[TenantImpact, ...] = ()
    unmonitored: tuple[DeviceRef, ...] = ()
    isolated_sites: tuple[str, ...] = field(default=())  # every device there down/isolated
    links_down: tuple[str, ...] = ()  # the failed links and every link of a failed device

    def names(self, section: str) -> list[str]:
        return [ref.name for ref in getattr(self, section)]


class Network:
    """The link graph of one inventory, built once, asked many failures."""

    def __init__(self, inv: Inventory) -> None:
        self.inv = inv
        self.devices = {d.name: d for d in inv.devices}
        self.links = {link.id: link for link in inv.links}
        self.dc_codes = {dc.code for dc in inv.datacentres}
        # A mission's IPsec tunnels join it to the data centre gateways they end on.
        gateways = {dc.code: dc.internet.device for dc in inv.datacentres if dc.internet}
        self.tunnels = [
            (mission.router, gateways[t.datacentre])
            for mission in inv.missions
            for t in mission.tunnels
            if t.datacentre in gateways
        ]
        self.province_of: dict[str, str] = {p.code: p.code for p in inv.provinces}
        self.province_of.update({c.code: c.province for c in inv.communes})
        self.province_of.update({dc.code: dc.province for dc in inv.datacentres})
        self.sites: dict[str, list[str]] = {}
        for device in inv.devices:
            self.sites.setdefault(device.site, []).append(device.name)
        # The data centres' own devices (gateways, firewalls, ToRs): not the NMS, which
        # may stand in a data centre but hangs off the core like any other site.
        self._dc = {d.name for d in inv.devices if d.site in self.dc_codes and d.role != Role.NMS}
        self._refs = {d.name: self._ref(d) for d in inv.devices}
        self._baseline = self._state(frozenset(), frozenset())

    def _ref(self, device: Device) -> DeviceRef:
        role = device.role.value if isinstance(device.role, Role) else str(device.role)
        province = self.province_of.get(device.site, "")
        return DeviceRef(device.name, device.site, province, role, device.tenant or "")

    def is_dc(self, name: str) -> bool:
        return name in self._dc

    # --- the graph maths -------------------------------------------------------------

    def _state(self, down: frozenset[str], cut: frozenset[str]) -> _State:
        import networkx as nx

        graph: nx.Graph[str] = nx.Graph()
        graph.add_nodes_from(n for n in self.devices if n not in down)
        contracted: nx.Graph[str] = nx.Graph()
        contracted.add_node(_DC)
        contracted.add_nodes_from(n for n in self.devices if n not in down and not self.is_dc(n))
        multiplicity: dict[tuple[str, str], int] = {}
        edges: list[tuple[str | None, str, str]] = [
            (link_id, link.a_device, link.b_device) for link_id, link in self.links.items()
        ]
        edges += [(None, a, b) for a, b in self.tunnels]
        for link_id, a, b in edges:
            if link_id in cut or a in down or b in down or a not in graph or b not in graph:
                continue
            graph.add_edge(a, b)
            ca, cb = (_DC if self.is_dc(a) else a), (_DC if self.is_dc(b) else b)
            if ca == cb:
                continue
            key = (ca, cb) if ca < cb else (cb, ca)
            multiplicity[key] = multiplicity.get(key, 0) + 1
            contracted.add_edge(ca, cb)
        component = {n: i for i, comp in enumerate(nx.connected_components(graph)) for n in comp}
        bridges = [
            e
            for e in nx.bridges(contracted)
            if multiplicity.get((e[0], e[1]) if e[0] < e[1] else (e[1], e[0]), 0) < 2
        ]
        contracted.remove_edges_from(bridges)
        two_edge = nx.node_connected_component(contracted, _DC)
        dc_components = {component[n] for n in graph if self.is_dc(n)}
        nms_components = {component[n] for n in graph if self.devices[n].role == Role.NMS}
        return _State(component, dc_components, frozenset(two_edge), nms_components)

    def impact(self, failure: Failure) -> Impact:
        self.check(failure)
        down = set(failure.devices)
        for site in failure.sites:
            down.update(self.sites[site])
        after = self._state(frozenset(down), frozenset(failure.links))
        before = self._baseline
        isolated, degraded, unmonitored = [], [], []
        for name in self.devices:
            if name in down:
                continue
            if before.reaches_dc(name) and not after.reaches_dc(name) and not self.is_dc(name):
                isolated.append(name)
            elif before.redundant(name) and not after.redundant(name) and after.reaches_dc(name):
                degraded.append(name)
            if before.monitored(name) and not after.monitored(name):
                unmonitored.append(name)
        links_down = sorted(
            link_id
            for link_id, link in self.links.items()
            if link_id in failure.links or link.a_device in down or link.b_device in down
        )
        gone = down | set(isolated)
        isolated_sites = sorted(
            site
            for site, names in self.sites.items()
            if gone.issuperset(names) and not down.issuperset(names)
        )
        return Impact(
            failure=failure,
            down=self._sorted(down),
            isolated=self._sorted(isolated),
            degraded=self._sorted(degraded),
            tenants=tuple(sorted(self._tenants(after, down))),
            unmonitored=self._sorted(unmonitored),
            isolated_sites=tuple(isolated_sites),
            links_down=tuple(links_down),
        )

    def _tenants(self, after: _State, down: set[str]) -> Iterable[TenantImpact]:
        dc_devices: dict[str, list[str]] = {}
        for name, device in self.devices.items():
            if name in self._dc and name not in down:
                dc_devices.setdefault(device.site, []).append(name)
        dr = [dc.code for dc in self.inv.datacentres if dc.role == "dr"]
        for tenant in self.inv.tenants:
            mine = [n for n, d in self.devices.items() if d.tenant == tenant.code and n not in down]
            for service in tenant.services:
                if service.datacentre is None:
                    continue
                where = [service.datacentre] + (dr if service.dr_replication else [])
                where = sorted(set(where))
                reach = {after.component.get(n) for dc in where for n in dc_devices.get(dc, [])}
                cut_off = sorted(n for n in mine if after.component.get(n) not in reach)
                if cut_off:
                    yield TenantImpact(tenant.code, service.name, tuple(where), tuple(cut_off))

    def _sorted(self, names: Iterable[str]) -> tuple[DeviceRef, ...]:
        return tuple(sorted((self._refs[n] for n in names), key=lambda r: r.name))

    # --- input ---------------------------------------------------------------------

    def check(self, failure: Failure) -> None:
        """Every named element exists (one located error listing all that do not)."""
        problems = []
        for option, names, known in (
            ("--link", failure.links, self.links),
            ("--device", failure.devices, self.devices),
            ("--site", failure.sites, self.sites),
        ):
            for name in names:
                if name not in known:
                    hint = difflib.get_close_matches(name, list(known), n=1)
                    tail = f" (did you mean {hint[0]}?)" if hint else ""
                    problems.append(f"{option} {name}: not in the inventory{tail}")
        if problems:
            raise ImpactError("; ".join(problems))


@dataclass(frozen=True)
class _State:
    component: dict[str, int]
    dc_components: set[int]
    two_edge: frozenset[str]  # devices with two link-disjoint paths to the data centres
    nms_components: set[int]

    def reaches_dc(self, name: str) -> bool:
        return self.component.get(name, -1) in self.dc_components

    def redundant(self, name: str) -> bool:
        return name in self.two_edge

    def monitored(self, name: str) -> bool:
        return self.component.get(name, -1) in self.nms_components


def impact(inv: Inventory, failure: Failure) -> Impact:
    return Network(inv).impact(failure)


def to_json(result: Impact) -> dict[str, object]:
    def refs(items: Sequence[DeviceRef]) -> list[dict[str, str]]:
        return [
            {"device": r.name, "site": r.site, "province": r.province, "role": r.role}
            | ({"tenant": r.tenant} if r.tenant else {})
            for r in items
        ]

    return {
        "failure": {
            "links": list(result.failure.links),
            "devices": list(result.failure.devices),
            "sites": list(result.failure.sites),
        },
        "down": refs(result.down),
        "isolated": refs(result.isolated),
        "isolated_sites": list(result.isolated_sites),
        "links_down": list(result.links_down),
        "degraded": refs(result.degraded),
        "tenants": [
            {
                "tenant": t.tenant,
                "service": t.service,
                "datacentres": list(t.datacentres),
                "devices": list(t.devices),
            }
            for t in result.tenants
        ],
        "unmonitored": refs(result.unmonitored),
    }
