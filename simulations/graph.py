"""Mermaid flowchart text of a topology: nodes (with kind/role) and links labelled with
their interface names."""

from __future__ import annotations

import re

from simulations.topology import Topology

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _id(name: str) -> str:
    return "n_" + _UNSAFE.sub("_", name)


def mermaid(topology: Topology, direction: str = "LR") -> str:
    """``flowchart`` text; FRR routers are rounded boxes, plain hosts rectangles."""
    lines = [f"flowchart {direction}"]
    for node in topology.nodes.values():
        label = node.name + (f"<br/>{node.mgmt_ipv4}" if node.mgmt_ipv4 else "")
        if node.is_frr:
            lines.append(f'  {_id(node.name)}("{label}")')
        else:
            lines.append(f'  {_id(node.name)}["{label}"]')
    for link in topology.links:
        lines.append(
            f'  {_id(link.a.node)} ---|"{link.a.iface} — {link.b.iface}"| {_id(link.b.node)}'
        )
    routers = [_id(n.name) for n in topology.nodes.values() if n.is_frr]
    hosts = [_id(n.name) for n in topology.nodes.values() if not n.is_frr]
    lines.append("  classDef frr fill:#e8f0fe,stroke:#3367d6")
    lines.append("  classDef host fill:#f1f3f4,stroke:#5f6368")
    if routers:
        lines.append(f"  class {','.join(routers)} frr")
    if hosts:
        lines.append(f"  class {','.join(hosts)} host")
    return "\n".join(lines) + "\n"
