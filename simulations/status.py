"""Lab status as plain dataclasses (the CLI renders them as a table or JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from simulations.netns import netns_exists, run
from simulations.plan import LabPlan
from simulations.procs import pid_alive
from simulations.state import LabState


@dataclass
class ProcessStatus:
    name: str
    pid: int
    alive: bool


@dataclass
class NodeStatus:
    name: str
    netns: str
    kind: str
    role: str
    running: bool
    mgmt_ipv4: str
    addresses: list[str] = field(default_factory=list)
    processes: list[ProcessStatus] = field(default_factory=list)


@dataclass
class LinkStatus:
    a: str
    b: str
    a_state: str
    b_state: str
    faults: list[str] = field(default_factory=list)


@dataclass
class LabStatus:
    lab: str
    up: bool
    complete: bool
    lab_dir: str
    mgmt_netns: str
    mgmt_subnet: str
    nodes: list[NodeStatus] = field(default_factory=list)
    links: list[LinkStatus] = field(default_factory=list)
    guard_routes: list[str] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _links_in(netns: str) -> dict[str, dict[str, Any]]:
    if not netns_exists(netns):
        return {}
    proc = run(["ip", "-n", netns, "-j", "addr", "show"], check=False)
    if proc.returncode != 0:
        return {}
    return {str(link["ifname"]): link for link in json.loads(proc.stdout or "[]")}


def _state_of(link: dict[str, Any] | None) -> str:
    if link is None:
        return "absent"
    flags = link.get("flags", [])
    if "UP" not in flags:
        return "down"
    return "up" if "LOWER_UP" in flags else "no-carrier"


def collect_status(plan: LabPlan, state: LabState | None) -> LabStatus:
    per_ns = {n.netns: _links_in(n.netns) for n in plan.nodes}
    status = LabStatus(
        lab=plan.lab,
        up=bool(state and any(netns_exists(n) for n in plan.namespaces)),
        complete=bool(state and state.complete),
        lab_dir=str(plan.lab_dir),
        mgmt_netns=plan.mgmt_netns,
        mgmt_subnet=str(plan.mgmt_subnet),
        guard_routes=list(state.routes if state else []),
        faults=[asdict(f) for f in (state.faults if state else [])],
    )
    for node in plan.nodes:
        links = per_ns[node.netns]
        addrs = [
            f"{info['local']}/{info['prefixlen']}"
            for link in links.values()
            for info in link.get("addr_info", [])
            if info.get("family") == "inet" and not str(info["local"]).startswith("127.")
        ]
        procs = [
            ProcessStatus(p.name, p.pid, pid_alive(p.pid))
            for p in (state.processes if state else [])
            if p.node == node.name
        ]
        role = "frr" if node.frr else ("host+snmpd" if node.snmpd else "host")
        status.nodes.append(
            NodeStatus(
                node.name,
                node.netns,
                node.node.kind,
                role,
                netns_exists(node.netns),
                node.mgmt_ipv4,
                addrs,
                procs,
            )
        )
    for link in plan.links:
        faults = [
            f"{f.kind} {f.target}"
            for f in (state.faults if state else [])
            if f.target in (f"{link.a.node}:{link.a.iface}", f"{link.b.node}:{link.b.iface}")
            or f.target in (link.a.node, link.b.node)
        ]
        status.links.append(
            LinkStatus(
                f"{link.a.node}:{link.a.iface}",
                f"{link.b.node}:{link.b.iface}",
                _state_of(per_ns[link.a.netns].get(link.a.iface)),
                _state_of(per_ns[link.b.netns].get(link.b.iface)),
                faults,
            )
        )
    return status
