"""Pure planning: which devices a request touches, what they should run, what changes.

Inventory → scope (devices) → intended text per device → plan (commands, diff)
against the running text fetched by the engine. No I/O here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from controller.errors import UsageError
from controller.inventory.model import NETMIKO_DEVICE_TYPE, Device, Inventory, Link, Platform
from controller.provision.dialects import DIALECTS, Dialect
from controller.provision.ipsec import IpsecPlan, plan_ipsec
from controller.provision.scope import FeatureCompliance, Scope, compliance, load_scope
from controller.provision.tree import Node, commands, parse, unified_diff, with_implicit
from controller.provision.verify import Keep
from controller.render.intent import ROUTER_ROLES, build_intents
from controller.render.templates import render, render_ipsec
from controller.topology.render import render_topology


@dataclass(frozen=True)
class DeviceSpec:
    """A device govnet configures: how to speak to it and what it should run."""

    device: Device
    platform: Platform
    device_type: str
    dialect: Dialect
    intended: str
    ipsec: str | None = None
    """The ``swanctl.conf`` it should run: a router that ends mission tunnels (None:
    govnet leaves its IPsec side alone)."""

    @property
    def scope(self) -> Scope:
        """What govnet owns on this device (its platform's ``scope.yaml``)."""
        return load_scope(self.platform)

    def managed(self, running: str) -> tuple[Node, Node]:
        """The managed part of ``running`` and the intended tree."""
        wanted = parse(self.intended, self.dialect)
        current = parse(running, self.dialect)
        managed = self.scope.managed(current, wanted, self.device.interfaces)
        return with_implicit(managed, wanted, self.dialect), wanted


@dataclass
class DevicePlan:
    name: str
    commands: list[str]
    diff: str
    running: str = field(repr=False, default="")
    ipsec: IpsecPlan | None = None

    @property
    def changed(self) -> bool:
        return bool(self.commands) or self.ipsec_changed

    @property
    def ipsec_changed(self) -> bool:
        return self.ipsec is not None and self.ipsec.changed


def plan_device(spec: DeviceSpec, running: str, ipsec_running: str | None = None) -> DevicePlan:
    """The commands that make the managed part of ``running`` what the inventory says,
    and its diff; lines outside the platform's managed scope are never touched. A router
    with tunnels also gets its ``swanctl.conf`` planned, from ``ipsec_running`` (the file
    on the device, None when it has none); its diff follows the configuration's."""
    current, wanted = spec.managed(running)
    diff = unified_diff(current, wanted, spec.device.name)
    ipsec = None
    if spec.ipsec is not None:
        ipsec = plan_ipsec(spec.device.name, ipsec_running, spec.ipsec)
        diff += ipsec.diff
    return DevicePlan(
        spec.device.name,
        commands(current, wanted, spec.dialect),
        diff,
        running,
        ipsec,
    )


def device_compliance(spec: DeviceSpec, running: str) -> list[FeatureCompliance]:
    """Per feature of the device's managed scope: compliant, or what is missing/extra."""
    current, wanted = spec.managed(running)
    return compliance(spec.scope, current, wanted)


def link_index(inv: Inventory) -> dict[str, Link]:
    """Links by name and by their ``a--b`` id."""
    index: dict[str, Link] = {}
    for link in inv.links:
        index[link.id] = link
        if link.name:
            index[link.name] = link
    return index


def select_devices(
    inv: Inventory, links: list[str], devices: list[str], everything: bool
) -> tuple[list[Device], list[str]]:
    """Devices in scope (routers govnet can configure) and notes on what was left out."""
    if not (links or devices or everything):
        raise UsageError("name links, --device D, or --all")
    by_name = {d.name: d for d in inv.devices}
    index = link_index(inv)
    chosen: dict[str, Device] = {}
    notes: list[str] = []
    for ident in links:
        link = index.get(ident)
        if link is None:
            raise UsageError(f"no link {ident!r} (see `govnet link list`)")
        for name in (link.a_device, link.b_device):
            chosen[name] = by_name[name]
    for name in devices:
        if name not in by_name:
            raise UsageError(f"no device {name!r} in the inventory")
        chosen[name] = by_name[name]
    if everything:
        chosen.update({d.name: d for d in inv.devices})
    scope = [d for d in chosen.values() if d.role in ROUTER_ROLES]
    skipped = Counter(d.role.value for d in chosen.values() if d.role not in ROUTER_ROLES)
    if skipped:
        listed = ", ".join(f"{n} {role}" for role, n in sorted(skipped.items()))
        notes.append(f"not configured by govnet (not routers): {listed}")
    return sorted(scope, key=lambda d: d.name), notes


def device_specs(
    inv: Inventory, devices: list[Device], lab: str | None, notes: list[str] | None = None
) -> list[DeviceSpec]:
    """What each device should run. In a lab every router is FRR, configured exactly as
    ``govnet topology render`` wrote it (VLANs folded the same way); devices the lab
    does not run are left out with a note."""
    specs: list[DeviceSpec] = []
    if lab is not None:
        files = render_topology(inv, lab).files
        absent = []
        for device in devices:
            text = files.get(f"{lab}/{device.name}/frr.conf")
            if text is None:
                absent.append(device.name)
                continue
            ipsec = files.get(f"{lab}/{device.name}/swanctl.conf")
            specs.append(
                DeviceSpec(device, Platform.FRR, "cisco_ios", DIALECTS[Platform.FRR], text, ipsec)
            )
        if absent and notes is not None:
            notes.append(f"not in lab {lab!r}: {', '.join(absent)}")
        if not specs:
            raise UsageError(f"none of the selected devices runs in lab {lab!r}")
        return specs
    intents = build_intents(inv)
    for device in devices:
        platform = inv.platform(device)
        dialect = DIALECTS.get(platform)
        if dialect is None:
            raise UsageError(f"{device.name}: govnet does not configure {platform.value} devices")
        intent = intents[device.name]
        if intent.tunnels and platform is not Platform.FRR:
            raise UsageError(
                f"{device.name}: ends IPsec tunnels, which govnet configures on FRR routers "
                f"(strongSwan) only, not on {platform.value}"
            )
        specs.append(
            DeviceSpec(
                device,
                platform,
                NETMIKO_DEVICE_TYPE[platform],
                dialect,
                render(intent),
                render_ipsec(intent) if intent.tunnels else None,
            )
        )
    return specs


_OSPF_BLOCK = re.compile(r"^(?:no |undo )?(?:router ospf|ospf)\b")
_BGP_BLOCK = re.compile(r"^(?:no |undo )?(?:router bgp|bgp)\b")


def links_to_verify(
    inv: Inventory, plans: dict[str, DevicePlan], present: frozenset[str] | None = None
) -> list[Link]:
    """Links the change touched (and, in a lab, whose both ends exist there): those with
    an end on a changed device whose interface the change touched — names compared
    exactly — and every OSPF (BGP) link of a device whose ``router ospf`` (``router
    bgp``) block the change touched, removal included."""
    touched: set[tuple[str, str]] = set()
    ospf: set[str] = set()
    bgp: set[str] = set()
    for name, plan in plans.items():
        for command in plan.commands:
            words = command.split()
            if len(words) >= 2 and words[0] == "interface":
                touched.add((name, words[1]))
            if _OSPF_BLOCK.match(command):
                ospf.add(name)
            if _BGP_BLOCK.match(command):
                bgp.add(name)

    def wanted(link: Link) -> bool:
        ends = {link.a_device, link.b_device}
        if (link.a_device, link.a_interface) in touched or (
            link.b_device,
            link.b_interface,
        ) in touched:
            return True
        return bool(
            (link.routing.ospf is not None and ends & ospf)
            or (link.routing.bgp is not None and ends & bgp)
        )

    return [
        link
        for link in inv.links
        if wanted(link) and (present is None or {link.a_device, link.b_device} <= present)
    ]


def _lines(node: Node) -> Iterator[str]:
    for child in node.children:
        yield child.line
        yield from _lines(child)


def keep_of(spec: DeviceSpec, running: str) -> Keep:
    """What the device keeps after its change: interfaces still configured and not shut
    (those outside govnet's managed scope included — it never removes them), BGP
    neighbours still configured, and how many routes the change withdraws (the addresses
    and static routes it removes from the managed scope)."""
    current, wanted = spec.managed(running)
    removed = {
        c.split()[2]
        for c in commands(current, wanted, spec.dialect)
        if c.startswith(f"{spec.dialect.negate} interface ") and len(c.split()) == 3
    }

    def interfaces(root: Node) -> set[str]:
        return {
            node.line.split()[1]
            for node in root.children
            if node.line.startswith("interface ")
            and len(node.line.split()) == 2
            and node.child("shutdown") is None
        }

    target = parse(spec.intended, spec.dialect)
    kept = (interfaces(parse(running, spec.dialect)) - removed) | interfaces(target)
    shut = {n.line.split()[1] for n in target.children if n.child("shutdown") is not None}
    peers: set[str] = set()
    for node in target.children:
        if node.line.startswith(("router bgp ", "bgp ")):
            for line in _lines(node):
                words = line.split()
                if (
                    len(words) >= 3
                    and words[0] in {"neighbor", "peer"}
                    and words[2]
                    in {
                        "remote-as",
                        "as-number",
                    }
                ):
                    peers.add(words[1])
    before = Counter(line for line in _lines(current) if line.startswith(_WITHDRAWS))
    after = Counter(line for line in _lines(wanted) if line.startswith(_WITHDRAWS))
    return Keep(frozenset(kept - shut), frozenset(peers), sum((before - after).values()))


_WITHDRAWS = ("ip address ", "ip route ", "ip route-static ")


def _changed_lines(current: Node, wanted: Node) -> Iterator[str]:
    """Every line the change adds, removes or gives a new value, at any depth: a block on
    one side only counts with all its lines; a block on both sides, by its children."""
    for node in current.children:
        other = wanted.child(node.line)
        if other is None:
            yield node.line
            yield from _lines(node)
        else:
            yield from _changed_lines(node, other)
    for node in wanted.children:
        if current.child(node.line) is None:
            yield node.line
            yield from _lines(node)


def may_fail_later(spec: DeviceSpec, running: str) -> bool:
    """Whether the change from ``running`` to the intended config could still take an
    adjacency down after it first looks healthy (a new hello or dead interval, area,
    address, authentication, a removed block …) — False only when every line it touches
    is one of the platform's adjacency-neutral lines (a cost, a description, NTP …)."""
    current, wanted = spec.managed(running)
    dialect = spec.dialect
    prefix = f"{dialect.negate} "
    for line in _changed_lines(current, wanted):
        bare = line.removeprefix(prefix)
        if not any(p.search(bare) for p in dialect.adjacency_neutral):
            return True
    return False


def settle_seconds(inv: Inventory, changed: set[str], cap: float) -> float:
    """How long a touched adjacency may still look healthy after a breaking change: the
    longest OSPF dead interval on the links of ``changed`` — the devices whose change
    :func:`may_fail_later` — (4 × hello, 40 s by default), at most ``cap``; 0 when none."""
    longest = 0.0
    for link in inv.links:
        ospf = link.routing.ospf
        if ospf is None or not {link.a_device, link.b_device} & changed:
            continue
        dead = ospf.dead or 4 * (ospf.hello or 10)
        longest = max(longest, float(dead))
    return min(longest, cap)
