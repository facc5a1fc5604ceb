"""What is taken in a data centre: rack units, power, VLANs, prefixes, ToR ports.

Pure views of a validated :class:`~controller.inventory.model.Inventory`, shared by the
planner (what is free for a new allocation) and the capacity report.

Conventions (documented in the hosting README section):

- a data centre's hosting prefixes come from the IPv4 pool named
  ``hosting-<code in lower case>`` (``hosting-ndc``, ``hosting-dr``) with ``use: hosting``;
  an inventory with a single hosting pool uses it for every data centre;
- its VLANs come from the VLAN range ``hosting-<code>`` if there is one, else ``hosting``;
  a VLAN is used once per data centre (by hosting or by a link of a device on that site);
- ToR ports are written ``<tor device>:<interface>``; a port is free when no link and no
  other allocation uses it (a link on ``eth3.100`` uses ``eth3``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network, summarize_address_range

from controller.hosting.errors import DoesNotFit
from controller.inventory.model import Datacentre, Inventory, Rack, Room, VlanRange

EPS = 1e-9


def natural_key(name: str) -> tuple[object, ...]:
    """``eth2`` before ``eth10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


@dataclass(frozen=True)
class RackUse:
    """One rack: where it is, what is taken, what is free."""

    datacentre: str
    room: Room
    rack: Rack
    order: int
    taken: tuple[tuple[int, int], ...]
    """(first_u, last_u) of each allocation, sorted."""
    power_used: float
    tor_free: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """ToR device → its free ports, in natural order."""

    @cached_property
    def free_runs(self) -> tuple[tuple[int, int], ...]:
        """(first_u, length) of each run of free units, bottom up."""
        runs = []
        nxt = 1
        for first, last in self.taken:
            if first > nxt:
                runs.append((nxt, first - nxt))
            nxt = max(nxt, last + 1)
        if nxt <= self.rack.height_u:
            runs.append((nxt, self.rack.height_u - nxt + 1))
        return tuple(runs)

    @property
    def units_used(self) -> int:
        return sum(last - first + 1 for first, last in self.taken)

    @property
    def units_free(self) -> int:
        return max(0, self.rack.height_u - self.units_used)

    @property
    def largest_run(self) -> int:
        return max((length for _, length in self.free_runs), default=0)

    @property
    def power_free(self) -> float:
        return self.rack.power_kw - self.power_used

    def ports_free(self) -> int:
        """Free ports on the rack's least free ToR (a server is cabled to every ToR)."""
        return min((len(p) for p in self.tor_free.values()), default=0)


@dataclass(frozen=True)
class RoomUse:
    datacentre: str
    room: Room
    power_used: float

    @property
    def power_free(self) -> float:
        return self.room.power_kw - self.power_used


@dataclass(frozen=True)
class DcUse:
    """A data centre's racks, rooms, VLANs and hosting pool, as taken now."""

    dc: Datacentre
    racks: tuple[RackUse, ...]
    rooms: dict[str, RoomUse]
    vlan_range_name: str
    vlan_range: VlanRange
    vlans_used: frozenset[int]
    pool_name: str
    pool: IPv4Network
    prefixes_used: tuple[IPv4Network, ...]
    """Prefixes inside the pool that are taken, sorted by address."""

    @property
    def vlans_free(self) -> int:
        r = self.vlan_range
        return (r.last - r.first + 1) - sum(1 for v in self.vlans_used if r.first <= v <= r.last)

    def free_vlans(self, count: int, preferred: list[int] | None = None) -> list[int]:
        """``count`` free VLANs: each preferred one if free, else the lowest free ones."""
        r = self.vlan_range
        chosen: list[int] = []
        taken = set(self.vlans_used)
        for vlan in preferred or []:
            if len(chosen) < count and r.first <= vlan <= r.last and vlan not in taken:
                chosen.append(vlan)
                taken.add(vlan)
        vlan = r.first
        while len(chosen) < count and vlan <= r.last:
            if vlan not in taken:
                chosen.append(vlan)
                taken.add(vlan)
            vlan += 1
        return chosen

    @cached_property
    def free_ranges(self) -> tuple[tuple[int, int], ...]:
        """Free address ranges of the pool, as (first, last) integers."""
        out = []
        nxt = int(self.pool.network_address)
        end = int(self.pool.broadcast_address)
        for net in self.prefixes_used:
            first, last = int(net.network_address), int(net.broadcast_address)
            if first > nxt:
                out.append((nxt, first - 1))
            nxt = max(nxt, last + 1)
        if nxt <= end:
            out.append((nxt, end))
        return tuple(out)

    def free_prefixes(self, prefix_len: int, count: int) -> list[IPv4Network]:
        """The first ``count`` free aligned blocks of that size (lowest addresses first)."""
        size = 1 << (32 - prefix_len)
        found: list[IPv4Network] = []
        for first, last in self.free_ranges:
            start = (first + size - 1) // size * size
            while start + size - 1 <= last and len(found) < count:
                found.append(IPv4Network((start, prefix_len)))
                start += size
            if len(found) == count:
                break
        return found

    def count_free_prefixes(self, prefix_len: int) -> int:
        size = 1 << (32 - prefix_len)
        total = 0
        for first, last in self.free_ranges:
            start = (first + size - 1) // size * size
            if start + size - 1 <= last:
                total += (last + 1 - start) // size
        return total

    def largest_free_block(self) -> int | None:
        """The prefix length of the largest free aligned block, or None when full."""
        best: int | None = None
        for first, last in self.free_ranges:
            for net in summarize_address_range(IPv4Address(first), IPv4Address(last)):
                if best is None or net.prefixlen < best:
                    best = net.prefixlen
        return best


# --- building the view ----------------------------------------------------------------


def hosting_pool(inv: Inventory, dc: Datacentre) -> tuple[str, IPv4Network]:
    """The IPv4 pool a data centre's hosting prefixes come from (see module docstring)."""
    pools = {n: p for n, p in inv.pools.ipv4.items() if p.use == "hosting"}
    name = f"hosting-{dc.code.lower()}"
    if name in pools:
        return name, pools[name].prefix
    if len(pools) == 1:
        (only,) = pools.items()
        return only[0], only[1].prefix
    known = ", ".join(sorted(pools)) or "none"
    raise DoesNotFit(
        f"no hosting pool for {dc.code}: add pools.ipv4.{name} with use: hosting "
        f"(hosting pools: {known})"
    )


def vlan_range(inv: Inventory, dc: Datacentre) -> tuple[str, VlanRange]:
    for name in (f"hosting-{dc.code.lower()}", "hosting"):
        if name in inv.pools.vlans:
            return name, inv.pools.vlans[name]
    raise DoesNotFit(f"no hosting VLAN range for {dc.code}: add pools.vlans.hosting")


def _overlapping(nets: list[IPv4Network], pool: IPv4Network) -> list[IPv4Network]:
    lo, hi = int(pool.network_address), int(pool.broadcast_address)
    return [n for n in nets if int(n.network_address) <= hi and int(n.broadcast_address) >= lo]


class NetworkUse:
    """What the links and devices take (ports, VLANs by site, prefixes). It does not change
    when allocations come and go, so a snapshot computes it once for many approvals."""

    def __init__(self, inv: Inventory) -> None:
        self.ports: set[str] = set()
        self.vlans: dict[str, set[int]] = defaultdict(set)
        self.prefixes: list[IPv4Network] = []
        site_of = {d.name: d.site for d in inv.devices}
        for link in inv.links:
            for device, iface in (
                (link.a_device, link.a_interface),
                (link.b_device, link.b_interface),
            ):
                self.ports.add(f"{device}:{iface}")
                parent, dot, vlan = iface.rpartition(".")
                if dot and vlan.isdigit():
                    self.ports.add(f"{device}:{parent}")
                if link.vlan is not None and device in site_of:
                    self.vlans[site_of[device]].add(link.vlan)
            self.prefixes.append(link.prefix)
        tors = {
            tor for dc in inv.datacentres for room in dc.rooms for r in room.racks for tor in r.tor
        }
        self.tor_ports: dict[str, tuple[str, ...]] = {
            d.name: tuple(
                sorted(
                    (i for i in d.interfaces if "." not in i and f"{d.name}:{i}" not in self.ports),
                    key=natural_key,
                )
            )
            for d in inv.devices
            if d.name in tors
        }
        """ToR device → the ports no link uses, in natural order."""
        self._in_pool: dict[IPv4Network, list[IPv4Network]] = {}

    def prefixes_in(self, pool: IPv4Network) -> list[IPv4Network]:
        if pool not in self._in_pool:
            self._in_pool[pool] = _overlapping(self.prefixes, pool)
        return self._in_pool[pool]


class Occupancy:
    """Per data centre use: the network's (links, devices) plus the allocations'."""

    def __init__(self, inv: Inventory, network: NetworkUse | None = None) -> None:
        self.inv = inv
        self.network = network or NetworkUse(inv)
        self._by_rack: dict[tuple[str, str], list[tuple[int, int, float]]] = defaultdict(list)
        self._prefixes: list[IPv4Network] = []
        self._vlans: dict[str, set[int]] = defaultdict(set)
        self._ports: set[str] = set()
        for alloc in inv.hosting:
            self._by_rack[(alloc.datacentre, alloc.rack)].append(
                (alloc.first_u, alloc.last_u, alloc.power_kw)
            )
            if alloc.prefix is not None:
                self._prefixes.append(alloc.prefix)
            if alloc.vlan is not None:
                self._vlans[alloc.datacentre].add(alloc.vlan)
            self._ports.update(alloc.tor_ports)
        self._cache: dict[str, DcUse] = {}

    def datacentre(self, code: str) -> DcUse:
        if code not in self._cache:
            dc = next((d for d in self.inv.datacentres if d.code == code), None)
            if dc is None:
                raise DoesNotFit(f"no data centre {code!r} in the inventory")
            self._cache[code] = self._build(dc)
        return self._cache[code]

    def _tor_free(self, rack: Rack) -> dict[str, tuple[str, ...]]:
        free = self.network.tor_ports
        return {
            tor: tuple(p for p in free.get(tor, ()) if f"{tor}:{p}" not in self._ports)
            for tor in rack.tor
        }

    def _build(self, dc: Datacentre) -> DcUse:
        racks: list[RackUse] = []
        rooms: dict[str, RoomUse] = {}
        order = 0
        for room in dc.rooms:
            room_power = 0.0
            for rack in room.racks:
                entries = self._by_rack.get((dc.code, rack.name), [])
                power = sum(p for _, _, p in entries)
                room_power += power
                taken = tuple(sorted((first, last) for first, last, _ in entries))
                racks.append(
                    RackUse(dc.code, room, rack, order, taken, power, self._tor_free(rack))
                )
                order += 1
            rooms[room.name] = RoomUse(dc.code, room, room_power)
        range_name, vrange = vlan_range(self.inv, dc)
        pool_name, pool = hosting_pool(self.inv, dc)
        inside = sorted(
            {*_overlapping(self._prefixes, pool), *self.network.prefixes_in(pool)},
            key=lambda n: int(n.network_address),
        )
        return DcUse(
            dc,
            tuple(racks),
            rooms,
            range_name,
            vrange,
            frozenset(self._vlans.get(dc.code, set()) | self.network.vlans.get(dc.code, set())),
            pool_name,
            pool,
            tuple(inside),
        )
