"""Pure planning: which devices a request touches, what they should run, what changes.

Inventory → scope (devices) → intended text per device → plan (commands, diff)
against the running text fetched by the engine. No I/O here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from controller.errors import UsageError
from controller.inventory.model import NETMIKO_DEVICE_TYPE, Device, Inventory, Link, Platform
from controller.provision.dialects import DIALECTS, Dialect
from controller.provision.scope import FeatureCompliance, Scope, compliance, load_scope
from controller.provision.tree import Node, commands, parse, unified_diff, with_implicit
from controller.render.intent import ROUTER_ROLES, build_intents
from controller.render.templates import render
from controller.topology.render import render_topology


@dataclass(frozen=True)
class DeviceSpec:
    """A device govnet configures: how to speak to it and what it should run."""

    device: Device
    platform: Platform
    device_type: str
    dialect: Dialect
    intended: str

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

    @property
    def changed(self) -> bool:
        return bool(self.commands)


def plan_device(spec: DeviceSpec, running: str) -> DevicePlan:
    """The commands that make the managed part of ``running`` what the inventory says,
    and its diff; lines outside the platform's managed scope are never touched."""
    current, wanted = spec.managed(running)
    return DevicePlan(
        spec.device.name,
        commands(current, wanted, spec.dialect),
        unified_diff(current, wanted, spec.device.name),
        running,
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
            specs.append(
                DeviceSpec(device, Platform.FRR, "cisco_ios", DIALECTS[Platform.FRR], text)
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
        specs.append(
            DeviceSpec(
                device,
                platform,
                NETMIKO_DEVICE_TYPE[platform],
                dialect,
                render(intents[device.name]),
            )
        )
    return specs


def links_to_verify(
    inv: Inventory, plans: dict[str, DevicePlan], present: frozenset[str] | None = None
) -> list[Link]:
    """Links with an end on a changed device whose interface the change touched (and,
    in a lab, whose both ends exist there)."""
    touched: set[tuple[str, str]] = set()
    for name, plan in plans.items():
        for command in plan.commands:
            if command.startswith("interface "):
                touched.add((name, command.split()[1]))
    return [
        link
        for link in inv.links
        if (
            (link.a_device, link.a_interface) in touched
            or (link.b_device, link.b_interface) in touched
        )
        and (present is None or {link.a_device, link.b_device} <= present)
    ]
