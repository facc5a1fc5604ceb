"""Devices in a running namespace lab: the lab's namespace, directory and Ansible login.

Only this module (and the runner's namespace switch) knows about ``simulations``: the lab
is optional for real networks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from controller.ansible.inventory import LabTarget, Login, credential_login
from controller.errors import UsageError
from controller.inventory.model import Device, Inventory


def lab_target(topology: Path, lab_dir: Path | None = None) -> LabTarget:
    """The lab of ``topology``; refuses one whose management namespace does not exist."""
    from simulations.lab import Lab
    from simulations.netns import netns_exists

    if not topology.is_file():
        raise UsageError(f"{topology}: no such topology file")
    plan = Lab(topology, lab_dir).plan
    if not netns_exists(plan.mgmt_netns):
        raise UsageError(
            f"network namespace {plan.mgmt_netns!r} does not exist "
            f"(is the lab up? govnet lab up {topology})"
        )
    return LabTarget(
        plan.lab,
        plan.mgmt_netns,
        plan.lab_dir,
        {n.name: n.frr_instance for n in plan.nodes if n.frr},
    )


def lab_login(inv: Inventory, device: Device, env: Mapping[str, str] | None = None) -> Login:
    """The lab's Ansible login, resolved the way ``govnet lab up`` made it: user
    ``$ANSIBLE_USER`` (default ``govnet-ansible``); password ``$ANSIBLE_PASSWORD``, else
    ``$SSH_PASSWORD``, else the device's SSH credential (``env:GOVNET_LAB_SSH_PASSWORD``:
    the lab's ``SSH_PASSWORD``); a credential ``key_file`` works with ``SSH_AUTHORIZED_KEY``."""
    from simulations.services import DEFAULT_ANSIBLE_USER

    src = os.environ if env is None else env
    user = src.get("ANSIBLE_USER") or DEFAULT_ANSIBLE_USER
    cred = credential_login(inv, device)
    if src.get("ANSIBLE_PASSWORD"):
        return Login(user, "env:ANSIBLE_PASSWORD", cred.key_file_ref)
    if src.get("SSH_PASSWORD"):
        return Login(user, "env:SSH_PASSWORD", cred.key_file_ref)
    return Login(user, cred.password_ref, cred.key_file_ref)
