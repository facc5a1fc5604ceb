"""Topologies are rendered from the inventory, valid for containerlab, and kept current."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.inventory import load_inventory
from controller.inventory.model import Platform
from controller.render.intent import build_intents
from controller.render.templates import render
from controller.topology.render import CommuneMode, render_topology
from simulations.topology import load_topology
from tests.conftest import ROOT

runner = CliRunner()
SHIPPED = [("inventory/lab", "lab"), ("inventory/cambodia", "national")]


@pytest.mark.parametrize(("inventory", "name"), SHIPPED)
def test_shipped_topologies_are_exactly_what_the_inventory_renders(
    inventory: str, name: str, tmp_path: Path
) -> None:
    out = tmp_path / f"{name}.clab.yml"
    (tmp_path / "lab.env").write_text((ROOT / "topologies/lab.env").read_text())
    result = runner.invoke(app, ["topology", "render", "-i", str(ROOT / inventory), "-o", str(out)])
    assert result.exit_code == 0, result.output
    shipped = ROOT / "topologies"
    assert (
        out.read_text().replace(str(ROOT / inventory), inventory)
        == (shipped / f"{name}.clab.yml").read_text()
    )
    for config in sorted((tmp_path / name).rglob("*")):
        if config.is_file():
            relative = config.relative_to(tmp_path)
            assert config.read_text() == (shipped / relative).read_text(), relative


@pytest.mark.parametrize(("inventory", "name"), SHIPPED)
def test_shipped_topologies_validate_against_the_containerlab_schema(
    inventory: str, name: str
) -> None:
    topology = load_topology(ROOT / "topologies" / f"{name}.clab.yml", env={})
    assert topology.nodes


def test_the_lab_runs_every_router_as_frr_and_every_commune_as_its_own_node() -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    bundle = render_topology(inv, "lab", CommuneMode.auto)
    nodes = bundle.topology["topology"]["nodes"]
    assert sum(1 for n in nodes.values() if n.get("group") == "routers") == 11
    assert (
        "cpe-120101" in nodes
        and "ip addr add 10.255.0.101/32 dev lo" in nodes["cpe-120101"]["exec"]
    )
    links = bundle.topology["topology"]["links"]
    assert {"endpoints": ["pr-kh12:eth3", "cpe-120101:eth1"]} in links


def test_at_national_scale_a_province_s_communes_share_one_namespace() -> None:
    inv = load_inventory(ROOT / "inventory/cambodia")
    bundle = render_topology(inv, "national", CommuneMode.auto)
    nodes = bundle.topology["topology"]["nodes"]
    hosts = {k: v for k, v in nodes.items() if k.startswith("communes-")}
    assert len(hosts) == 25
    assert sum(int(h["labels"]["govnet-communes"]) for h in hosts.values()) == 1652
    pp = hosts["communes-kh12"]
    assert sum(1 for c in pp["exec"] if c.endswith("/32 dev lo")) == 105
    # the province router carries every commune /31 on the one trunk (no 802.1q here)
    config = bundle.files["national/pr-kh12/frr.conf"]
    assert "interface eth3\n" in config and "interface eth3.1000" not in config
    assert config.count(" ip address 10.128.") == 105


def test_frr_config_of_a_province_router_routes_to_its_communes() -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    text = render(build_intents(inv)["pr-kh12"], platform=Platform.FRR)
    assert "hostname pr-kh12\n" in text
    assert " ip ospf hello-interval 1\n" in text
    assert "ip route 10.255.0.101/32 10.253.0.1\n" in text
    assert " redistribute static\n" in text
    assert "interface eth3\n description Tonle Basak (120101) to cpe-120101 eth1\n" in text


def test_secrets_reach_the_topology_only_as_environment_references() -> None:
    text = (ROOT / "topologies/lab.clab.yml").read_text()
    assert "SNMP_V3_AUTH_PASS: ${GOVNET_LAB_SNMP_AUTH:=" in text


def test_lab_nodes_send_notifications_to_the_nms_from_the_address_it_polls() -> None:
    from controller.inventory import load_inventory

    bundle = render_topology(load_inventory(ROOT / "inventory/lab"))
    nodes = bundle.topology["topology"]["nodes"]
    groups = bundle.topology["topology"]["groups"]

    def env(name: str) -> dict[str, str]:
        node = nodes[name]
        return {**groups.get(node.get("group", ""), {}).get("env", {}), **node.get("env", {})}

    router = env("pr-kh12")  # on the management network: the NMS's management address
    assert router["SNMP_TRAP_SINK"] == "172.20.20.5:9162"
    assert router["SYSLOG_SINK"] == "172.20.20.5:9514"
    assert router["SNMP_TRAP_SOURCE"] == "172.20.20.21"
    cpe = env("cpe-120101")  # in-band only: the NMS's loopback, from its own
    assert cpe["SNMP_TRAP_SINK"] == "10.255.0.5:9162"
    assert cpe["SNMP_TRAP_SOURCE"] == "10.255.0.101"
    assert "SYSLOG_SINK" not in cpe  # no sshd on a commune host
    assert not {"SNMP_TRAP_SINK", "SYSLOG_SINK"} & set(env("nms-1"))
