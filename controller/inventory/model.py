"""The inventory data model — the one place that says what the network is.

Plain pydantic v2 models, frozen, unknown keys forbidden. Structure and value
ranges are checked here; cross references (a link to a missing device, an
address used twice, a rack over budget…) are checked in ``checks.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic.fields import FieldInfo

# --- small value types ---------------------------------------------------------

Name = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"),
]
"""Names of devices, links, racks, pools…: letters, digits, `-`, `_`, `.`; at most 63."""

ProvinceCode = Annotated[str, StringConstraints(pattern=r"^KH-(?:[1-9]|1[0-9]|2[0-5])$")]
"""ISO 3166-2:KH subdivision code, KH-1 … KH-25."""

CommuneCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
"""Six-digit commune/sangkat code: province (2) + district (2) + commune (2)."""

TenantCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]{1,15}$")]

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# A name in Khmer script (U+1780-U+17FF, U+19E0-U+19FF), spaces and digits allowed.
KhmerName = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200, pattern=r"^[\u1780-\u17FF\u19E0-\u19FF0-9 ()\-.]+$"
    ),
]

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2 country code (FR, JP, US…)."""

MissionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z]{3}$")]
"""A mission abroad: its country (ISO 3166-1 alpha-2) and city (UN/LOCODE), e.g. FR-PAR."""

InterfaceName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9/._:-]*$")]

VlanId = Annotated[int, Field(ge=1, le=4094)]

Asn = Annotated[int, Field(ge=1, le=4_294_967_295)]

SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:\S+)$")


def _secret_ref(value: object) -> object:
    if isinstance(value, str) and SECRET_REF.match(value):
        return value
    # Never echo the value: it may be the secret itself.
    raise ValueError("inline secret refused: write a reference, env:NAME or file:PATH")


_SECRET_VALIDATOR = BeforeValidator(_secret_ref)
SecretRef = Annotated[str, _SECRET_VALIDATOR]
"""A reference to a secret (``env:NAME`` or ``file:PATH``); never the secret itself."""


def is_secret_field(info: FieldInfo) -> bool:
    """Whether a model field holds a :data:`SecretRef` (optional or not): what
    ``controller.masking`` resolves to mask every secret by value."""

    def holds(annotation: Any) -> bool:
        if _SECRET_VALIDATOR in getattr(annotation, "__metadata__", ()):
            return True
        return any(holds(arg) for arg in get_args(annotation))

    return _SECRET_VALIDATOR in info.metadata or holds(info.annotation)


_BANDWIDTH = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([KMGT])(?:bps|bit/s|b)?$", re.IGNORECASE)
_UNIT_MBPS = {"K": 0.001, "M": 1.0, "G": 1000.0, "T": 1_000_000.0}


def _bandwidth_mbps(value: object) -> object:
    """``10G``, ``100M``, ``2.5G`` or a number of Mbit/s → Mbit/s."""
    if isinstance(value, bool):
        raise ValueError("bandwidth must be a rate such as 100M or 10G")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and (match := _BANDWIDTH.match(value.strip())):
        return float(match.group(1)) * _UNIT_MBPS[match.group(2).upper()]
    raise ValueError("bandwidth must be a rate such as 100M or 10G")


BandwidthMbps = Annotated[float, BeforeValidator(_bandwidth_mbps), Field(gt=0)]


def _point_to_point(net: IPv4Network) -> IPv4Network:
    if net.prefixlen not in (30, 31):
        raise ValueError(f"a point-to-point prefix is a /30 or /31, not /{net.prefixlen}")
    return net


P2PPrefix = Annotated[IPv4Network, AfterValidator(_point_to_point)]


class Platform(StrEnum):
    """Device platforms govnet renders configuration for."""

    FRR = "frr"
    CISCO_IOS = "cisco_ios"
    HUAWEI_VRP = "huawei_vrp"
    LINUX = "linux"


NETMIKO_DEVICE_TYPE: dict[Platform, str] = {
    Platform.FRR: "cisco_ios",  # FRR's vtysh speaks an IOS-like CLI
    Platform.CISCO_IOS: "cisco_ios",
    Platform.HUAWEI_VRP: "huawei",
    Platform.LINUX: "linux",
}


class Role(StrEnum):
    CORE = "core"
    PROVINCE_ROUTER = "province-router"
    MINISTRY_ROUTER = "ministry-router"
    DC_GATEWAY = "dc-gateway"
    DC_SWITCH = "dc-switch"
    TOR = "tor"
    FIREWALL = "firewall"
    CPE = "cpe"
    NMS = "nms"
    MISSION_ROUTER = "mission-router"


ROLE_TIER: dict[Role, int] = {
    Role.CORE: 0,
    Role.DC_GATEWAY: 1,
    Role.FIREWALL: 2,
    Role.DC_SWITCH: 2,
    Role.PROVINCE_ROUTER: 3,
    Role.MINISTRY_ROUTER: 3,
    Role.TOR: 3,
    Role.CPE: 4,
    Role.MISSION_ROUTER: 4,
    Role.NMS: 5,
}
"""How far a role sits from the core: upstream parents are found towards lower tiers."""


class LinkKind(StrEnum):
    CORE = "core"
    PROVINCE_CORE = "province-core"
    MINISTRY_CORE = "ministry-core"
    DC_INTERCONNECT = "dc-interconnect"
    COMMUNE_ACCESS = "commune-access"
    DC_FABRIC = "dc-fabric"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- sites -----------------------------------------------------------------------


class Network(Model):
    name: Name
    description: Text | None = None
    operator: Text | None = None
    contact: Text = "noc@mptc.gov.kh"
    syslog: list[IPv4Address] = []
    """Syslog receivers every device logs to."""
    production: StrictBool = False
    """This inventory is the real network: govnet's clients may reach its (non-loopback)
    addresses from this machine's namespace without ``--production`` on every command."""


class Province(Model):
    code: ProvinceCode
    name: Text
    name_km: KhmerName | None = None  # as the Khmer pages show it, e.g. ខេត្តបាត់ដំបង
    kind: Literal["capital", "province"] = "province"


class Commune(Model):
    code: CommuneCode
    name: Text
    name_km: KhmerName | None = None  # e.g. សង្កាត់ទន្លេបាសាក់
    province: ProvinceCode
    kind: Literal["commune", "sangkat"] = "commune"


# --- tenants ---------------------------------------------------------------------


class Service(Model):
    name: Text
    fqdn: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")] | None = None
    description: Text | None = None
    datacentre: Name | None = None
    dr_replication: bool = False


class Tenant(Model):
    code: TenantCode
    name: Text
    name_km: KhmerName | None = None  # e.g. ក្រសួងសុខាភិបាល
    kind: Literal["ministry", "institution"] = "ministry"
    services: list[Service] = []


# --- data centres ----------------------------------------------------------------


class Rack(Model):
    name: Name
    height_u: Annotated[int, Field(ge=1, le=60)] = 42
    power_kw: Annotated[float, Field(gt=0, le=100)]
    tor: list[Name] = []


class Room(Model):
    name: Name
    power_kw: Annotated[float, Field(gt=0)]
    racks: list[Rack] = []


class InternetEndpoint(Model):
    """A site's interface on the public internet, where its IPsec tunnels end: the
    address (with its prefix length) and next hop its internet provider gives it."""

    device: Name
    interface: InterfaceName
    address: IPv4Interface
    gateway: IPv4Address

    @model_validator(mode="after")
    def _gateway_on_link(self) -> InternetEndpoint:
        if self.gateway not in self.address.network or self.gateway == self.address.ip:
            raise ValueError(
                f"gateway {self.gateway} must be another address of {self.address.network}"
            )
        return self


class Datacentre(Model):
    code: Name
    name: Text
    name_km: KhmerName | None = None  # e.g. មជ្ឈមណ្ឌលទិន្នន័យជាតិ
    role: Literal["primary", "dr"]
    province: ProvinceCode
    rooms: list[Room] = []
    internet: InternetEndpoint | None = None
    """Where the missions' tunnels to this data centre end."""


# --- missions abroad ---------------------------------------------------------------


def _tunnel_prefix(net: IPv4Network) -> IPv4Network:
    if net.prefixlen != 30:
        raise ValueError(
            f"a tunnel prefix is a /30 (overlay /31 and the two IPsec inner addresses), "
            f"not /{net.prefixlen}"
        )
    return net


class Tunnel(Model):
    """One IKEv2/IPsec tunnel from a mission to a data centre. The /30 holds the overlay
    link OSPF runs on (first two addresses: data centre, mission) and the two inner
    addresses the VXLAN overlay travels between, inside the IPsec SA (data centre,
    mission)."""

    datacentre: Name
    prefix: Annotated[IPv4Network, AfterValidator(_tunnel_prefix)]
    psk: SecretRef
    ospf_cost: Annotated[int, Field(ge=1, le=65535)] | None = None

    def overlay(self, side: Literal["datacentre", "mission"]) -> IPv4Interface:
        offset = 0 if side == "datacentre" else 1
        return IPv4Interface(f"{self.prefix.network_address + offset}/31")

    def inner(self, side: Literal["datacentre", "mission"]) -> IPv4Address:
        return self.prefix.network_address + (2 if side == "datacentre" else 3)

    @property
    def vni(self) -> int:
        """The VXLAN network identifier: unique for non-overlapping /30s."""
        return (int(self.prefix.network_address) >> 2) & 0xFFFFFF


class Mission(Model):
    """A Cambodian embassy, consulate or permanent mission abroad: it reaches the data
    centres only across the public internet, through one IPsec tunnel to each."""

    code: MissionCode
    name: Text
    country: CountryCode
    city: Text
    prefix: IPv4Network
    """The mission's local network (announced to the government network)."""
    internet: InternetEndpoint
    tunnels: list[Tunnel]

    @property
    def router(self) -> str:
        return self.internet.device

    def tunnel(self, datacentre: str) -> Tunnel | None:
        return next((t for t in self.tunnels if t.datacentre == datacentre), None)


class Hosting(Model):
    """Capacity given to a tenant's service in a data centre (written by `hosting approve`)."""

    id: Name
    tenant: TenantCode
    service: Text
    datacentre: Name
    rack: Name
    first_u: Annotated[int, Field(ge=1, le=60)]
    units: Annotated[int, Field(ge=1, le=60)]
    power_kw: Annotated[float, Field(ge=0, le=100)]
    vlan: VlanId | None = None
    prefix: IPv4Network | None = None
    tor_ports: list[str] = []
    mirror_of: Name | None = None

    @property
    def last_u(self) -> int:
        return self.first_u + self.units - 1


# --- devices ---------------------------------------------------------------------


class DeviceSettings(Model):
    """What a device may inherit from its groups and from ``defaults``."""

    platform: Platform | None = None
    snmp_profile: Name | None = None
    ssh_credential: Name | None = None


class Device(DeviceSettings):
    name: Name
    role: Role
    site: str
    mgmt: IPv4Address
    loopback: IPv4Address | None = None
    tenant: TenantCode | None = None
    groups: list[Name] = []
    interfaces: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9/._:-]*$")]] = []
    description: Text | None = None


# --- links -----------------------------------------------------------------------


class Ospf(Model):
    area: Annotated[int, Field(ge=0)] | IPv4Address = 0
    cost: Annotated[int, Field(ge=1, le=65535)] | None = None
    hello: Annotated[int, Field(ge=1, le=65535)] | None = None
    dead: Annotated[int, Field(ge=1, le=65535)] | None = None

    @property
    def area_id(self) -> str:
        """The area in dotted form, as routers print it."""
        return str(self.area if isinstance(self.area, IPv4Address) else IPv4Address(self.area))


class Bgp(Model):
    asn_a: Asn
    asn_b: Asn


class Routing(Model):
    ospf: Ospf | None = None
    bgp: Bgp | None = None
    static: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Routing:
        chosen = [name for name in ("ospf", "bgp") if getattr(self, name) is not None]
        if self.static:
            chosen.append("static")
        if len(chosen) != 1:
            raise ValueError("choose exactly one of ospf, bgp or static")
        return self


ENDPOINT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*):([A-Za-z][A-Za-z0-9/._-]*)$")


def _endpoint(value: object) -> object:
    if isinstance(value, str) and ENDPOINT.match(value):
        return value
    raise ValueError("an endpoint is written device:interface")


Endpoint = Annotated[str, BeforeValidator(_endpoint)]


class Link(Model):
    name: Name | None = None
    a: Endpoint
    b: Endpoint
    kind: LinkKind
    bandwidth: BandwidthMbps
    prefix: P2PPrefix
    vlan: VlanId | None = None
    routing: Routing = Routing(ospf=Ospf())
    tenant: TenantCode | None = None
    description: Text | None = None

    @property
    def id(self) -> str:
        return self.name or f"{self.a}--{self.b}"

    @property
    def a_device(self) -> str:
        return self.a.split(":", 1)[0]

    @property
    def a_interface(self) -> str:
        return self.a.split(":", 1)[1]

    @property
    def b_device(self) -> str:
        return self.b.split(":", 1)[0]

    @property
    def b_interface(self) -> str:
        return self.b.split(":", 1)[1]

    @property
    def a_address(self) -> IPv4Interface:
        return _nth_host(self.prefix, 0)

    @property
    def b_address(self) -> IPv4Interface:
        return _nth_host(self.prefix, 1)


def _nth_host(net: IPv4Network, index: int) -> IPv4Interface:
    """A side's address: .0/.1 on a /31, .1/.2 on a /30."""
    offset = index if net.prefixlen == 31 else index + 1
    return IPv4Interface(f"{net.network_address + offset}/{net.prefixlen}")


# --- pools -----------------------------------------------------------------------


class Ipv4Pool(Model):
    prefix: IPv4Network
    use: Literal["loopback", "p2p", "hosting", "management", "tunnel", "mission"]
    description: Text | None = None


class NumberRange(Model):
    first: Annotated[int, Field(ge=1)]
    last: Annotated[int, Field(ge=1)]
    description: Text | None = None

    @model_validator(mode="after")
    def _ordered(self) -> NumberRange:
        if self.last < self.first:
            raise ValueError(f"last ({self.last}) is below first ({self.first})")
        return self


class VlanRange(NumberRange):
    first: VlanId
    last: VlanId


class AsnRange(NumberRange):
    first: Asn
    last: Asn


class Pools(Model):
    ipv4: dict[Name, Ipv4Pool] = {}
    vlans: dict[Name, VlanRange] = {}
    asns: dict[Name, AsnRange] = {}


# --- credentials (references only) -----------------------------------------------


class SnmpProfile(Model):
    version: Literal["2c", "3"]
    community: SecretRef | None = None
    user: Name | None = None
    level: Literal["authPriv", "authNoPriv"] = "authPriv"
    auth_protocol: Literal["sha", "sha224", "sha256", "sha384", "sha512", "md5"] = "sha"
    auth: SecretRef | None = None
    # aes192/aes256: draft-blumenthal key extension (net-snmp); aes192c/aes256c: Reeder (Cisco)
    priv_protocol: Literal["aes", "aes192", "aes256", "aes192c", "aes256c", "des"] = "aes"
    priv: SecretRef | None = None
    # SNMPv3 contextName (a VRF or a virtual agent on some devices); empty: the default
    context: Annotated[str, Field(max_length=32, pattern=r"^[\x21-\x7e]*$")] = ""
    port: Annotated[int, Field(ge=1, le=65535)] = 161

    @model_validator(mode="after")
    def _complete(self) -> SnmpProfile:
        if self.version == "2c":
            if self.community is None:
                raise ValueError("SNMP v2c needs community (a reference)")
            return self
        missing = [f for f in ("user", "auth") if getattr(self, f) is None]
        if self.level == "authPriv" and self.priv is None:
            missing.append("priv")
        if missing:
            raise ValueError(f"SNMP v3 {self.level} needs {', '.join(missing)}")
        return self


class SshCredential(Model):
    username: Name
    password: SecretRef | None = None
    key_file: SecretRef | None = None

    @model_validator(mode="after")
    def _some_secret(self) -> SshCredential:
        if self.password is None and self.key_file is None:
            raise ValueError("an SSH credential needs password or key_file (a reference)")
        return self


class Credentials(Model):
    snmp: dict[Name, SnmpProfile] = {}
    ssh: dict[Name, SshCredential] = {}


# --- the whole inventory ---------------------------------------------------------


# --- notifications (Alertmanager receivers) ------------------------------------------

# The receivers of soc/alertmanager.yml's routes: a team's alerts go to its receiver.
Receiver = Literal["soc", "noc-critical", "security", "platform", "datacentre"]
Email = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
]
WebhookUrl = Annotated[
    str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s]*)?$")
]


class Smtp(Model):
    """The mail relay Alertmanager sends through."""

    smarthost: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")]
    sender: Email
    username: Text | None = None
    password: SecretRef | None = None
    require_tls: bool = True


class TeamReceiver(Model):
    email: list[Email] = []
    webhook: list[WebhookUrl] = []  # JSON, for chat or ticketing bridges
    send_resolved: bool = True


class Notifications(Model):
    smtp: Smtp | None = None
    receivers: dict[Receiver, TeamReceiver] = {}

    @model_validator(mode="after")
    def _mail_needs_a_relay(self) -> Notifications:
        if self.smtp is None and any(r.email for r in self.receivers.values()):
            raise ValueError("e-mail receivers need notifications.smtp (smarthost, sender)")
        return self


# --- service levels (SLA reports) ------------------------------------------------------


class SloTarget(Model):
    """What a device of a role owes its users over a month; a field left out keeps
    govnet's default for the role (:data:`DEFAULT_SLO`)."""

    availability_percent: Annotated[float, Field(ge=50, le=100)] | None = None
    """Share of the month (maintenance excluded) the device must answer ICMP."""
    rtt_p95_seconds: Annotated[float, Field(gt=0, le=10)] | None = None
    """Highest acceptable 95th percentile of the ICMP round-trip time."""
    loss_ratio: Annotated[float, Field(ge=0, lt=1)] | None = None
    """Highest acceptable average ICMP loss (outage samples excluded)."""


class Slo(Model):
    """Per-role SLO targets (inventory section ``slo``), keyed by role name."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=lambda name: name.replace("_", "-"),
        populate_by_name=True,
    )

    core: SloTarget | None = None
    province_router: SloTarget | None = None
    ministry_router: SloTarget | None = None
    dc_gateway: SloTarget | None = None
    dc_switch: SloTarget | None = None
    tor: SloTarget | None = None
    firewall: SloTarget | None = None
    cpe: SloTarget | None = None
    nms: SloTarget | None = None
    mission_router: SloTarget | None = None


@dataclass(frozen=True)
class SloLevel:
    """A role's SLO with every field resolved."""

    availability_percent: float
    rtt_p95_seconds: float
    loss_ratio: float


_DC_SLO = SloLevel(99.95, 0.010, 0.005)
DEFAULT_SLO: dict[Role, SloLevel] = {
    Role.CORE: _DC_SLO,
    Role.DC_GATEWAY: _DC_SLO,
    Role.DC_SWITCH: _DC_SLO,
    Role.TOR: _DC_SLO,
    Role.FIREWALL: _DC_SLO,
    Role.MINISTRY_ROUTER: SloLevel(99.9, 0.030, 0.010),
    Role.PROVINCE_ROUTER: SloLevel(99.9, 0.060, 0.010),
    Role.CPE: SloLevel(99.5, 0.150, 0.050),
    Role.NMS: SloLevel(99.5, 0.150, 0.050),
    # across the public internet, on two tunnels (soc/rules/static.yml: 350 ms, 2 %)
    Role.MISSION_ROUTER: SloLevel(99.5, 0.350, 0.020),
}
"""govnet's per-role SLOs; RTT and loss are those of soc/rules/static.yml (the alerts)."""
# --- collectors (regional probe shards and the central long-term store) -------------

_DURATION = r"^[1-9][0-9]{0,5}(s|m|h|d|w|y)$"
Port = Annotated[int, Field(ge=1024, le=65535)]


class CentralStore(Model):
    """The national long-term store the collectors remote-write to (a Prometheus with the
    remote-write receiver), on a monitoring node in the NDC."""

    device: Name
    port: Port = 9090
    retention: Annotated[str, StringConstraints(pattern=_DURATION)] = "400d"
    """How long samples are kept: at least the SLA year plus a month to report on it."""


class Collector(Model):
    """A probe shard and a Prometheus agent beside it, on a node near the sites it polls.

    ``provinces`` is its region: it polls (a rendezvous share, among the collectors of the
    same region) the sites of those provinces. A collector without provinces polls every
    site no regional collector covers."""

    name: Name
    device: Name
    provinces: list[ProvinceCode] = []
    probe_port: Port = 9500
    agent_port: Port = 9091


class Collectors(Model):
    store: CentralStore
    regions: list[Collector] = []
    scrape_interval: Annotated[int, Field(ge=1, le=300)] = 10
    """Seconds between polling cycles (and agent scrapes)."""

    def collector(self, name: str) -> Collector:
        for collector in self.regions:
            if collector.name == name:
                return collector
        raise KeyError(name)


class Inventory(Model):
    """The whole national network, merged from every file of an inventory folder."""

    network: Network
    defaults: DeviceSettings = DeviceSettings()
    groups: dict[Name, DeviceSettings] = {}
    provinces: list[Province] = []
    communes: list[Commune] = []
    tenants: list[Tenant] = []
    datacentres: list[Datacentre] = []
    missions: list[Mission] = []
    devices: list[Device] = []
    links: list[Link] = []
    pools: Pools = Pools()
    credentials: Credentials = Credentials()
    hosting: list[Hosting] = []
    notifications: Notifications = Notifications()
    slo: Slo = Slo()
    collectors: Collectors | None = None

    def slo_for(self, role: Role) -> SloLevel:
        """The role's SLO: the inventory's ``slo`` section over :data:`DEFAULT_SLO`."""
        default = DEFAULT_SLO[role]
        given = getattr(self.slo, role.value.replace("-", "_"))
        if given is None:
            return default
        return SloLevel(
            given.availability_percent
            if given.availability_percent is not None
            else default.availability_percent,
            given.rtt_p95_seconds if given.rtt_p95_seconds is not None else default.rtt_p95_seconds,
            given.loss_ratio if given.loss_ratio is not None else default.loss_ratio,
        )

    def device(self, name: str) -> Device:
        for device in self.devices:
            if device.name == name:
                return device
        raise KeyError(name)

    def resolved(
        self, device: Device, field: Literal["platform", "snmp_profile", "ssh_credential"]
    ) -> str | None:
        """A device setting after inheritance: device → its groups (in order) → defaults."""
        value = getattr(device, field)
        if value is not None:
            return str(value)
        for group in device.groups:
            settings = self.groups.get(group)
            if settings is not None and getattr(settings, field) is not None:
                return str(getattr(settings, field))
        default = getattr(self.defaults, field)
        return None if default is None else str(default)

    def platform(self, device: Device) -> Platform:
        value = self.resolved(device, "platform")
        return Platform(value) if value else Platform.LINUX


SECTIONS: dict[str, str] = {
    "network": "name and description of the network",
    "defaults": "device settings every device inherits",
    "groups": "named device settings devices inherit by listing the group",
    "provinces": "the 25 provinces and the capital",
    "communes": "communes and sangkats, each in a province",
    "tenants": "ministries and institutions, and their services",
    "datacentres": "NDC and DR: rooms and racks",
    "missions": "missions abroad and their IPsec tunnels to the NDC and DR",
    "devices": "routers, switches, firewalls and CPEs",
    "links": "private-network links between device interfaces",
    "pools": "IPv4 pools, VLAN ranges, ASN ranges",
    "credentials": "SNMP and SSH credentials, by reference only",
    "hosting": "hosting allocations in the data centres",
    "notifications": "SMTP relay and the SOC's alert receivers",
    "slo": "per-role service levels for the SLA reports (availability, p95 RTT, loss)",
    "collectors": "regional collectors (probe shard + Prometheus agent) and the central store",
}
