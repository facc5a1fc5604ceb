"""Cross checks over the whole inventory: references, uniqueness, addressing, capacity.

Each check is a pure function ``(Built) -> list[Problem]``; :data:`CHECKS` lists
them in the order their problems are most useful to read. Checks skip references
to items that failed to build (their problem is already reported).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from ipaddress import IPv4Address, IPv4Network
from itertools import pairwise
from typing import TypeVar

from controller.errors import Problem
from controller.inventory import model as m
from controller.inventory.build import Built
from controller.inventory.views import device_provinces

Check = Callable[[Built], list[Problem]]
MIN_RETENTION_DAYS = 400
T = TypeVar("T")


def _p(
    built: Built, section: str, index: int, label: str, path: tuple[str | int, ...], msg: str
) -> Problem:
    file, line = built.where(section, index, *path)
    return Problem(file, line, label, msg)


def _at(built: Built, section: str, index: int) -> str:
    file, line = built.where(section, index)
    return f"{file}:{line}"


# --- uniqueness --------------------------------------------------------------------


def _duplicates(
    built: Built, section: str, keys: Iterable[tuple[int, str]], what: str, field: str
) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for index, key in keys:
        if key in seen:
            first = _at(built, section, seen[key])
            yield _p(
                built,
                section,
                index,
                f"{section}[{key}].{field}",
                (field,),
                f"duplicate {what} (first at {first})",
            )
        else:
            seen[key] = index


def check_unique_names(built: Built) -> list[Problem]:
    inv = built.inventory
    out: list[Problem] = []
    out += _duplicates(
        built,
        "provinces",
        ((i, p.code) for i, p in enumerate(inv.provinces)),
        "province code",
        "code",
    )
    out += _duplicates(
        built,
        "provinces",
        ((i, p.name) for i, p in enumerate(inv.provinces)),
        "province name",
        "name",
    )
    out += _duplicates(
        built, "communes", ((i, c.code) for i, c in enumerate(inv.communes)), "commune code", "code"
    )
    out += _duplicates(
        built, "tenants", ((i, t.code) for i, t in enumerate(inv.tenants)), "tenant code", "code"
    )
    out += _duplicates(
        built,
        "datacentres",
        ((i, d.code) for i, d in enumerate(inv.datacentres)),
        "data centre code",
        "code",
    )
    out += _duplicates(
        built, "devices", ((i, d.name) for i, d in enumerate(inv.devices)), "device name", "name"
    )
    out += _duplicates(
        built,
        "links",
        ((i, k.name) for i, k in enumerate(inv.links) if k.name),
        "link name",
        "name",
    )
    out += _duplicates(
        built, "hosting", ((i, h.id) for i, h in enumerate(inv.hosting)), "hosting id", "id"
    )
    for t_index, tenant in enumerate(inv.tenants):
        seen: dict[str, int] = {}
        for s_index, service in enumerate(tenant.services):
            if service.name in seen:
                out.append(
                    _p(
                        built,
                        "tenants",
                        t_index,
                        f"tenants[{tenant.code}].services[{s_index}].name",
                        ("services", s_index, "name"),
                        f"duplicate service name {service.name!r} in {tenant.code}",
                    )
                )
            seen[service.name] = s_index
    for d_index, dc in enumerate(inv.datacentres):
        racks: dict[str, str] = {}
        for r_index, room in enumerate(dc.rooms):
            for k_index, rack in enumerate(room.racks):
                if rack.name in racks:
                    out.append(
                        _p(
                            built,
                            "datacentres",
                            d_index,
                            f"datacentres[{dc.code}].rooms[{room.name}].racks[{rack.name}].name",
                            ("rooms", r_index, "racks", k_index, "name"),
                            f"duplicate rack name in {dc.code} (also in room {racks[rack.name]})",
                        )
                    )
                racks[rack.name] = room.name
    return out


# --- references ----------------------------------------------------------------------


def check_references(built: Built) -> list[Problem]:
    inv = built.inventory
    out: list[Problem] = []
    provinces = {p.code for p in inv.provinces}
    communes = {c.code for c in inv.communes}
    tenants = _first_by(inv.tenants, lambda t: t.code)
    dcs = _first_by(inv.datacentres, lambda d: d.code)
    devices = _first_by(inv.devices, lambda d: d.name)
    sites = provinces | communes | set(dcs) | {mission.code for mission in inv.missions}

    def missing(section: str, name: str) -> bool:
        return not built.is_broken(section, name) and "*" not in built.broken.get(section, set())

    for i, commune in enumerate(inv.communes):
        if commune.province not in provinces and missing("provinces", commune.province):
            out.append(
                _p(
                    built,
                    "communes",
                    i,
                    f"communes[{commune.code}].province",
                    ("province",),
                    f"unknown province {commune.province!r}",
                )
            )
    for i, dc in enumerate(inv.datacentres):
        if dc.province not in provinces and missing("provinces", dc.province):
            out.append(
                _p(
                    built,
                    "datacentres",
                    i,
                    f"datacentres[{dc.code}].province",
                    ("province",),
                    f"unknown province {dc.province!r}",
                )
            )
        for r, room in enumerate(dc.rooms):
            for k, rack in enumerate(room.racks):
                for t, tor in enumerate(rack.tor):
                    if tor not in devices and missing("devices", tor):
                        out.append(
                            _p(
                                built,
                                "datacentres",
                                i,
                                f"datacentres[{dc.code}].racks[{rack.name}].tor",
                                ("rooms", r, "racks", k, "tor", t),
                                f"unknown device {tor!r}",
                            )
                        )
    for i, tenant in enumerate(inv.tenants):
        for s, service in enumerate(tenant.services):
            if (
                service.datacentre
                and service.datacentre not in dcs
                and missing("datacentres", service.datacentre)
            ):
                out.append(
                    _p(
                        built,
                        "tenants",
                        i,
                        f"tenants[{tenant.code}].services[{service.name}].datacentre",
                        ("services", s, "datacentre"),
                        f"unknown data centre {service.datacentre!r}",
                    )
                )
    for i, device in enumerate(inv.devices):
        label = f"devices[{device.name}]"
        if device.site not in sites and not any(
            built.is_broken(s, device.site) for s in ("provinces", "communes", "datacentres")
        ):
            out.append(
                _p(
                    built,
                    "devices",
                    i,
                    f"{label}.site",
                    ("site",),
                    f"unknown site {device.site!r} (not a province, commune, data centre or"
                    " mission)",
                )
            )
        if device.tenant and device.tenant not in tenants and missing("tenants", device.tenant):
            out.append(
                _p(
                    built,
                    "devices",
                    i,
                    f"{label}.tenant",
                    ("tenant",),
                    f"unknown tenant {device.tenant!r}",
                )
            )
        for g, group in enumerate(device.groups):
            if group not in inv.groups and "groups" not in built.failed_sections:
                out.append(
                    _p(
                        built,
                        "devices",
                        i,
                        f"{label}.groups",
                        ("groups", g),
                        f"unknown group {group!r}",
                    )
                )
        out += _device_settings(built, i, device)
    for i, link in enumerate(inv.links):
        for side in ("a", "b"):
            name, iface = getattr(link, side).split(":", 1)
            where = f"links[{link.id}].{side}"
            end = devices.get(name)
            if end is None:
                if missing("devices", name):
                    out.append(_p(built, "links", i, where, (side,), f"unknown device {name!r}"))
            elif not _has_interface(end, iface):
                out.append(
                    _p(
                        built,
                        "links",
                        i,
                        where,
                        (side,),
                        f"device {name!r} has no interface {iface!r}",
                    )
                )
        if link.tenant and link.tenant not in tenants and missing("tenants", link.tenant):
            out.append(
                _p(
                    built,
                    "links",
                    i,
                    f"links[{link.id}].tenant",
                    ("tenant",),
                    f"unknown tenant {link.tenant!r}",
                )
            )
    hosting_ids = {h.id for h in inv.hosting}
    for i, alloc in enumerate(inv.hosting):
        label = f"hosting[{alloc.id}]"
        owner = tenants.get(alloc.tenant)
        if owner is None:
            if missing("tenants", alloc.tenant):
                out.append(
                    _p(
                        built,
                        "hosting",
                        i,
                        f"{label}.tenant",
                        ("tenant",),
                        f"unknown tenant {alloc.tenant!r}",
                    )
                )
        elif alloc.service not in {s.name for s in owner.services}:
            out.append(
                _p(
                    built,
                    "hosting",
                    i,
                    f"{label}.service",
                    ("service",),
                    f"{alloc.tenant} has no service {alloc.service!r}",
                )
            )
        place = dcs.get(alloc.datacentre)
        if place is None:
            if missing("datacentres", alloc.datacentre):
                out.append(
                    _p(
                        built,
                        "hosting",
                        i,
                        f"{label}.datacentre",
                        ("datacentre",),
                        f"unknown data centre {alloc.datacentre!r}",
                    )
                )
        elif _rack(place, alloc.rack) is None:
            out.append(
                _p(
                    built,
                    "hosting",
                    i,
                    f"{label}.rack",
                    ("rack",),
                    f"no rack {alloc.rack!r} in {place.code}",
                )
            )
        if (
            alloc.mirror_of
            and alloc.mirror_of not in hosting_ids
            and missing("hosting", alloc.mirror_of)
        ):
            out.append(
                _p(
                    built,
                    "hosting",
                    i,
                    f"{label}.mirror_of",
                    ("mirror_of",),
                    f"unknown hosting allocation {alloc.mirror_of!r}",
                )
            )
    return out


def _first_by(items: Iterable[T], key: Callable[[T], str]) -> dict[str, T]:
    """Index items by key; the first of duplicates wins (duplicates are reported elsewhere)."""
    index: dict[str, T] = {}
    for item in items:
        index.setdefault(key(item), item)
    return index


def _device_settings(built: Built, index: int, device: m.Device) -> list[Problem]:
    inv = built.inventory
    out: list[Problem] = []
    label = f"devices[{device.name}]"
    sources = "not set on the device, its groups or defaults"
    if inv.resolved(device, "platform") is None:
        out.append(_p(built, "devices", index, f"{label}.platform", (), sources))
    checks = (
        ("snmp_profile", inv.credentials.snmp, "SNMP profile"),
        ("ssh_credential", inv.credentials.ssh, "SSH credential"),
    )
    for field, known, what in checks:
        value = inv.resolved(device, field)  # type: ignore[arg-type]
        if value is None:
            out.append(_p(built, "devices", index, f"{label}.{field}", (), sources))
        elif value not in known and "credentials" not in built.failed_sections:
            path: tuple[str, ...] = (field,) if getattr(device, field) is not None else ()
            out.append(
                _p(built, "devices", index, f"{label}.{field}", path, f"unknown {what} {value!r}")
            )
    return out


def _has_interface(device: m.Device, iface: str) -> bool:
    """Declared, or a VLAN sub-interface (``eth2.101``) of a declared one."""
    if iface in device.interfaces:
        return True
    parent, dot, vlan = iface.rpartition(".")
    return bool(dot) and vlan.isdigit() and parent in device.interfaces


def _rack(dc: m.Datacentre, name: str) -> tuple[m.Room, m.Rack] | None:
    for room in dc.rooms:
        for rack in room.racks:
            if rack.name == name:
                return room, rack
    return None


# --- interfaces ----------------------------------------------------------------------


def check_interface_use(built: Built) -> list[Problem]:
    out: list[Problem] = []
    used: dict[str, int] = {}
    for i, link in enumerate(built.inventory.links):
        for side in ("a", "b"):
            endpoint: str = getattr(link, side)
            if endpoint in used:
                other = built.inventory.links[used[endpoint]]
                out.append(
                    _p(
                        built,
                        "links",
                        i,
                        f"links[{link.id}].{side}",
                        (side,),
                        f"interface {endpoint} already used by link {other.id} "
                        f"({_at(built, 'links', used[endpoint])})",
                    )
                )
            else:
                used[endpoint] = i
    return out


# --- addressing ----------------------------------------------------------------------


def check_addresses(built: Built) -> list[Problem]:
    """An address belongs to one device; a loopback is not inside a link prefix."""
    out: list[Problem] = []
    owner: dict[IPv4Address, tuple[str, int, str]] = {}
    for i, device in enumerate(built.inventory.devices):
        for field in ("mgmt", "loopback"):
            address = getattr(device, field)
            if address is None:
                continue
            seen = owner.get(address)
            if seen is not None and seen[0] != device.name:
                out.append(
                    _p(
                        built,
                        "devices",
                        i,
                        f"devices[{device.name}].{field}",
                        (field,),
                        f"address {address} already used by {seen[0]} "
                        f"({_at(built, 'devices', seen[1])})",
                    )
                )
            elif seen is None:
                owner[address] = (device.name, i, field)
    links = sorted((link.prefix, i) for i, link in enumerate(built.inventory.links))
    for address, (name, i, field) in owner.items():
        hit = _containing(links, address)
        if hit is not None:
            link = built.inventory.links[hit]
            out.append(
                _p(
                    built,
                    "devices",
                    i,
                    f"devices[{name}].{field}",
                    (field,),
                    f"address {address} is inside link {link.id} prefix {link.prefix}",
                )
            )
    return out


def _containing(sorted_nets: list[tuple[IPv4Network, int]], address: IPv4Address) -> int | None:
    lo, hi = 0, len(sorted_nets)
    while lo < hi:  # last network starting at or below the address
        mid = (lo + hi) // 2
        if sorted_nets[mid][0].network_address <= address:
            lo = mid + 1
        else:
            hi = mid
    if lo and address in sorted_nets[lo - 1][0]:
        return sorted_nets[lo - 1][1]
    return None


def check_overlaps(built: Built) -> list[Problem]:
    """Link and hosting prefixes never overlap each other; pools never overlap."""
    out: list[Problem] = []
    entries: list[tuple[IPv4Network, str, int, str]] = []
    for i, link in enumerate(built.inventory.links):
        entries.append((link.prefix, "links", i, f"links[{link.id}]"))
    for i, alloc in enumerate(built.inventory.hosting):
        if alloc.prefix is not None and alloc.mirror_of is None:
            entries.append((alloc.prefix, "hosting", i, f"hosting[{alloc.id}]"))
    entries.sort(key=lambda e: (e[0].network_address, -e[0].prefixlen))
    widest: tuple[IPv4Network, str, int, str] | None = None
    for entry in entries:
        net, section, i, label = entry
        if widest is not None and net.overlaps(widest[0]):
            other = f"{widest[3]} {widest[0]} ({_at(built, widest[1], widest[2])})"
            out.append(
                _p(
                    built,
                    section,
                    i,
                    f"{label}.prefix",
                    ("prefix",),
                    f"prefix {net} overlaps {other}",
                )
            )
        if widest is None or net.broadcast_address > widest[0].broadcast_address:
            widest = entry
    pools = sorted(built.inventory.pools.ipv4.items(), key=lambda kv: kv[1].prefix.network_address)
    for (name_a, pool_a), (name_b, pool_b) in pairwise(pools):
        if pool_a.prefix.overlaps(pool_b.prefix):
            file, line = built.where_key("pools", "ipv4", name_b, "prefix")
            out.append(
                Problem(
                    file,
                    line,
                    f"pools.ipv4.{name_b}.prefix",
                    f"pool {pool_b.prefix} overlaps pool {name_a} {pool_a.prefix}",
                )
            )
    return out


def check_pools(built: Built) -> list[Problem]:
    """Addresses and prefixes come from a pool of their use; VLANs and ASNs from their ranges."""
    if "pools" in built.failed_sections:
        return []
    inv = built.inventory
    by_use: dict[str, list[tuple[str, IPv4Network]]] = defaultdict(list)
    for name, pool in inv.pools.ipv4.items():
        by_use[pool.use].append((name, pool.prefix))
    out: list[Problem] = []

    def outside(use: str, net: IPv4Network | IPv4Address) -> str | None:
        pools = by_use.get(use, [])
        inside = any(
            (net.subnet_of(p) if isinstance(net, IPv4Network) else net in p) for _, p in pools
        )
        if inside:
            return None
        names = ", ".join(f"{n} {p}" for n, p in pools) or "none defined"
        return f"{net} is outside every {use} pool ({names})"

    for i, link in enumerate(inv.links):
        if (msg := outside("p2p", link.prefix)) is not None:
            out.append(_p(built, "links", i, f"links[{link.id}].prefix", ("prefix",), msg))
    for i, device in enumerate(inv.devices):
        if (
            msg := outside("management", device.mgmt)
        ) is not None and device.mgmt != device.loopback:
            out.append(_p(built, "devices", i, f"devices[{device.name}].mgmt", ("mgmt",), msg))
        if (
            device.loopback is not None
            and (msg := outside("loopback", device.loopback)) is not None
        ):
            out.append(
                _p(built, "devices", i, f"devices[{device.name}].loopback", ("loopback",), msg)
            )
    for i, alloc in enumerate(inv.hosting):
        if alloc.prefix is not None and (msg := outside("hosting", alloc.prefix)) is not None:
            out.append(_p(built, "hosting", i, f"hosting[{alloc.id}].prefix", ("prefix",), msg))
    vlan_ranges = list(inv.pools.vlans.items())

    def vlan_outside(vlan: int) -> str | None:
        if any(r.first <= vlan <= r.last for _, r in vlan_ranges):
            return None
        names = ", ".join(f"{n} {r.first}-{r.last}" for n, r in vlan_ranges) or "none defined"
        return f"VLAN {vlan} is outside every VLAN range ({names})"

    for i, link in enumerate(inv.links):
        if link.vlan is not None and (msg := vlan_outside(link.vlan)) is not None:
            out.append(_p(built, "links", i, f"links[{link.id}].vlan", ("vlan",), msg))
    for i, alloc in enumerate(inv.hosting):
        if alloc.vlan is not None and (msg := vlan_outside(alloc.vlan)) is not None:
            out.append(_p(built, "hosting", i, f"hosting[{alloc.id}].vlan", ("vlan",), msg))
    asn_ranges = list(inv.pools.asns.values())
    for i, link in enumerate(inv.links):
        bgp = link.routing.bgp
        if bgp is None:
            continue
        for field in ("asn_a", "asn_b"):
            asn = getattr(bgp, field)
            if not any(r.first <= asn <= r.last for r in asn_ranges):
                out.append(
                    _p(
                        built,
                        "links",
                        i,
                        f"links[{link.id}].routing.bgp.{field}",
                        ("routing", "bgp", field),
                        f"ASN {asn} is outside every ASN range",
                    )
                )
    return out


def check_vlans(built: Built) -> list[Problem]:
    """A VLAN id is used once per device, and once per data centre for hosting."""
    out: list[Problem] = []
    per_device: dict[tuple[str, int], int] = {}
    for i, link in enumerate(built.inventory.links):
        if link.vlan is None:
            continue
        for device in {link.a_device, link.b_device}:
            key = (device, link.vlan)
            if key in per_device:
                other = built.inventory.links[per_device[key]]
                out.append(
                    _p(
                        built,
                        "links",
                        i,
                        f"links[{link.id}].vlan",
                        ("vlan",),
                        f"VLAN {link.vlan} already used on {device} by link {other.id}",
                    )
                )
            else:
                per_device[key] = i
    per_dc: dict[tuple[str, int], int] = {}
    for i, alloc in enumerate(built.inventory.hosting):
        if alloc.vlan is None:
            continue
        key = (alloc.datacentre, alloc.vlan)
        if key in per_dc:
            other_id = built.inventory.hosting[per_dc[key]].id
            out.append(
                _p(
                    built,
                    "hosting",
                    i,
                    f"hosting[{alloc.id}].vlan",
                    ("vlan",),
                    f"VLAN {alloc.vlan} already used in {alloc.datacentre} by {other_id}",
                )
            )
        else:
            per_dc[key] = i
    return out


# --- data centre capacity --------------------------------------------------------------


def check_racks(built: Built) -> list[Problem]:
    """Rack units do not collide or overflow; racks and rooms stay within their power."""
    inv = built.inventory
    out: list[Problem] = []
    dcs = {d.code: (i, d) for i, d in enumerate(inv.datacentres)}
    by_rack: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, alloc in enumerate(inv.hosting):
        by_rack[(alloc.datacentre, alloc.rack)].append(i)
    room_load: dict[tuple[str, str], float] = defaultdict(float)
    for (dc_code, rack_name), indexes in by_rack.items():
        found = dcs.get(dc_code)
        place = _rack(found[1], rack_name) if found else None
        if found is None or place is None:
            continue  # reported by check_references
        d_index, dc = found
        room, rack = place
        allocs = sorted(indexes, key=lambda j: inv.hosting[j].first_u)
        for a, b in pairwise(allocs):
            first, second = inv.hosting[a], inv.hosting[b]
            if second.first_u <= first.last_u:
                out.append(
                    _p(
                        built,
                        "hosting",
                        b,
                        f"hosting[{second.id}].first_u",
                        ("first_u",),
                        f"units {second.first_u}-{second.last_u} of {dc_code}/{rack_name} "
                        "collide with "
                        f"{first.id} (units {first.first_u}-{first.last_u})",
                    )
                )
        for j in allocs:
            alloc = inv.hosting[j]
            if alloc.last_u > rack.height_u:
                out.append(
                    _p(
                        built,
                        "hosting",
                        j,
                        f"hosting[{alloc.id}].units",
                        ("units",),
                        f"units {alloc.first_u}-{alloc.last_u} overflow {rack_name} "
                        f"({rack.height_u}U)",
                    )
                )
        load = sum(inv.hosting[j].power_kw for j in allocs)
        room_load[(dc_code, room.name)] += load
        if load > rack.power_kw + 1e-9:
            r_index, k_index = _rack_index(dc, rack_name)
            out.append(
                _p(
                    built,
                    "datacentres",
                    d_index,
                    f"datacentres[{dc_code}].racks[{rack_name}].power_kw",
                    ("rooms", r_index, "racks", k_index, "power_kw"),
                    f"allocations draw {load:g} kW, over the rack's budget of {rack.power_kw:g} kW "
                    f"by {load - rack.power_kw:g} kW",
                )
            )
    for (dc_code, room_name), load in room_load.items():
        d_index, dc = dcs[dc_code]
        for r_index, room in enumerate(dc.rooms):
            if room.name == room_name and load > room.power_kw + 1e-9:
                out.append(
                    _p(
                        built,
                        "datacentres",
                        d_index,
                        f"datacentres[{dc_code}].rooms[{room_name}].power_kw",
                        ("rooms", r_index, "power_kw"),
                        f"allocations draw {load:g} kW, over the room's budget of "
                        f"{room.power_kw:g} kW "
                        f"by {load - room.power_kw:g} kW",
                    )
                )
    return out


def _rack_index(dc: m.Datacentre, name: str) -> tuple[int, int]:
    for r, room in enumerate(dc.rooms):
        for k, rack in enumerate(room.racks):
            if rack.name == name:
                return r, k
    raise KeyError(name)


def check_collectors(built: Built) -> list[Problem]:
    """Collectors run on NMS nodes that exist, have unique names and ports, poll provinces
    that exist, and together cover every site (a collector without provinces takes the
    rest)."""
    inv = built.inventory
    section = inv.collectors
    if section is None or "collectors" in built.failed_sections:
        return []
    out: list[Problem] = []
    devices = _first_by(inv.devices, lambda d: d.name)
    provinces = {p.code for p in inv.provinces}

    def problem(label: str, path: tuple[str | int, ...], msg: str) -> None:
        file, line = built.where_key("collectors", *path)
        out.append(Problem(file, line, f"collectors.{label}", msg))

    def node(label: str, path: tuple[str | int, ...], name: str) -> None:
        device = devices.get(name)
        if device is None:
            if not built.is_broken("devices", name):
                problem(label, path, f"unknown device {name!r}")
        elif device.role is not m.Role.NMS:
            problem(label, path, f"{name!r} is a {device.role.value}: collectors run on nms nodes")

    node("store.device", ("store", "device"), section.store.device)
    retention = section.store.retention
    days = (
        int(retention[:-1])
        * {"s": 1 / 86400, "m": 1 / 1440, "h": 1 / 24, "d": 1, "w": 7, "y": 365}[retention[-1]]
    )
    if days < MIN_RETENTION_DAYS:
        problem(
            "store.retention",
            ("store", "retention"),
            f"{retention} is shorter than the SLA needs ({MIN_RETENTION_DAYS}d)",
        )
    names: dict[str, int] = {}
    ports: dict[tuple[str, int], str] = {}
    if section.store.device:
        ports[(section.store.device, section.store.port)] = "the central store"
    for i, collector in enumerate(section.regions):
        label = f"regions[{collector.name}]"
        if collector.name in names:
            problem(f"{label}.name", ("regions", i, "name"), "duplicate collector name")
        names.setdefault(collector.name, i)
        node(f"{label}.device", ("regions", i, "device"), collector.device)
        if collector.probe_port == collector.agent_port:
            problem(f"{label}.agent_port", ("regions", i, "agent_port"), "same as probe_port")
        for field in ("probe_port", "agent_port"):
            key = (collector.device, getattr(collector, field))
            if field == "agent_port" and collector.probe_port == collector.agent_port:
                continue
            if key in ports:
                problem(
                    f"{label}.{field}",
                    ("regions", i, field),
                    f"port {key[1]} on {key[0]} is already {ports[key]}'s",
                )
            ports.setdefault(key, f"collector {collector.name}")
        for k, code in enumerate(collector.provinces):
            if code not in provinces and not built.is_broken("provinces", code):
                where = ("regions", i, "provinces", k)
                problem(f"{label}.provinces", where, f"unknown province {code!r}")
    if not section.regions:
        problem("regions", ("regions",), "no collector: list at least one")
    elif all(c.provinces for c in section.regions):
        covered = {code for c in section.regions for code in c.provinces}
        province_of = device_provinces(inv)
        orphans = sorted(
            {
                province_of.get(d.name) or "(no province)"
                for d in inv.devices
                if d.role is not m.Role.NMS and province_of.get(d.name) not in covered
            }
        )
        if orphans:
            problem(
                "regions",
                ("regions",),
                "no collector polls the sites of "
                + ", ".join(orphans[:5])
                + (f" and {len(orphans) - 5} more" if len(orphans) > 5 else "")
                + " (add a collector without provinces, or list them)",
            )
    return out


# --- missions abroad -------------------------------------------------------------------


def check_missions(built: Built) -> list[Problem]:
    """Each mission: its router and internet interface exist, one tunnel to every data
    centre (the NDC and the DR: redundancy), tunnel and local prefixes from their pools
    and overlapping nothing, internet addresses used once."""
    inv = built.inventory
    out: list[Problem] = []
    devices = _first_by(inv.devices, lambda d: d.name)
    dcs = _first_by(inv.datacentres, lambda d: d.code)
    out += _duplicates(
        built, "missions", ((i, x.code) for i, x in enumerate(inv.missions)), "mission code", "code"
    )
    link_ends = {end for link in inv.links for end in (link.a, link.b)}
    public: dict[IPv4Address, str] = {}

    def endpoint(
        section: str, i: int, label: str, ep: m.InternetEndpoint, role: m.Role, site: str
    ) -> None:
        device = devices.get(ep.device)
        where = f"{label}.internet"
        if device is None:
            if not built.is_broken("devices", ep.device):
                out.append(
                    _p(
                        built,
                        section,
                        i,
                        f"{where}.device",
                        ("internet", "device"),
                        f"unknown device {ep.device!r}",
                    )
                )
        else:
            if device.role is not role:
                out.append(
                    _p(
                        built,
                        section,
                        i,
                        f"{where}.device",
                        ("internet", "device"),
                        f"{ep.device} is a {device.role.value}, not a {role.value}",
                    )
                )
            elif device.site != site:
                out.append(
                    _p(
                        built,
                        section,
                        i,
                        f"{where}.device",
                        ("internet", "device"),
                        f"{ep.device} is at site {device.site}, not {site}",
                    )
                )
            if not _has_interface(device, ep.interface):
                out.append(
                    _p(
                        built,
                        section,
                        i,
                        f"{where}.interface",
                        ("internet", "interface"),
                        f"device {ep.device!r} has no interface {ep.interface!r}",
                    )
                )
        if f"{ep.device}:{ep.interface}" in link_ends:
            out.append(
                _p(
                    built,
                    section,
                    i,
                    f"{where}.interface",
                    ("internet", "interface"),
                    f"{ep.device}:{ep.interface} is on a private-network link; the internet "
                    "side must be an interface of its own",
                )
            )
        if ep.address.ip in public:
            out.append(
                _p(
                    built,
                    section,
                    i,
                    f"{where}.address",
                    ("internet", "address"),
                    f"address {ep.address.ip} already used by {public[ep.address.ip]}",
                )
            )
        else:
            public[ep.address.ip] = label

    for i, dc in enumerate(inv.datacentres):
        if dc.internet is not None:
            endpoint(
                "datacentres", i, f"datacentres[{dc.code}]", dc.internet, m.Role.DC_GATEWAY, dc.code
            )
    prefixes: list[tuple[IPv4Network, str]] = [
        (link.prefix, f"links[{link.id}]") for link in inv.links
    ]
    prefixes += [
        (h.prefix, f"hosting[{h.id}]") for h in inv.hosting if h.prefix and h.mirror_of is None
    ]
    by_use: dict[str, list[IPv4Network]] = defaultdict(list)
    for pool in inv.pools.ipv4.values():
        by_use[pool.use].append(pool.prefix)
    pools_ok = "pools" not in built.failed_sections
    for i, mission in enumerate(inv.missions):
        label = f"missions[{mission.code}]"
        endpoint("missions", i, label, mission.internet, m.Role.MISSION_ROUTER, mission.code)
        owned: list[tuple[IPv4Network, str, tuple[str | int, ...], str]] = [
            (mission.prefix, f"{label}.prefix", ("prefix",), "mission")
        ]
        seen_dc: set[str] = set()
        for t, tunnel in enumerate(mission.tunnels):
            where = f"{label}.tunnels[{tunnel.datacentre}]"
            place = dcs.get(tunnel.datacentre)
            if place is None:
                if not built.is_broken("datacentres", tunnel.datacentre):
                    out.append(
                        _p(
                            built,
                            "missions",
                            i,
                            f"{where}.datacentre",
                            ("tunnels", t, "datacentre"),
                            f"unknown data centre {tunnel.datacentre!r}",
                        )
                    )
            elif place.internet is None:
                out.append(
                    _p(
                        built,
                        "missions",
                        i,
                        f"{where}.datacentre",
                        ("tunnels", t, "datacentre"),
                        f"data centre {place.code} has no internet endpoint"
                        f" (datacentres[{place.code}].internet) for tunnels to end on",
                    )
                )
            if tunnel.datacentre in seen_dc:
                out.append(
                    _p(
                        built,
                        "missions",
                        i,
                        f"{where}.datacentre",
                        ("tunnels", t, "datacentre"),
                        f"a second tunnel to {tunnel.datacentre}",
                    )
                )
            seen_dc.add(tunnel.datacentre)
            owned.append((tunnel.prefix, f"{where}.prefix", ("tunnels", t, "prefix"), "tunnel"))
        lacking = [dc.code for dc in inv.datacentres if dc.code not in seen_dc]
        if lacking:
            out.append(
                _p(
                    built,
                    "missions",
                    i,
                    f"{label}.tunnels",
                    ("tunnels",),
                    f"no tunnel to {', '.join(lacking)}: a mission needs one to every data "
                    "centre (NDC and DR) so it stays connected when one is down",
                )
            )
        for net, where, path, use in owned:
            if pools_ok and not any(net.subnet_of(p) for p in by_use.get(use, [])):
                names = (
                    ", ".join(f"{n} {p.prefix}" for n, p in inv.pools.ipv4.items() if p.use == use)
                    or "none defined"
                )
                out.append(
                    _p(
                        built,
                        "missions",
                        i,
                        where,
                        path,
                        f"{net} is outside every {use} pool ({names})",
                    )
                )
            clash = next((other for pfx, other in prefixes if pfx.overlaps(net)), None)
            if clash is not None:
                out.append(_p(built, "missions", i, where, path, f"prefix {net} overlaps {clash}"))
            else:
                prefixes.append((net, where.removesuffix(".prefix")))
    for i, device in enumerate(inv.devices):
        if device.role is m.Role.MISSION_ROUTER and not any(
            x.code == device.site for x in inv.missions
        ):
            out.append(
                _p(
                    built,
                    "devices",
                    i,
                    f"devices[{device.name}].site",
                    ("site",),
                    f"a mission-router stands at a mission, not at {device.site!r}",
                )
            )
    return out


CHECKS: tuple[Check, ...] = (
    check_unique_names,
    check_references,
    check_interface_use,
    check_addresses,
    check_overlaps,
    check_pools,
    check_vlans,
    check_racks,
    check_collectors,
    check_missions,
)


def check_inventory(built: Built) -> list[Problem]:
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(built))
    return problems
