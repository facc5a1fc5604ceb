"""The probes' data: targets, per-target results and one completed cycle.

Plain frozen dataclasses, no I/O. A per-target failure is data (``ok=False`` and a
``reason``), never an exception that escapes the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from statistics import fmean

from controller.inventory.model import SnmpProfile


class Reachability(StrEnum):
    UP = "up"
    DOWN = "down"  # itself unreachable while some parent is up: its own fault
    UNREACHABLE = "unreachable"  # every parent down or unreachable: suppressed


@dataclass(frozen=True)
class Target:
    """One device to probe, from the inventory (NMS excluded)."""

    name: str
    role: str
    site: str
    province: str  # "" when the site has no province
    tenant: str  # "" when the device belongs to no tenant
    icmp_address: str  # loopback if set, else mgmt
    snmp_address: str  # mgmt
    snmp_profile_name: str | None
    snmp_profile: SnmpProfile | None
    parents: tuple[str, ...] = ()
    level: int = 0  # hops from the core over the link graph; -1 when not connected

    @property
    def labels(self) -> dict[str, str]:
        return {
            "device": self.name,
            "site": self.site,
            "province": self.province,
            "tenant": self.tenant,
            "role": self.role,
        }


@dataclass(frozen=True)
class Interface:
    """One row of ifTable/ifXTable; ``None`` where the agent gave no value."""

    index: int
    name: str
    oper_up: bool | None = None
    admin_up: bool | None = None
    in_octets: int | None = None
    out_octets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None
    speed_bps: int | None = None
    octet_bits: int = 64  # 32: ifTable's Counter32 (no ifXTable), extended across wraps


@dataclass(frozen=True)
class SnmpResult:
    target: str
    ok: bool
    reason: str = ""
    uptime_seconds: float | None = None
    sys_name: str | None = None
    interfaces: tuple[Interface, ...] = ()
    values: int = 0  # varbinds decoded and kept
    requests: int = 0
    seconds: float = 0.0
    notes: tuple[str, ...] = ()  # what was odd but handled: no ifXTable, a restart, …


@dataclass(frozen=True)
class IcmpResult:
    """``rtts`` has one entry per echo sent: seconds, or ``None`` when it was lost."""

    target: str
    address: str
    rtts: tuple[float | None, ...]
    error: str = ""

    @property
    def sent(self) -> int:
        return len(self.rtts)

    @property
    def received(self) -> tuple[float, ...]:
        return tuple(r for r in self.rtts if r is not None)

    @property
    def ok(self) -> bool:
        return bool(self.received)

    @property
    def loss_ratio(self) -> float:
        return 1.0 if not self.rtts else 1.0 - len(self.received) / len(self.rtts)

    @property
    def rtt_min(self) -> float | None:
        got = self.received
        return min(got) if got else None

    @property
    def rtt_max(self) -> float | None:
        got = self.received
        return max(got) if got else None

    @property
    def rtt_avg(self) -> float | None:
        got = self.received
        return fmean(got) if got else None

    @property
    def jitter(self) -> float | None:
        """Mean absolute difference of consecutive received RTTs (RFC 3550 style, unsmoothed)."""
        got = self.received
        if len(got) < 2:
            return None
        return fmean(abs(b - a) for a, b in pairwise(got))


@dataclass(frozen=True)
class TrapEvent:
    time: float
    source: str
    device: str
    site: str
    province: str
    trap: str  # linkDown, linkUp, authenticationFailure, or the numeric OID
    oid: str
    version: str
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cycle:
    """One completed polling cycle: what /metrics shows until the next one completes."""

    started: float  # unix time
    seconds: float
    cpu_seconds: float
    targets: tuple[Target, ...]
    snmp: dict[str, SnmpResult]
    icmp: dict[str, IcmpResult]
    reachability: dict[str, Reachability]
    upstream_down: dict[str, bool]
    shard: int = 0
    shards: int = 1
    tunnels: tuple[Target, ...] = ()  # missions' IPsec tunnels, pinged across the tunnel
    tunnel_icmp: dict[str, IcmpResult] = field(default_factory=dict)

    @property
    def polled(self) -> int:
        return sum(1 for t in self.targets if self.target_ok(t.name))

    @property
    def failed(self) -> int:
        return len(self.targets) - self.polled

    @property
    def snmp_values(self) -> int:
        return sum(r.values for r in self.snmp.values())

    def target_ok(self, name: str) -> bool:
        snmp = self.snmp.get(name)
        icmp = self.icmp.get(name)
        return (snmp is None or snmp.ok) and (icmp is None or icmp.ok)
