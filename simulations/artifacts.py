"""containerlab-compatible lab directory files: ``ansible-inventory.yml`` and
``topology-data.json`` (pure renderers + one writer)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from simulations.plan import PREFIX, LabPlan


def ansible_inventory(plan: LabPlan) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    for node in plan.nodes:
        group = groups.setdefault(node.node.kind, {"hosts": {}})
        host: dict[str, Any] = {"ansible_host": node.mgmt_ipv4}
        if node.frr:
            host["ansible_network_os"] = "frr"
            host["govnet_netns"] = plan.mgmt_netns
        group["hosts"][node.netns] = host
    return {"all": {"vars": {"govnet_mgmt_netns": plan.mgmt_netns}, "children": groups}}


def topology_data(plan: LabPlan) -> dict[str, Any]:
    plen = plan.mgmt_subnet.prefixlen
    nodes: dict[str, Any] = {}
    for i, node in enumerate(plan.nodes):
        nodes[node.name] = {
            "index": str(i),
            "shortname": node.name,
            "longname": node.netns,
            "fqdn": f"{node.name}.{plan.lab}.io",
            "group": node.node.group or "",
            "labdir": str(node.node_dir),
            "kind": node.node.kind,
            "image": node.node.image,
            "mgmt-net": plan.topology.mgmt.network,
            "mgmt-intf": "eth0",
            "mgmt-ipv4-address": node.mgmt_ipv4,
            "mgmt-ipv4-prefix-length": plen,
            "mgmt-ipv6-address": "",
            "mgmt-ipv6-prefix-length": 0,
            "mac-address": "",
            "labels": dict(node.node.labels),
            "netns": node.netns,
        }
    links = [
        {
            "endpoints": {
                "a": {
                    "node": link.a.node,
                    "interface": link.a.iface,
                    "mac": "",
                    "peer": "z",
                    "ipv4": link.a.ipv4 or "",
                },
                "z": {
                    "node": link.b.node,
                    "interface": link.b.iface,
                    "mac": "",
                    "peer": "a",
                    "ipv4": link.b.ipv4 or "",
                },
            }
        }
        for link in plan.links
    ]
    return {
        "name": plan.lab,
        "type": "clab",
        "clab": {
            "config": {
                "prefix": PREFIX,
                "mgmt": {
                    "network": plan.topology.mgmt.network,
                    "bridge": "br-mgmt",
                    "ipv4-subnet": str(plan.mgmt_subnet),
                    "ipv4-gw": plan.mgmt_gw,
                    "netns": plan.mgmt_netns,
                },
            }
        },
        "nodes": nodes,
        "links": links,
    }


def write_artifacts(plan: LabPlan) -> None:
    plan.lab_dir.mkdir(parents=True, exist_ok=True)
    (plan.lab_dir / "ansible-inventory.yml").write_text(
        yaml.safe_dump(ansible_inventory(plan), sort_keys=False), encoding="utf-8"
    )
    (plan.lab_dir / "topology-data.json").write_text(
        json.dumps(topology_data(plan), indent=2) + "\n", encoding="utf-8"
    )
