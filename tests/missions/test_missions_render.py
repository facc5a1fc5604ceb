"""Missions abroad, rendered from the inventory (pure): the FRR side of both tunnel ends,
their swanctl.conf (no keys in it), the lab topology (internet transit, guards, VXLAN)
and the lab's charon files."""

from __future__ import annotations

from pathlib import Path

from controller.inventory import load_inventory
from controller.inventory.model import Platform
from controller.render.intent import build_intents
from controller.render.templates import render, render_ipsec
from controller.topology.render import CommuneMode, render_topology
from simulations import services
from simulations.plan import build_plan
from simulations.topology import load_topology
from tests.conftest import ROOT, lab_env

LAB = ROOT / "inventory/lab"


def test_a_mission_runs_ospf_over_both_tunnels_and_never_on_its_internet_side() -> None:
    text = render(build_intents(load_inventory(LAB))["ms-fr-par"], platform=Platform.FRR)
    assert "interface vx-ndc\n" in text and "interface vx-dr\n" in text
    ndc = text.split("interface vx-ndc\n")[1].split("exit")[0]
    dr = text.split("interface vx-dr\n")[1].split("exit")[0]
    assert " ip address 10.252.0.1/31\n" in ndc and " ip ospf cost 100\n" in ndc
    assert " ip ospf cost 200\n" in dr  # the DR is the backup
    internet = text.split("interface eth1\n")[1].split("exit")[0]
    assert " ip address 198.51.100.2/30\n" in internet and "ospf" not in internet
    assert " ip address 10.252.0.3/32\n" in internet  # the inner address of the NDC SA
    assert "ip route 10.120.1.0/24 blackhole\n" in text and " redistribute static\n" in text


def test_the_data_centre_gateway_has_one_overlay_interface_per_mission() -> None:
    text = render(build_intents(load_inventory(LAB))["ndc-1"], platform=Platform.FRR)
    assert "interface vx-fr-par\n" in text and "interface vx-jp-tyo\n" in text
    assert "redistribute static" not in text  # its internet routes stay out of OSPF


def test_swanctl_conf_names_both_tunnels_and_holds_no_key(monkeypatch: object) -> None:
    intents = build_intents(load_inventory(LAB))
    mission = render_ipsec(intents["ms-fr-par"])
    gateway = render_ipsec(intents["ndc-1"])
    for name in ("fr-par-ndc", "fr-par-dr"):
        block = mission.partition(f"\n  {name} {{\n")[2].partition("\n  }\n")[0]
        assert "start_action = start" in block and "dpd_action = restart" in block
        assert f"include psk-{name}.conf" in mission
    assert "local_ts = 10.252.0.3/32" in mission and "remote_ts = 10.252.0.2/32" in mission
    assert "start_action = none" in gateway  # the data centre responds, never initiates
    assert "remote_addrs = 198.51.100.6" in gateway  # Tokyo too
    for secret in lab_env().values():
        assert secret not in mission and secret not in gateway


def test_the_lab_topology_puts_the_internet_between_missions_and_data_centres() -> None:
    inv = load_inventory(LAB)
    bundle = render_topology(inv, "lab", CommuneMode.auto, env_defaults=lab_env())
    nodes = bundle.topology["topology"]["nodes"]
    assert nodes["internet"]["labels"]["govnet-role"] == "internet-transit"
    assert "sysctl -qw net.ipv4.ip_forward=1" in nodes["internet"]["exec"]
    ends = [
        e
        for link in bundle.topology["topology"]["links"]
        if any(e.startswith("internet:") for e in link["endpoints"])
        for e in link["endpoints"]
        if not e.startswith("internet:")
    ]
    assert sorted(ends) == [
        "dr-1:eth5",
        "ms-fr-par:eth1",
        "ms-jp-tyo:eth1",
        "ndc-1:eth4",
    ]
    paris = nodes["ms-fr-par"]
    assert "ip route replace unreachable 10.252.0.2/32" in paris["exec"]  # SA down: dropped
    assert any(c.startswith("ip link add vx-ndc type vxlan id ") for c in paris["exec"])
    assert paris["env"]["IPSEC_PSK_FR_PAR_NDC"].startswith("${GOVNET_LAB_IPSEC_PSK_FR_PAR:=")
    assert "lab/ms-fr-par/swanctl.conf:/etc/swanctl/swanctl.conf" in paris["binds"]


def test_the_lab_keeps_every_charon_file_in_the_node_directory(tmp_path: Path) -> None:
    topology = load_topology(ROOT / "topologies/lab.clab.yml", env=lab_env())
    node = build_plan(topology, tmp_path / "clab-lab").node("ms-fr-par")
    assert node.charon
    conf = services.strongswan_conf_text(node)
    assert f"socket = unix://{tmp_path}/clab-lab/ms-fr-par/ipsec/charon.vici" in conf
    assert "kernel-libipsec" in conf and "/etc/" not in conf and "/run/" not in conf
    keys = services.ipsec_psk_files(node)
    assert keys == {
        "psk-fr-par-ndc.conf": 'secret = "govnet-lab-ipsec-fr-par"\n',
        "psk-fr-par-dr.conf": 'secret = "govnet-lab-ipsec-fr-par"\n',
    }
    # the node's logins find its own strongSwan, as on a router of its own (link apply),
    # and may load connections through the socket's group
    ipsec_dir = tmp_path / "clab-lab" / "ms-fr-par" / "ipsec"
    sshd = services.sshd_config_text(node, services.Credentials("govnet", "pw", None))
    assert (
        f"SetEnv TMPDIR={tmp_path}/clab-lab/ms-fr-par/tmp "
        f"STRONGSWAN_CONF={ipsec_dir}/strongswan.conf SWANCTL_DIR={ipsec_dir}\n"
    ) in sshd
    assert f"group = {services.CHARON_GROUP}\n" in conf
    assert (
        f"swanctl {{\n  load = pem pkcs1 x509 pubkey\n  socket = unix://{ipsec_dir}/charon.vici"
        in conf
    )
    plain = build_plan(topology, tmp_path / "clab-lab").node("core-1")
    assert services.login_env(plain) == {"TMPDIR": f"{tmp_path}/clab-lab/core-1/tmp"}
    swanctl = ROOT / "topologies/lab/ms-fr-par/swanctl.conf"
    assert services.is_initiator(swanctl, "fr-par-ndc")
    assert not services.is_initiator(ROOT / "topologies/lab/ndc-1/swanctl.conf", "fr-par-ndc")
