"""Pure planning: a resolved topology → the namespaces, veths, addresses and services
that make up the lab. Nothing here touches the system; ``executor`` carries it out.

Layout (``<p>`` = ``clab-<lab>``):
- one namespace per node ``<p>-<node>``; its links carry the endpoint interface names;
- ``<p>-mgmt`` holds bridge ``br-mgmt`` (gateway address) and one port ``m<i>`` per node,
  whose peer is the node's ``eth0`` with its management address;
- ``<p>-wires`` holds, per link ``i``, bridge ``w<i>`` joining ``l<i>a`` (peer of endpoint
  a) and ``l<i>b`` (peer of endpoint b): the "patch panel" where faults cut or delay links.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from controller.errors import TopologyError
from simulations.topology import Endpoint, Link, Node, Topology

PREFIX = "clab"
MGMT_BRIDGE = "br-mgmt"
RESERVED_NODE_NAMES = ("mgmt", "wires")
SWANCTL_CONF = "/etc/swanctl/swanctl.conf"  # a node binding one runs strongSwan's charon
GUARD_MIN_PREFIXLEN = 8
_CIDR_CONTEXT = re.compile(
    r"(?:ip address|addr(?:ess)? (?:add|replace)|network|prefix)\s+"
    r"(\d{1,3}(?:\.\d{1,3}){3}/\d{1,2})"
)
_GUARD_LABEL = "govnet.lab-prefixes"


def lab_prefix(lab: str) -> str:
    return f"{PREFIX}-{lab}"


def node_netns(lab: str, node: str) -> str:
    return f"{lab_prefix(lab)}-{node}"


def mgmt_netns(lab: str) -> str:
    return f"{lab_prefix(lab)}-mgmt"


def wires_netns(lab: str) -> str:
    return f"{lab_prefix(lab)}-wires"


@dataclass(frozen=True)
class LinkEnd:
    node: str
    netns: str
    iface: str
    wire: str  # the peer interface inside the wires namespace
    ipv4: str | None


@dataclass(frozen=True)
class LinkPlan:
    index: int
    a: LinkEnd
    b: LinkEnd
    bridge: str
    mtu: int | None

    def end(self, endpoint: Endpoint) -> LinkEnd | None:
        for end in (self.a, self.b):
            if end.node == endpoint.node and end.iface == endpoint.iface:
                return end
        return None

    @property
    def name(self) -> str:
        return f"{self.a.node}:{self.a.iface} <-> {self.b.node}:{self.b.iface}"


@dataclass(frozen=True)
class NodePlan:
    name: str
    netns: str
    node: Node
    mgmt_ipv4: str
    mgmt_port: str  # peer of eth0 inside the mgmt namespace
    node_dir: Path
    frr: bool
    sshd: bool
    snmpd: bool
    charon: bool = False  # strongSwan: the node binds a swanctl.conf

    @property
    def frr_instance(self) -> str:
        return self.netns


@dataclass(frozen=True)
class LabPlan:
    lab: str
    topology: Topology
    lab_dir: Path
    mgmt_netns: str
    wires_netns: str
    mgmt_subnet: ipaddress.IPv4Network
    mgmt_gw: str
    nodes: tuple[NodePlan, ...]
    links: tuple[LinkPlan, ...]
    guard_prefixes: tuple[str, ...]
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        return self.lab_dir / "govnet-lab-state.json"

    @property
    def namespaces(self) -> tuple[str, ...]:
        return (self.mgmt_netns, self.wires_netns, *(n.netns for n in self.nodes))

    def node(self, name: str) -> NodePlan:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise TopologyError(f"{self.topology.path}: unknown node {name!r} (nodes: {known})")

    def link_of(self, endpoint: Endpoint) -> tuple[LinkPlan, LinkEnd]:
        for link in self.links:
            end = link.end(endpoint)
            if end is not None:
                return link, end
        raise TopologyError(f"{self.topology.path}: no link has endpoint {endpoint}")


def default_lab_dir(topology: Topology) -> Path:
    return topology.directory / f"{lab_prefix(topology.name)}"


def _allocate_mgmt(topology: Topology) -> tuple[str, dict[str, str]]:
    subnet = topology.mgmt.ipv4_subnet
    gw = topology.mgmt.ipv4_gw or next(subnet.hosts())
    taken = {str(gw)} | {n.mgmt_ipv4 for n in topology.nodes.values() if n.mgmt_ipv4}
    free = (str(h) for h in subnet.hosts() if str(h) not in taken)
    out: dict[str, str] = {}
    for node in topology.nodes.values():
        if node.mgmt_ipv4:
            out[node.name] = node.mgmt_ipv4
            continue
        addr = next(free, None)
        if addr is None:
            raise TopologyError(
                f"{topology.path}: management subnet {subnet} has no free address for "
                f"node {node.name!r}"
            )
        out[node.name] = addr
    return str(gw), out


def _node_texts(node: Node) -> Iterable[str]:
    yield from node.exec
    for candidate in (node.bind_source("/etc/frr/frr.conf"), node.startup_config):
        if candidate is not None and candidate.is_file():
            yield candidate.read_text(encoding="utf-8", errors="replace")


def guard_prefixes(topology: Topology, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Every IPv4 prefix the lab may use, collapsed: the root namespace gets an
    ``unreachable`` route for each, so nothing addressed to the lab leaves the machine."""
    found: list[ipaddress.IPv4Network] = [topology.mgmt.ipv4_subnet]
    texts: list[str] = list(extra)
    for link in topology.links:
        texts.extend(f"ip address {ip}" for ip in link.ipv4 if ip)
    for node in topology.nodes.values():
        texts.extend(_node_texts(node))
        texts.extend(
            f"prefix {p.strip()}" for p in node.labels.get(_GUARD_LABEL, "").split(",") if p.strip()
        )
    for text in texts:
        for match in _CIDR_CONTEXT.finditer(text):
            try:
                net = ipaddress.IPv4Network(match.group(1), strict=False)
            except ValueError:
                continue
            if net.prefixlen >= GUARD_MIN_PREFIXLEN and not net.is_loopback:
                found.append(net)
    return tuple(str(n) for n in ipaddress.collapse_addresses(found))


def build_plan(topology: Topology, lab_dir: Path | None = None) -> LabPlan:
    """Plan the lab for ``topology`` (pure apart from reading node config files)."""
    for name in topology.nodes:
        if name in RESERVED_NODE_NAMES:
            raise TopologyError(
                f"{topology.path}: node name {name!r} is reserved by the namespace lab"
            )
    lab = topology.name
    root = (lab_dir or default_lab_dir(topology)).resolve()
    gw, mgmt = _allocate_mgmt(topology)
    nodes: list[NodePlan] = []
    for i, node in enumerate(topology.nodes.values(), start=1):
        snmp_flag = node.env.get("GOVNET_SNMPD", "").lower() in ("1", "true", "yes")
        nodes.append(
            NodePlan(
                name=node.name,
                netns=node_netns(lab, node.name),
                node=node,
                mgmt_ipv4=mgmt[node.name],
                mgmt_port=f"m{i}",
                node_dir=root / node.name,
                frr=node.is_frr,
                sshd=node.is_frr,
                snmpd=node.is_frr or snmp_flag,
                charon=node.bind_source(SWANCTL_CONF) is not None,
            )
        )
    links = tuple(_plan_link(lab, link) for link in topology.links)
    return LabPlan(
        lab=lab,
        topology=topology,
        lab_dir=root,
        mgmt_netns=mgmt_netns(lab),
        wires_netns=wires_netns(lab),
        mgmt_subnet=topology.mgmt.ipv4_subnet,
        mgmt_gw=gw,
        nodes=tuple(nodes),
        links=links,
        guard_prefixes=guard_prefixes(topology),
    )


def _plan_link(lab: str, link: Link) -> LinkPlan:
    i = link.index
    return LinkPlan(
        index=i,
        a=LinkEnd(link.a.node, node_netns(lab, link.a.node), link.a.iface, f"l{i}a", link.ipv4[0]),
        b=LinkEnd(link.b.node, node_netns(lab, link.b.node), link.b.iface, f"l{i}b", link.ipv4[1]),
        bridge=f"w{i}",
        mtu=link.mtu,
    )
