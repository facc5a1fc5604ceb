"""The Ansible inventory of one run: the selected devices, from the govnet inventory.

Built on :func:`controller.inventory.views.ansible_inventory` (same host names, groups and
``govnet_*`` variables), narrowed to the selected hosts and switched to a shell login over
SSH. Secrets stay references: a password becomes ``{{ lookup('env', 'NAME') }}`` (or
``lookup('file', PATH)``), resolved by Ansible in memory — never written to a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.errors import UsageError
from controller.inventory.model import Device, Inventory
from controller.inventory.views import ansible_inventory

LAB_PYTHON = "/usr/bin/python3"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SAFE_PATH = re.compile(r"^[^'\"\\{}%#\n]+$")


@dataclass(frozen=True)
class Login:
    """How Ansible logs in to a host: a user and secret *references* (``env:``/``file:``)."""

    user: str
    password_ref: str | None = None
    key_file_ref: str | None = None


@dataclass(frozen=True)
class LabTarget:
    """A running namespace lab the devices live in."""

    name: str
    mgmt_netns: str
    lab_dir: Path
    frr_instances: dict[str, str]  # FRR node → its FRR instance (= its namespace)

    def node_dir(self, host: str) -> Path:
        """``<lab-dir>/nodes/<host>/``: where a playbook may write files for ``host``."""
        return self.lab_dir / "nodes" / host


def lookup_expr(reference: str, field: str) -> str:
    """A Jinja lookup for an ``env:NAME`` or ``file:PATH`` secret reference."""
    kind, _, rest = reference.partition(":")
    if kind == "env" and _ENV_NAME.match(rest):
        return "{{ lookup('env', '" + rest + "') }}"
    if kind == "file" and _SAFE_PATH.match(rest):
        return "{{ lookup('file', '" + rest + "') }}"
    raise UsageError(f"{field}: {reference.split(':')[0]}:…: cannot be passed to Ansible")


def credential_login(inv: Inventory, device: Device) -> Login:
    """The device's ``ssh_credential`` from the inventory."""
    name = inv.resolved(device, "ssh_credential")
    cred = inv.credentials.ssh.get(name) if name else None
    if cred is None:
        raise UsageError(f"{device.name}: no SSH credential (set ssh_credential)")
    return Login(cred.username, cred.password, cred.key_file)


def host_vars(login: Login, name: str, lab: LabTarget | None) -> dict[str, Any]:
    """Connection variables for one host (secrets as lookups)."""
    where = f"{name}: ssh credential"
    out: dict[str, Any] = {"ansible_connection": "ssh", "ansible_user": login.user}
    if login.password_ref:
        out["ansible_password"] = lookup_expr(login.password_ref, f"{where} password")
    if login.key_file_ref:
        kind, _, path = login.key_file_ref.partition(":")
        if kind != "file" or not _SAFE_PATH.match(path):
            raise UsageError(f"{where} key_file: must be file:PATH")
        out["ansible_ssh_private_key_file"] = path
    if lab is not None:
        instance = lab.frr_instances.get(name)
        if instance is None:
            raise UsageError(f"{name} is not an FRR router of lab {lab.name!r}")
        node_dir = lab.node_dir(name)
        out.update(
            ansible_python_interpreter=LAB_PYTHON,
            ansible_remote_tmp=str(node_dir / ".ansible-tmp"),
            # lab sshd has no sftp subsystem: `smart` would try sftp and scp first
            ansible_ssh_transfer_method="piped",
            govnet_lab=lab.name,
            govnet_frr_instance=instance,
            govnet_node_dir=str(node_dir),
        )
    return out


def build_inventory(
    inv: Inventory,
    devices: list[Device],
    logins: dict[str, Login],
    lab: LabTarget | None = None,
) -> dict[str, Any]:
    """The YAML-ready inventory: selected hosts (govnet vars + connection vars), and the
    role/province/tenant groups that contain any of them."""
    full = ansible_inventory(inv)["all"]
    names = sorted({d.name for d in devices})
    hosts: dict[str, Any] = {}
    for name in names:
        base = dict(full["hosts"][name])
        base.pop("ansible_network_os", None)  # a shell login, not network_cli
        base.update(host_vars(logins[name], name, lab))
        hosts[name] = base
    children: dict[str, Any] = {}
    for group, body in full["children"].items():
        members = {h: None for h in body["hosts"] if h in hosts}
        if members:
            children[group] = {"hosts": members}
    return {"all": {"hosts": hosts, "children": children}}


def addresses(inventory: dict[str, Any]) -> dict[str, str]:
    """Host → ``ansible_host`` (for the host-key preflight)."""
    return {name: str(v["ansible_host"]) for name, v in inventory["all"]["hosts"].items()}


def secret_refs(logins: dict[str, Login]) -> set[str]:
    return {login.password_ref for login in logins.values() if login.password_ref}
