"""Inventory → a containerlab topology file and the configuration files it binds.

Pure: returns a :class:`Bundle` (the topology as data, and relative path → text
for every bound file); the CLI writes it. The same file deploys with
containerlab where a container engine exists, and with ``govnet lab up`` here.

Routers (core, DC gateways, province and ministry routers) become FRR nodes whose
``frr.conf`` is rendered from the inventory. The network management station and
commune CPEs become plain Linux nodes configured by ``exec`` commands. At national
scale (``--communes aggregate``) a province's CPEs share one namespace: each keeps
its own loopback and /31 on one veth trunk — the lab kernel has no 802.1q, so the
province router's VLAN sub-interfaces collapse onto their parent interface.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from enum import StrEnum
from ipaddress import IPv4Address
from typing import Any

from controller.errors import TopologyError
from controller.inventory.model import Device, Inventory, Platform, Role, SnmpProfile
from controller.render.intent import DeviceIntent, InterfaceIntent, build_intents
from controller.render.templates import render, render_ipsec
from probes.traps import RECEIVER_ENGINE_ID

FRR_IMAGE = "quay.io/frrouting/frr:8.4.4"
LINUX_IMAGE = "debian:bookworm-slim"
FRR_ROLES = frozenset(
    {Role.CORE, Role.DC_GATEWAY, Role.PROVINCE_ROUTER, Role.MINISTRY_ROUTER, Role.MISSION_ROUTER}
)
TRANSIT = "internet"
"""The lab's stand-in for the public internet between the missions and the data centres."""
SWANCTL_CONF = "/etc/swanctl/swanctl.conf"
VXLAN_PORT = 4789
VXLAN_MTU = 1300  # inside the ESP-in-UDP SA (TUN MTU 1400) with room for VXLAN's 50 bytes
AUTO_AGGREGATE_ABOVE = 64
LAB_TRAP_PORT = 9162  # govnet probe serve --traps-listen 0.0.0.0:9162 in the NMS namespace
LAB_SYSLOG_PORT = 9514  # govnet probe serve --syslog-listen 0.0.0.0:9514
# net-snmp's names for the inventory's SNMPv3 protocols (createUser / -a / -x).
NET_SNMP_AUTH = {
    "md5": "MD5",
    "sha": "SHA",
    "sha224": "SHA-224",
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
}
# net-snmp's AES-192/256 use the Blumenthal key extension; it has no Reeder (Cisco) variant.
NET_SNMP_PRIV = {"des": "DES", "aes": "AES", "aes192": "AES-192", "aes256": "AES-256"}


class CommuneMode(StrEnum):
    auto = "auto"
    per_node = "per-node"
    aggregate = "aggregate"


@dataclass
class Bundle:
    """A rendered topology: the YAML document and the files its binds point at."""

    name: str
    topology: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def render_topology(
    inv: Inventory,
    name: str | None = None,
    communes: CommuneMode = CommuneMode.auto,
    env_defaults: dict[str, str] | None = None,
) -> Bundle:
    """The containerlab topology of ``inv``; bound files are under ``<name>/<node>/``."""
    lab = name or inv.network.name
    intents = build_intents(inv)
    cpes = [d for d in inv.devices if d.role is Role.CPE]
    mode = communes
    if mode is CommuneMode.auto:
        mode = CommuneMode.aggregate if len(cpes) > AUTO_AGGREGATE_ABOVE else CommuneMode.per_node
    defaults = env_defaults or {}
    bundle = Bundle(lab, {})
    nodes: dict[str, dict[str, Any]] = {}
    links: list[dict[str, Any]] = []
    routers = [d for d in inv.devices if d.role in FRR_ROLES]
    hosts = [d for d in inv.devices if d.role is Role.NMS]
    if mode is CommuneMode.per_node:
        hosts += cpes
    included = {d.name for d in routers + hosts}
    aggregates: dict[str, list[Device]] = {}
    if mode is CommuneMode.aggregate:
        aggregates = _group_cpes(inv, cpes)
        for router, members in aggregates.items():
            intents[router] = _collapse_subinterfaces(intents[router], {m.name for m in members})
    for device in routers:
        nodes[device.name] = _frr_node(inv, device, lab, defaults)
        config = render(intents[device.name], platform=Platform.FRR)
        bundle.files[f"{lab}/{device.name}/frr.conf"] = config
        bundle.files[f"{lab}/{device.name}/daemons"] = _daemons(intents[device.name])
        if intents[device.name].tunnels:
            _add_tunnels(nodes[device.name], intents[device.name], lab, defaults)
            bundle.files[f"{lab}/{device.name}/swanctl.conf"] = render_ipsec(intents[device.name])
    for device in hosts:
        nodes[device.name] = _host_node(inv, device, intents[device.name], defaults)
    for link in inv.links:
        a, b = link.a_device, link.b_device
        if a in included and b in included:
            links.append({"endpoints": [link.a, link.b]})
    if any(i.tunnels for i in intents.values()):
        nodes[TRANSIT], transit_links = _transit_node(inv, included)
        links += transit_links
    spare = _spare_mgmt(inv)
    for router, members in aggregates.items():
        node_name = f"communes-{router.removeprefix('pr-')}"
        trunk = _trunk_of(inv, router, members)
        nodes[node_name] = _aggregate_node(
            inv, router, members, trunk, intents, next(spare), defaults
        )
        links.append({"endpoints": [f"{router}:{trunk}", f"{node_name}:eth1"]})
    skipped = Counter(
        d.role.value for d in inv.devices if d.name not in included and d.role is not Role.CPE
    )
    if skipped:
        listed = ", ".join(f"{count} {role}" for role, count in sorted(skipped.items()))
        bundle.notes.append(f"not in the lab (nothing to emulate them with): {listed}")
    bundle.notes.append(f"communes: {mode.value} ({len(cpes)} CPEs)")
    pool = next((p.prefix for p in inv.pools.ipv4.values() if p.use == "management"), None)
    mgmt: dict[str, Any] = {"network": f"govnet-{lab}"}
    if pool is not None:
        mgmt["ipv4-subnet"] = str(pool)
    groups = _factor_groups(nodes)
    bundle.topology = {
        "name": lab,
        "mgmt": mgmt,
        "topology": {
            "kinds": {"linux": {"image": LINUX_IMAGE}},
            "groups": groups,
            "nodes": nodes,
            "links": links,
        },
    }
    return bundle


def _factor_groups(nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Move what every router (and every other host) shares into a topology group."""
    groups: dict[str, dict[str, Any]] = {}
    for group, members in (
        ("routers", [n for n in nodes.values() if n.get("image") == FRR_IMAGE]),
        ("hosts", [n for n in nodes.values() if n.get("image") != FRR_IMAGE]),
    ):
        if not members:
            continue
        shared: dict[str, Any] = {"kind": "linux"}
        if group == "routers":
            shared["image"] = FRR_IMAGE
        envs = [n.get("env", {}) for n in members]
        common = {k: v for k, v in envs[0].items() if all(e.get(k) == v for e in envs)}
        if common:
            shared["env"] = common
        for node in members:
            node.pop("kind", None)
            if group == "routers":
                node.pop("image", None)
            rest = {k: v for k, v in node.get("env", {}).items() if k not in common}
            node.pop("env", None)
            if rest:
                node["env"] = rest
            ordered = {"group": group, **node}
            node.clear()
            node.update(ordered)
        groups[group] = shared
    return groups


def _labels(inv: Inventory, device: Device) -> dict[str, str]:
    labels = {"govnet-role": device.role.value, "govnet-site": device.site}
    province = next((c.province for c in inv.communes if c.code == device.site), None)
    if province is None and any(p.code == device.site for p in inv.provinces):
        province = device.site
    if province:
        labels["govnet-province"] = province
    if device.tenant:
        labels["govnet-tenant"] = device.tenant
    return labels


def _env_ref(ref: str | None, what: str, defaults: dict[str, str]) -> str:
    if ref is None:
        raise TopologyError(f"{what}: no secret reference to pass to the lab")
    kind, _, name = ref.partition(":")
    if kind != "env":
        raise TopologyError(
            f"{what}: lab topologies pass secrets as ${{VAR}}; use an env: reference, not {kind}:"
        )
    default = defaults.get(name)
    return f"${{{name}:={default}}}" if default else f"${{{name}}}"


def _snmp_env(inv: Inventory, device: Device, defaults: dict[str, str]) -> dict[str, str]:
    name = inv.resolved(device, "snmp_profile")
    profile: SnmpProfile | None = inv.credentials.snmp.get(name) if name else None
    if profile is None:
        return {}
    what = f"credentials.snmp.{name}"
    if profile.version == "2c":
        return {"SNMP_COMMUNITY": _env_ref(profile.community, f"{what}.community", defaults)}
    env = {
        "SNMP_V3_USER": str(profile.user),
        "SNMP_V3_AUTH_PROTO": NET_SNMP_AUTH[profile.auth_protocol],
        "SNMP_V3_AUTH_PASS": _env_ref(profile.auth, f"{what}.auth", defaults),
    }
    if profile.level == "authPriv" and profile.priv is not None:
        if profile.priv_protocol not in NET_SNMP_PRIV:
            raise TopologyError(
                f"{what}.priv_protocol: {profile.priv_protocol} (Cisco's Reeder key extension)"
                " has no net-snmp equivalent for the lab's agents; use aes192 or aes256"
            )
        env["SNMP_V3_PRIV_PROTO"] = NET_SNMP_PRIV[profile.priv_protocol]
        env["SNMP_V3_PRIV_PASS"] = _env_ref(profile.priv, f"{what}.priv", defaults)
    return env


def _ssh_env(inv: Inventory, device: Device, defaults: dict[str, str]) -> dict[str, str]:
    name = inv.resolved(device, "ssh_credential")
    cred = inv.credentials.ssh.get(name) if name else None
    if cred is None or cred.password is None:
        return {}
    what = f"credentials.ssh.{name}.password"
    return {"SSH_USER": cred.username, "SSH_PASSWORD": _env_ref(cred.password, what, defaults)}


def _frr_node(inv: Inventory, device: Device, lab: str, defaults: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "linux",
        "image": FRR_IMAGE,
        "mgmt-ipv4": str(device.mgmt),
        "binds": [
            f"{lab}/{device.name}/frr.conf:/etc/frr/frr.conf",
            f"{lab}/{device.name}/daemons:/etc/frr/daemons",
        ],
        "env": {
            **_snmp_env(inv, device, defaults),
            **_ssh_env(inv, device, defaults),
            **_notify_env(inv, device, syslog=True),
        },
        "labels": _labels(inv, device),
    }


def _notify_env(inv: Inventory, device: Device, syslog: bool = False) -> dict[str, str]:
    """Where a lab node sends its notifications: the NMS's trap receiver (SNMP informs) and,
    for ``syslog``, its syslog receiver (sshd logins) — on the NMS's management address when
    the node has one, else its loopback (in-band), from the address the probes know the
    node by. Ports: those of ``govnet probe serve --traps-listen/--syslog-listen``."""
    nms = next((d for d in inv.devices if d.role is Role.NMS), None)
    if nms is None or nms.name == device.name:
        return {}
    in_band = device.role is Role.CPE and device.mgmt == device.loopback
    sink = nms.loopback if in_band and nms.loopback is not None else nms.mgmt
    env = {
        "SNMP_TRAP_SINK": f"{sink}:{LAB_TRAP_PORT}",
        "SNMP_TRAP_ENGINE_ID": RECEIVER_ENGINE_ID.hex(),  # govnet probe serve's receiver
        "SNMP_TRAP_SOURCE": str(device.mgmt),
    }
    if syslog:
        env["SYSLOG_SINK"] = f"{sink}:{LAB_SYSLOG_PORT}"
    return env


def _host_node(
    inv: Inventory, device: Device, intent: DeviceIntent, defaults: dict[str, str]
) -> dict[str, Any]:
    commands = [f"ip addr add {a} dev {i.name}" for i in intent.interfaces for a in i.addresses]
    if device.loopback is not None:
        commands.append(f"ip addr add {device.loopback}/32 dev lo")
    for route in intent.static_routes:
        target = "default" if route.prefix.prefixlen == 0 else str(route.prefix)
        commands.append(f"ip route replace {target} via {route.next_hop}")
    env = {"GOVNET_SNMPD": "1", **_snmp_env(inv, device, defaults), **_notify_env(inv, device)}
    node: dict[str, Any] = {"kind": "linux", "env": env, "exec": commands}
    if device.role is not Role.CPE or device.mgmt != device.loopback:
        node["mgmt-ipv4"] = str(device.mgmt)
    node["labels"] = _labels(inv, device)
    return node


def _tunnel_env_name(tunnel_name: str) -> str:
    return "IPSEC_PSK_" + tunnel_name.upper().replace("-", "_")


def _add_tunnels(
    node: dict[str, Any], intent: DeviceIntent, lab: str, defaults: dict[str, str]
) -> None:
    """A tunnel end in the lab: charon runs the node's swanctl.conf (its pre-shared keys
    come from the node's environment), and exec commands make the underlay routes, the
    guards that drop inner traffic while its SA is down, and the VXLAN interfaces."""
    node["binds"].append(f"{lab}/{intent.name}/swanctl.conf:{SWANCTL_CONF}")
    commands: list[str] = []
    seen: set[str] = set()
    for t in intent.tunnels:
        if t.internet_interface not in seen:  # no IPv6 chatter in clear across the internet
            seen.add(t.internet_interface)
            commands.append(f"sysctl -qw net.ipv6.conf.{t.internet_interface}.disable_ipv6=1")
        commands += [
            f"ip route replace {t.remote_public}/32 via {t.gateway} dev {t.internet_interface}"
            " onlink",
            f"ip route replace unreachable {t.remote_inner}/32",
            f"ip link add {t.interface} type vxlan id {t.vni} local {t.local_inner}"
            f" remote {t.remote_inner} dstport {VXLAN_PORT} nolearning",
            f"ip link set {t.interface} mtu {VXLAN_MTU} up",
        ]
        node["env"][_tunnel_env_name(t.name)] = _env_ref(t.psk, f"tunnel {t.name}.psk", defaults)
    node["exec"] = commands
    node["labels"]["govnet-ipsec"] = ",".join(t.name for t in intent.tunnels)


def _transit_node(
    inv: Inventory, included: set[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The internet between the missions and the data centres: a plain namespace holding
    every provider's gateway address, forwarding between them (IPv4 only)."""
    commands = [
        "sysctl -qw net.ipv4.ip_forward=1",
        "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
        "sysctl -qw net.ipv6.conf.default.disable_ipv6=1",
    ]
    links: list[dict[str, Any]] = []
    endpoints = [dc.internet for dc in inv.datacentres if dc.internet is not None]
    endpoints += [m.internet for m in inv.missions]
    port = 0
    for ep in endpoints:
        if ep.device not in included:
            continue
        port += 1
        commands.append(f"ip addr add {ep.gateway}/{ep.address.network.prefixlen} dev eth{port}")
        links.append({"endpoints": [f"{ep.device}:{ep.interface}", f"{TRANSIT}:eth{port}"]})
    node = {
        "kind": "linux",
        "exec": commands,
        "labels": {"govnet-role": "internet-transit"},
    }
    return node, links


def _group_cpes(inv: Inventory, cpes: list[Device]) -> dict[str, list[Device]]:
    """Province router → the CPEs on its access links."""
    cpe_names = {d.name for d in cpes}
    by_name = {d.name: d for d in inv.devices}
    groups: dict[str, list[Device]] = defaultdict(list)
    for link in inv.links:
        if link.b_device in cpe_names:
            groups[link.a_device].append(by_name[link.b_device])
        elif link.a_device in cpe_names:
            groups[link.b_device].append(by_name[link.a_device])
    return dict(groups)


def _trunk_of(inv: Inventory, router: str, members: list[Device]) -> str:
    names = {m.name for m in members}
    parents = set()
    for link in inv.links:
        for dev, iface, peer in (
            (link.a_device, link.a_interface, link.b_device),
            (link.b_device, link.b_interface, link.a_device),
        ):
            if dev == router and peer in names:
                parents.add(iface.rpartition(".")[0] or iface)
    if len(parents) != 1:
        raise TopologyError(
            f"{router}: aggregate communes need every CPE on one trunk interface, found "
            f"{', '.join(sorted(parents))}"
        )
    return parents.pop()


def _collapse_subinterfaces(intent: DeviceIntent, cpes: set[str]) -> DeviceIntent:
    """Fold VLAN sub-interfaces into their parent (the lab kernel has no 802.1q)."""
    kept: list[InterfaceIntent] = []
    folded: dict[str, list[InterfaceIntent]] = defaultdict(list)
    for iface in intent.interfaces:
        if iface.parent is not None and any(c in iface.description for c in cpes):
            folded[iface.parent].append(iface)
        else:
            kept.append(iface)
    for parent, subs in folded.items():
        kept.append(
            replace(
                subs[0],
                name=parent,
                description=f"{len(subs)} commune links (VLANs folded: no 802.1q in the lab)",
                addresses=tuple(a for s in subs for a in s.addresses),
                vlan=None,
            )
        )
    return intent.with_interfaces(tuple(sorted(kept, key=lambda i: i.name)))


def _aggregate_node(
    inv: Inventory,
    router: str,
    members: list[Device],
    trunk: str,
    intents: dict[str, DeviceIntent],
    mgmt: IPv4Address,
    defaults: dict[str, str],
) -> dict[str, Any]:
    commands: list[str] = []
    gateway: IPv4Address | None = None
    for cpe in members:
        intent = intents[cpe.name]
        for iface in intent.interfaces:
            commands += [f"ip addr add {a} dev eth1" for a in iface.addresses]
        if cpe.loopback is not None:
            commands.append(f"ip addr add {cpe.loopback}/32 dev lo")
        if gateway is None and intent.static_routes:
            gateway = intent.static_routes[0].next_hop
    if gateway is not None:
        commands.append(f"ip route replace default via {gateway}")
    env = {"GOVNET_SNMPD": "1", **_snmp_env(inv, members[0], defaults)}
    province = inv.device(router).site
    return {
        "kind": "linux",
        "mgmt-ipv4": str(mgmt),
        "env": env,
        "exec": commands,
        "labels": {
            "govnet-role": "commune-host",
            "govnet-province": province,
            "govnet-communes": str(len(members)),
            "govnet-trunk": f"{router}:{trunk}",
        },
    }


def _spare_mgmt(inv: Inventory) -> Any:
    pool = next((p.prefix for p in inv.pools.ipv4.values() if p.use == "management"), None)
    if pool is None:
        raise TopologyError("pools: no management pool to address the lab's nodes from")
    used = {d.mgmt for d in inv.devices}
    for address in reversed(list(pool.hosts())):
        if address not in used:
            yield address


def _daemons(intent: DeviceIntent) -> str:
    bgp = "yes" if intent.bgp_asn else "no"
    return (
        "# FRR daemons of this node (rendered by govnet)\n"
        "zebra=yes\n"
        f"bgpd={bgp}\n"
        f"ospfd={'yes' if intent.ospf else 'no'}\n"
        "ospf6d=no\nripd=no\nripngd=no\nisisd=no\npimd=no\nldpd=no\nnhrpd=no\n"
        "eigrpd=no\nbabeld=no\nsharpd=no\npbrd=no\nbfdd=no\nfabricd=no\nvrrpd=no\npathd=no\n"
        "staticd=yes\n"
        "vtysh_enable=yes\n"
        'zebra_options="  -A 127.0.0.1 -s 90000000"\n'
        'bgpd_options="   -A 127.0.0.1"\n'
        'ospfd_options="  -A 127.0.0.1"\n'
        'staticd_options="-A 127.0.0.1"\n'
    )
