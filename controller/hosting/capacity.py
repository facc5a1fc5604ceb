"""Capacity left in the data centres, for people (tables, JSON) and for the SOC
(Prometheus text format, for node_exporter's textfile collector). Pure.

Metrics (all gauges):

| metric | labels |
|---|---|
| ``govnet_rack_units_free`` / ``_used``, ``govnet_rack_height_units`` | datacentre, room, rack |
| ``govnet_rack_units_largest_free`` (longest contiguous run) | datacentre, room, rack |
| ``govnet_rack_power_kw_free`` / ``_used`` / ``_budget`` | datacentre, room, rack |
| ``govnet_room_power_kw_used`` / ``_budget`` | datacentre, room |
| ``govnet_hosting_vlans_free``, ``govnet_hosting_vlans_range_size`` | datacentre |
| ``govnet_hosting_prefixes_free`` | datacentre, size (prefix length, 22 … 29) |
| ``govnet_hosting_allocations`` | datacentre |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.hosting.occupancy import DcUse, Occupancy
from controller.hosting.request import PREFIX_LENGTHS
from controller.inventory.model import Inventory

SIZES = tuple(range(PREFIX_LENGTHS[0], PREFIX_LENGTHS[1] + 1))


@dataclass(frozen=True)
class RackCapacity:
    datacentre: str
    room: str
    rack: str
    units_total: int
    units_used: int
    units_free: int
    largest_free: int
    power_budget: float
    power_used: float
    ports_free: int | None

    @property
    def power_free(self) -> float:
        return self.power_budget - self.power_used


@dataclass(frozen=True)
class RoomCapacity:
    datacentre: str
    room: str
    power_budget: float
    power_used: float

    @property
    def power_free(self) -> float:
        return self.power_budget - self.power_used

    @property
    def power_pct(self) -> float:
        return 100.0 * self.power_used / self.power_budget if self.power_budget else 0.0


@dataclass(frozen=True)
class DcCapacity:
    datacentre: str
    allocations: int
    vlan_range: str
    vlans_total: int
    vlans_free: int
    pool: str
    prefixes_free: dict[int, int]
    largest_free_prefix: int | None
    rooms: list[RoomCapacity]
    racks: list[RackCapacity]


def capacity(inv: Inventory) -> list[DcCapacity]:
    occupancy = Occupancy(inv)
    counts: dict[str, int] = {}
    for alloc in inv.hosting:
        counts[alloc.datacentre] = counts.get(alloc.datacentre, 0) + 1
    return [_dc(occupancy.datacentre(dc.code), counts.get(dc.code, 0)) for dc in inv.datacentres]


def _dc(use: DcUse, allocations: int) -> DcCapacity:
    racks = [
        RackCapacity(
            use.dc.code,
            r.room.name,
            r.rack.name,
            r.rack.height_u,
            r.units_used,
            r.units_free,
            r.largest_run,
            r.rack.power_kw,
            r.power_used,
            r.ports_free() if r.tor_free else None,
        )
        for r in use.racks
    ]
    rooms = [
        RoomCapacity(use.dc.code, name, room.room.power_kw, room.power_used)
        for name, room in use.rooms.items()
    ]
    vr = use.vlan_range
    return DcCapacity(
        use.dc.code,
        allocations,
        use.vlan_range_name,
        vr.last - vr.first + 1,
        use.vlans_free,
        f"{use.pool_name} {use.pool}",
        {size: use.count_free_prefixes(size) for size in SIZES},
        use.largest_free_block(),
        rooms,
        racks,
    )


def as_json(report: list[DcCapacity]) -> list[dict[str, Any]]:
    out = []
    for dc in report:
        out.append(
            {
                "datacentre": dc.datacentre,
                "allocations": dc.allocations,
                "vlans": {"range": dc.vlan_range, "total": dc.vlans_total, "free": dc.vlans_free},
                "prefixes": {
                    "pool": dc.pool,
                    "free": {f"/{k}": v for k, v in dc.prefixes_free.items()},
                    "largest_free": f"/{dc.largest_free_prefix}"
                    if dc.largest_free_prefix is not None
                    else None,
                },
                "rooms": [
                    {
                        "room": r.room,
                        "power_kw_budget": r.power_budget,
                        "power_kw_used": round(r.power_used, 3),
                        "power_kw_free": round(r.power_free, 3),
                        "power_pct": round(r.power_pct, 1),
                    }
                    for r in dc.rooms
                ],
                "racks": [
                    {
                        "room": k.room,
                        "rack": k.rack,
                        "units_total": k.units_total,
                        "units_used": k.units_used,
                        "units_free": k.units_free,
                        "units_largest_free": k.largest_free,
                        "power_kw_budget": k.power_budget,
                        "power_kw_used": round(k.power_used, 3),
                        "power_kw_free": round(k.power_free, 3),
                        "tor_ports_free": k.ports_free,
                    }
                    for k in dc.racks
                ],
            }
        )
    return out


# --- Prometheus text format -----------------------------------------------------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    number = round(float(value), 6)
    return str(int(number)) if number.is_integer() else repr(number)


class _Family:
    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self.samples: list[str] = []

    def add(self, value: float, **labels: str) -> None:
        self.samples.append(f"{self.name}{_labels(**labels)} {_num(value)}")

    def text(self) -> str:
        head = f"# HELP {self.name} {self.help}\n# TYPE {self.name} gauge\n"
        return head + "".join(s + "\n" for s in self.samples)


def prometheus_text(report: list[DcCapacity]) -> str:
    """The capacity as Prometheus gauges (text exposition format 0.0.4)."""
    fam = {
        name: _Family(name, text)
        for name, text in (
            ("govnet_rack_units_free", "Free rack units in the rack."),
            ("govnet_rack_units_used", "Rack units allocated to hosting in the rack."),
            ("govnet_rack_height_units", "Height of the rack in units."),
            ("govnet_rack_units_largest_free", "Longest run of contiguous free rack units."),
            ("govnet_rack_power_kw_free", "Power headroom of the rack in kilowatts."),
            ("govnet_rack_power_kw_used", "Power allocated in the rack in kilowatts."),
            ("govnet_rack_power_kw_budget", "Power budget of the rack in kilowatts."),
            ("govnet_room_power_kw_used", "Power allocated in the room in kilowatts."),
            ("govnet_room_power_kw_budget", "Power budget of the room in kilowatts."),
            ("govnet_hosting_vlans_free", "Free VLANs of the data centre's hosting range."),
            ("govnet_hosting_vlans_range_size", "Size of the data centre's hosting VLAN range."),
            (
                "govnet_hosting_prefixes_free",
                "Free prefixes of the given length left in the data centre's hosting pool.",
            ),
            ("govnet_hosting_allocations", "Hosting allocations in the data centre."),
        )
    }
    for dc in report:
        for k in dc.racks:
            where = {"datacentre": dc.datacentre, "room": k.room, "rack": k.rack}
            fam["govnet_rack_units_free"].add(k.units_free, **where)
            fam["govnet_rack_units_used"].add(k.units_used, **where)
            fam["govnet_rack_height_units"].add(k.units_total, **where)
            fam["govnet_rack_units_largest_free"].add(k.largest_free, **where)
            fam["govnet_rack_power_kw_free"].add(k.power_free, **where)
            fam["govnet_rack_power_kw_used"].add(k.power_used, **where)
            fam["govnet_rack_power_kw_budget"].add(k.power_budget, **where)
        for r in dc.rooms:
            where = {"datacentre": dc.datacentre, "room": r.room}
            fam["govnet_room_power_kw_used"].add(r.power_used, **where)
            fam["govnet_room_power_kw_budget"].add(r.power_budget, **where)
        fam["govnet_hosting_vlans_free"].add(dc.vlans_free, datacentre=dc.datacentre)
        fam["govnet_hosting_vlans_range_size"].add(dc.vlans_total, datacentre=dc.datacentre)
        for size, free in dc.prefixes_free.items():
            fam["govnet_hosting_prefixes_free"].add(free, datacentre=dc.datacentre, size=str(size))
        fam["govnet_hosting_allocations"].add(dc.allocations, datacentre=dc.datacentre)
    return "".join(f.text() for f in fam.values())
