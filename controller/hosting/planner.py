"""Allocation planning: a request + the inventory → new hosting allocations. Pure.

A request for *k* VLANs becomes *k* adjacent allocations in one rack (the inventory
carries one VLAN and one prefix per allocation): the request's units, servers (ToR ports)
and power are shared among them as evenly as possible. With ``site: both`` every NDC
allocation gets a DR mirror (``mirror_of``) of the same size, on the same VLAN number when
it is free at DR, with its own prefix from the DR pool.

Placement: among the racks with a run of free units long enough, power headroom in the
rack *and* its room, and enough free ports on every ToR, the tightest run wins (best fit,
then rack order), lowest units first. When nothing fits, :class:`DoesNotFit` says what is
short and by how much, naming the closest rack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network

from controller.hosting.errors import DoesNotFit
from controller.hosting.occupancy import EPS, DcUse, Occupancy, RackUse
from controller.hosting.request import HostingRequest, Site, site_datacentres
from controller.inventory.model import Hosting, Inventory

ID_PATTERN = re.compile(r"^h-(\d+)$")


@dataclass(frozen=True)
class Placement:
    """Where one data centre's share of a request goes."""

    datacentre: str
    rack: RackUse
    first_u: int
    units: list[int]
    power: list[float]
    ports: list[list[str]]
    vlans: list[int]
    prefixes: list[IPv4Network]


def split_evenly(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def split_power(total: float, parts: int) -> list[float]:
    share = round(total / parts, 3)
    out = [share] * (parts - 1)
    out.append(round(total - sum(out), 3))
    return out


def next_ids(existing: Iterable[str], count: int, floor: int = 0) -> list[str]:
    """``count`` new allocation ids after the highest ``h-NNNN`` seen (and ``floor``)."""
    top = floor
    for ident in existing:
        match = ID_PATTERN.match(ident)
        if match:
            top = max(top, int(match.group(1)))
    return [f"h-{n:04d}" for n in range(top + 1, top + 1 + count)]


def _kw(value: float) -> str:
    return f"{value:.1f} kW"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- racks ----------------------------------------------------------------------------


def _headroom(use: DcUse, rack: RackUse) -> float:
    return min(rack.power_free, use.rooms[rack.room.name].power_free)


def choose_rack(use: DcUse, units: int, power_kw: float, servers: int) -> tuple[RackUse, int]:
    """The rack and first unit for ``units`` contiguous U, or :class:`DoesNotFit`."""
    best: tuple[tuple[int, int], RackUse, int] | None = None
    for rack in use.racks:
        if _headroom(use, rack) + EPS < power_kw:
            continue
        if rack.tor_free and rack.ports_free() < servers:
            continue
        for first, length in rack.free_runs:
            if length >= units:
                key = (length, rack.order)
                if best is None or key < best[0]:
                    best = (key, rack, first)
    if best is None:
        raise DoesNotFit(_rack_shortage(use, units, power_kw, servers))
    return best[1], best[2]


def _rack_shortage(use: DcUse, units: int, power_kw: float, servers: int) -> str:
    code = use.dc.code
    if not use.racks:
        return f"{code} has no racks in the inventory"
    cabled = any(r.tor_free for r in use.racks)

    def closeness(rack: RackUse) -> tuple[float, float, int]:
        ratios = [min(1.0, rack.largest_run / units), min(1.0, _headroom(use, rack) / power_kw)]
        if cabled:
            ratios.append(min(1.0, rack.ports_free() / servers) if rack.tor_free else 0.0)
        return (min(ratios), sum(ratios), -rack.order)

    best = max(use.racks, key=closeness)
    head = _headroom(use, best)
    want = f"{units} contiguous free U with {_kw(power_kw)} headroom"
    have = f"{best.largest_run} U free and {_kw(max(0.0, head))} headroom"
    if cabled:
        want = (
            f"{units} contiguous free U, {_kw(power_kw)} headroom and "
            f"{_plural(servers, 'free ToR port')}"
        )
        have = (
            f"{best.largest_run} U free, {_kw(max(0.0, head))} headroom and "
            f"{_plural(best.ports_free(), 'free ToR port')}"
        )
    if best.largest_run < best.units_free:
        have += f" ({best.units_free} U free in all, not contiguous)"
    room = use.rooms[best.room.name]
    if room.power_free + EPS < best.power_free and room.power_free + EPS < power_kw:
        have += (
            f"; room {room.room.name} has {_kw(max(0.0, room.power_free))} left "
            f"of its {room.room.power_kw:g} kW"
        )
    return f"no rack in {code} has {want}: best is {best.rack.name} with {have}"


# --- VLANs and prefixes ---------------------------------------------------------------


def choose_vlans(use: DcUse, count: int, preferred: list[int] | None = None) -> list[int]:
    vlans = use.free_vlans(count, preferred)
    if len(vlans) < count:
        r = use.vlan_range
        left = "no free VLAN" if not vlans else f"only {_plural(len(vlans), 'free VLAN')}"
        raise DoesNotFit(
            f"hosting VLAN range {use.vlan_range_name} ({r.first}-{r.last}) has {left} "
            f"left in {use.dc.code}, {count} needed"
        )
    return vlans


def choose_prefixes(use: DcUse, prefix_len: int, count: int) -> list[IPv4Network]:
    pool = f"hosting pool {use.pool_name} ({use.pool})"
    if prefix_len < use.pool.prefixlen:
        raise DoesNotFit(f"a /{prefix_len} is larger than the whole {pool}")
    found = use.free_prefixes(prefix_len, count)
    if len(found) < count:
        largest = use.largest_free_block()
        biggest = f"largest free block /{largest}" if largest is not None else "no address free"
        if not found:
            raise DoesNotFit(
                f"hosting pool {use.pool_name} has no free /{prefix_len} left ({biggest})"
            )
        raise DoesNotFit(
            f"hosting pool {use.pool_name} has only {len(found)} free /{prefix_len} left, "
            f"{count} needed ({biggest})"
        )
    return found


# --- the plan -------------------------------------------------------------------------


def place(
    use: DcUse, request: HostingRequest, preferred_vlans: list[int] | None = None
) -> Placement:
    """One data centre's share: a rack, its units, VLANs, prefixes and ToR ports."""
    k = request.vlans
    rack, first_u = choose_rack(use, request.units, request.power_kw, request.servers)
    vlans = choose_vlans(use, k, preferred_vlans)
    prefixes = choose_prefixes(use, request.prefix_len, k)
    servers = split_evenly(request.servers, k)
    ports: list[list[str]] = [[] for _ in range(k)]
    for tor, free in sorted(rack.tor_free.items()):
        cursor = 0
        for i, n in enumerate(servers):
            ports[i].extend(f"{tor}:{p}" for p in free[cursor : cursor + n])
            cursor += n
    return Placement(
        use.dc.code,
        rack,
        first_u,
        split_evenly(request.units, k),
        split_power(request.power_kw, k),
        ports,
        vlans,
        prefixes,
    )


def _entries(
    request: HostingRequest, placement: Placement, ids: list[str], mirrors: list[str] | None
) -> list[Hosting]:
    out = []
    first_u = placement.first_u
    for i, ident in enumerate(ids):
        out.append(
            Hosting(
                id=ident,
                tenant=request.tenant,
                service=request.service,
                datacentre=placement.datacentre,
                rack=placement.rack.rack.name,
                first_u=first_u,
                units=placement.units[i],
                power_kw=placement.power[i],
                vlan=placement.vlans[i],
                prefix=placement.prefixes[i],
                tor_ports=placement.ports[i],
                mirror_of=mirrors[i] if mirrors else None,
            )
        )
        first_u += placement.units[i]
    return out


def plan_allocation(
    inv: Inventory,
    request: HostingRequest,
    *,
    id_floor: int = 0,
    occupancy: Occupancy | None = None,
) -> list[Hosting]:
    """The new allocations for ``request`` (primary first, then DR mirrors).

    ``id_floor``: the highest allocation number ever used (ids are never reused, even
    after a decommission removed the allocation from the inventory).
    Raises :class:`DoesNotFit` naming what is short.
    """
    use = occupancy or Occupancy(inv)
    dcs = site_datacentres(inv, request.site)
    if len(dcs) < (2 if request.site is Site.BOTH else 1):
        raise DoesNotFit(f"the inventory has no data centre for site {request.site.value}")
    k = request.vlans
    ids = next_ids((h.id for h in inv.hosting), k * len(dcs), id_floor)
    primary = place(use.datacentre(dcs[0].code), request)
    entries = _entries(request, primary, ids[:k], None)
    if request.site is Site.BOTH:
        mirror = place(use.datacentre(dcs[1].code), request, preferred_vlans=primary.vlans)
        entries += _entries(request, mirror, ids[k:], [e.id for e in entries])
    return entries
