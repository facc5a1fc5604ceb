"""From a request (playbook, devices, lab) to a :class:`RunSpec`: scope, logins, inventory,
extra vars. No I/O apart from reading the environment for the lab login."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.ansible.inventory import LabTarget, Login, build_inventory, credential_login
from controller.ansible.inventory import secret_refs as refs_of
from controller.ansible.playbooks import Playbook
from controller.ansible.runner import RunSpec
from controller.errors import UsageError
from controller.inventory.model import Device, Inventory, Platform
from controller.masking import register_inventory
from controller.netguard import check_reach, destinations, production_declared
from controller.provision.plan import select_devices

SHELL_PLATFORMS = frozenset({Platform.FRR, Platform.LINUX})
DEFAULT_OPERATOR = "MPTC"


@dataclass(frozen=True)
class Scope:
    devices: list[Device]
    notes: list[str]


def select_hosts(
    inv: Inventory,
    names: list[str],
    everything: bool,
    lab: LabTarget | None,
    *,
    production: bool = False,
) -> Scope:
    """The routers to run on. Unknown names are an error; devices a playbook cannot reach
    with a shell login (not in the lab, or a vendor CLI platform) are left out with a note.

    Outside a lab, the selected routers must be loopback or the operator must have said
    ``production`` (:func:`controller.netguard.check_reach`) — checked first, before
    anything else could open a connection."""
    devices, notes = select_devices(inv, [], names, everything)
    check_reach(
        destinations(devices),
        namespace=lab.mgmt_netns if lab is not None else None,
        production=production_declared(inv, production),
    )
    register_inventory(inv)
    if lab is not None:
        absent = [d.name for d in devices if d.name not in lab.frr_instances]
        devices = [d for d in devices if d.name in lab.frr_instances]
        if absent:
            notes.append(f"not FRR routers of lab {lab.name!r}: {', '.join(absent)}")
    else:
        vendor = [d for d in devices if inv.platform(d) not in SHELL_PLATFORMS]
        devices = [d for d in devices if inv.platform(d) in SHELL_PLATFORMS]
        if vendor:
            listed = ", ".join(f"{d.name} ({inv.platform(d).value})" for d in vendor)
            notes.append(f"no shell login for Ansible (vendor CLI): {listed}")
    if not devices:
        where = f" in lab {lab.name!r}" if lab else ""
        raise UsageError(f"none of the selected devices can run a playbook{where}")
    return Scope(devices, notes)


def extravars(inv: Inventory, lab: LabTarget | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "govnet_network": inv.network.name,
        "govnet_operator": inv.network.operator or DEFAULT_OPERATOR,
    }
    if lab is not None:
        out["govnet_lab_dir"] = str(lab.lab_dir)
    return out


def run_spec(
    inv: Inventory,
    playbook: Playbook,
    scope: Scope,
    lab: LabTarget | None,
    *,
    check: bool,
    state_dir: Path,
    trust_on_first_use: bool = False,
    forks: int = 10,
    env: Mapping[str, str] | None = None,
) -> RunSpec:
    if lab is not None:
        from controller.ansible.lab import lab_login

        logins: dict[str, Login] = {d.name: lab_login(inv, d, env) for d in scope.devices}
    else:
        logins = {d.name: credential_login(inv, d) for d in scope.devices}
    inventory = build_inventory(inv, scope.devices, logins, lab)
    return RunSpec(
        playbook=playbook,
        inventory=inventory,
        extravars=extravars(inv, lab),
        check=check,
        state_dir=state_dir,
        netns=lab.mgmt_netns if lab else None,
        lab=lab.name if lab else None,
        trust_on_first_use=trust_on_first_use,
        forks=forks,
        secret_refs=frozenset(refs_of(logins)),
    )
