"""Provision and decommission allocations on the data-centre gateways with Ansible.

Reuses ``controller.ansible`` whole: the run's inventory (from the govnet inventory, the
lab's Ansible login), pinned host keys, the lab's management namespace, artifacts under
``<state-dir>/ansible/runs/`` and the audit log. This module only chooses the gateways
and writes the extra vars the playbooks read (``hosting_allocations`` …).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import collapse_addresses
from pathlib import Path
from typing import Any

from controller.ansible import PlaybookRun, find_playbook, run_playbook
from controller.ansible.events import TaskEvent
from controller.ansible.inventory import LabTarget
from controller.ansible.plan import run_spec, select_hosts
from controller.ansible.runner import no_progress
from controller.hosting.errors import HostingError
from controller.inventory.model import Device, Hosting, Inventory, Role

PROVISION_PLAYBOOK = "hosting_provision"
DECOMMISSION_PLAYBOOK = "hosting_decommission"
DEFAULT_TCP_PORTS = (80, 443)
PRIVATE_USES = frozenset({"loopback", "p2p", "hosting"})
_SAFE = re.compile(r"[^A-Za-z0-9 ._-]+")


@dataclass(frozen=True)
class Target:
    """Where and how to run: a lab (or the real network), check mode, the state dir."""

    state_dir: Path
    lab: LabTarget | None = None
    check: bool = False
    trust_on_first_use: bool = False
    tcp_ports: tuple[int, ...] = DEFAULT_TCP_PORTS
    production: bool = False
    """Outside a lab: the operator said this is the real network (``--production``)."""


def gateway(inv: Inventory, datacentre: str) -> Device:
    """The data centre's gateway router (role dc-gateway, site = the data centre)."""
    found = sorted(
        (d for d in inv.devices if d.role == Role.DC_GATEWAY and d.site == datacentre),
        key=lambda d: d.name,
    )
    if not found:
        raise HostingError(f"no dc-gateway device in {datacentre}: nothing to provision on")
    return found[0]


def private_prefixes(inv: Inventory) -> list[str]:
    """The private network a tenant zone accepts traffic from: loopback, p2p and hosting
    pools (not management)."""
    nets = [p.prefix for p in inv.pools.ipv4.values() if p.use in PRIVATE_USES]
    return [str(n) for n in collapse_addresses(nets)]


def allocation_vars(inv: Inventory, alloc: Hosting) -> dict[str, Any]:
    if alloc.vlan is None or alloc.prefix is None:
        raise HostingError(f"{alloc.id} has no VLAN or prefix: nothing to provision")
    net = alloc.prefix
    if net.num_addresses < 4:
        raise HostingError(f"{alloc.id}: {net} has no room for a gateway and a server")
    gw = net.network_address + 1
    server = net.network_address + 2
    label = _SAFE.sub("", f"hosting {alloc.id} {alloc.tenant} {alloc.service}")[:80].strip()
    return {
        "id": alloc.id,
        "host": gateway(inv, alloc.datacentre).name,
        "tenant": alloc.tenant,
        "vlan": alloc.vlan,
        "interface": f"v{alloc.vlan}",
        "prefix": str(net),
        "gateway": f"{gw}/{net.prefixlen}",
        "gateway_address": str(gw),
        "server": f"{server}/{net.prefixlen}",
        "description": label,
        "table": f"govnet_h{alloc.vlan}",
        "frr_pair": f"v{alloc.vlan} {gw}/{net.prefixlen}",
    }


def playbook_vars(
    inv: Inventory, request: int, allocs: list[Hosting], state: str, target: Target
) -> dict[str, Any]:
    return {
        "hosting_request": request,
        "hosting_state": state,
        "hosting_allocations": [allocation_vars(inv, a) for a in allocs],
        "hosting_private_prefixes": private_prefixes(inv),
        "hosting_tcp_ports": list(target.tcp_ports),
        "hosting_privileged": "lab" if target.lab is not None else "become",
    }


def gateways_of(inv: Inventory, allocs: list[Hosting]) -> list[str]:
    return sorted({gateway(inv, a.datacentre).name for a in allocs})


def check_reach(inv: Inventory, allocs: list[Hosting], target: Target) -> None:
    """Refuse before anything is recorded or started when the gateways are a real
    network and the operator did not say so (the same check :func:`run` makes)."""
    select_hosts(inv, gateways_of(inv, allocs), False, target.lab, production=target.production)


def run(
    inv: Inventory,
    request: int,
    allocs: list[Hosting],
    *,
    state: str,
    target: Target,
    progress: Callable[[TaskEvent], None] = no_progress,
) -> PlaybookRun:
    """Run hosting_provision (state present) or hosting_decommission (absent)."""
    if not allocs:
        raise HostingError("the request has no allocations to provision")
    name = PROVISION_PLAYBOOK if state == "present" else DECOMMISSION_PLAYBOOK
    extra = playbook_vars(inv, request, allocs, state, target)
    hosts = sorted({a["host"] for a in extra["hosting_allocations"]})
    scope = select_hosts(inv, hosts, False, target.lab, production=target.production)
    spec = run_spec(
        inv,
        find_playbook(name),
        scope,
        target.lab,
        check=target.check,
        state_dir=target.state_dir,
        trust_on_first_use=target.trust_on_first_use,
    )
    spec = replace(spec, extravars={**spec.extravars, **extra})
    return run_playbook(spec, progress)


def failure_summary(result: PlaybookRun) -> str:
    bad = [h for h in result.hosts if h.bad]
    if not bad and result.status == "successful":
        return ""
    parts = [f"{h.host}: {'; '.join(h.messages) or h.status}" for h in bad]
    return "; ".join(parts) or f"ansible-playbook {result.status} (rc {result.rc})"
