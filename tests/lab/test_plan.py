"""Pure planning: names, addresses, guard prefixes, services, artifacts, Mermaid."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.errors import TopologyError
from simulations import services
from simulations.artifacts import ansible_inventory, topology_data
from simulations.graph import mermaid
from simulations.plan import LabPlan, NodePlan, build_plan
from simulations.topology import Endpoint, load_topology
from tests.conftest import ROOT

MINI = ROOT / "tests/lab/fixtures/mini.clab.yml"


@pytest.fixture()
def plan(tmp_path: Path) -> LabPlan:
    return build_plan(load_topology(MINI, env={}), tmp_path / "clab-mini")


def test_namespaces_and_mgmt_addresses(plan: LabPlan) -> None:
    assert plan.namespaces == (
        "clab-mini-mgmt",
        "clab-mini-wires",
        "clab-mini-r1",
        "clab-mini-r2",
        "clab-mini-r3",
        "clab-mini-c1",
    )
    assert plan.mgmt_gw == "172.20.20.1"
    addrs = {n.name: n.mgmt_ipv4 for n in plan.nodes}
    assert addrs == {
        "r1": "172.20.20.11",
        "r2": "172.20.20.12",
        "r3": "172.20.20.13",
        "c1": "172.20.20.2",
    }  # c1 allocated: first free after the gateway
    roles = {n.name: (n.frr, n.sshd, n.snmpd) for n in plan.nodes}
    assert roles["r1"] == (True, True, True) and roles["c1"] == (False, False, True)


def test_links_go_through_the_wires_namespace(plan: LabPlan) -> None:
    link, end = plan.link_of(Endpoint("r3", "eth3"))
    assert (link.bridge, end.wire, link.b.wire, end.ipv4) == ("w3", "l3a", "l3b", "10.1.0.1/30")
    with pytest.raises(TopologyError, match="no link has endpoint r1:eth9"):
        plan.link_of(Endpoint("r1", "eth9"))


def test_guard_prefixes_cover_every_lab_address(plan: LabPlan) -> None:
    assert plan.guard_prefixes == (
        "10.0.12.0/30",
        "10.0.13.0/30",
        "10.0.23.0/30",
        "10.1.0.0/30",
        "10.2.0.1/32",
        "10.2.0.2/31",
        "10.2.0.4/31",
        "10.255.0.1/32",
        "10.255.0.2/31",
        "172.20.20.0/24",
    )


def test_reserved_node_name(tmp_path: Path) -> None:
    f = tmp_path / "t.clab.yml"
    f.write_text("name: t\ntopology:\n  nodes:\n    mgmt: {kind: linux}\n")
    with pytest.raises(TopologyError, match="'mgmt' is reserved"):
        build_plan(load_topology(f, env={}))


def test_service_files(plan: LabPlan) -> None:
    r1 = plan.node("r1")
    files = services.frr_files(r1)
    assert "hostname r1" in files["frr.conf"] and "bgpd=no" in files["daemons"]
    assert services.frr_enabled_daemons(files["daemons"]) == [
        "watchfrr",
        "zebra",
        "ospfd",
        "staticd",
    ]
    assert services.frr_start_argv(r1)[-2:] == ["start", "clab-mini-r1"]
    sshd = services.sshd_config_text(r1, services.Credentials("govnet", "pw", None))
    assert "ListenAddress 172.20.20.11:22" in sshd and "AllowUsers govnet govnet-ansible" in sshd
    assert services.ansible_node_dir(r1) == plan.lab_dir / "nodes" / "r1"
    # a router's logins make their temporary files in the lab dir, never in the host's /tmp
    assert f"SetEnv TMPDIR={plan.lab_dir / 'r1' / 'tmp'}" in sshd
    snmp_r1 = services.snmpd_config_text(r1)
    assert 'createUser govnet SHA "govnet-lab-auth" AES "govnet-lab-priv"' in snmp_r1
    assert "rocommunity" not in snmp_r1  # v2c only when SNMP_COMMUNITY is set
    assert "rocommunity govnet-ro default" in services.snmpd_config_text(plan.node("r2"))
    assert services.snmpd_start_argv(r1)[-1] == "udp:0.0.0.0:161"


def test_lab_credentials_from_the_environment() -> None:
    creds = services.Credentials.from_env({})
    assert (creds.ssh_user, creds.ansible_user) == ("govnet", "govnet-ansible")
    assert creds.ansible_secret == creds.ssh_password == "govnet-lab"
    env = {"SSH_PASSWORD": "pw-vty", "ANSIBLE_USER": "ops", "ANSIBLE_PASSWORD": "pw-sh"}
    creds = services.Credentials.from_env(env)
    assert (creds.ansible_user, creds.ansible_secret, creds.ssh_password) == (
        "ops",
        "pw-sh",
        "pw-vty",
    )
    assert "pw-" not in repr(creds)


def test_default_daemons_enable_the_four_routing_daemons(tmp_path: Path) -> None:
    f = tmp_path / "t.clab.yml"
    f.write_text("name: t\ntopology:\n  nodes:\n    r: {kind: linux, image: frrouting/frr}\n")
    node = build_plan(load_topology(f, env={})).node("r")
    daemons = services.frr_daemons_text(node)
    assert 'watchfrr_options="--netns"' in daemons
    assert services.frr_enabled_daemons(daemons) == [
        "watchfrr",
        "zebra",
        "ospfd",
        "bgpd",
        "staticd",
    ]


def test_artifacts(plan: LabPlan) -> None:
    inv = ansible_inventory(plan)
    assert inv["all"]["children"]["linux"]["hosts"]["clab-mini-r1"]["ansible_host"] == (
        "172.20.20.11"
    )
    data = topology_data(plan)
    assert data["nodes"]["c1"]["longname"] == "clab-mini-c1"
    assert data["links"][0]["endpoints"]["a"] == {
        "node": "r1",
        "interface": "eth1",
        "mac": "",
        "peer": "z",
        "ipv4": "10.0.12.1/30",
    }


def test_mermaid() -> None:
    text = mermaid(load_topology(MINI, env={}))
    assert text.startswith("flowchart LR\n")
    assert '  n_r1("r1<br/>172.20.20.11")' in text
    assert '  n_c1["c1"]' in text
    assert '  n_r1 ---|"eth1 — eth1"| n_r2' in text
    assert '  n_r3 ---|"eth3 — eth1"| n_c1' in text


def _with_env(plan: LabPlan, name: str, **env: str) -> NodePlan:
    from dataclasses import replace

    node = plan.node(name)
    return replace(node, node=replace(node.node, env={**node.node.env, **env}))


def test_snmpd_sends_v3_informs_only_to_a_sink_the_node_env_names(plan: LabPlan) -> None:
    from simulations.errors import LabError

    assert "trapsess" not in services.snmpd_config_text(plan.node("r1"))
    node = _with_env(plan, "r1", SNMP_TRAP_SINK="172.20.20.5:9162", SNMP_TRAP_SOURCE="10.9.9.9")
    text = services.snmpd_config_text(node)
    assert "authtrapenable 1" in text
    lines = text.splitlines()
    assert lines.index("[snmp] clientaddr 10.9.9.9") < next(
        i for i, line in enumerate(lines) if line.startswith("trapsess")
    )
    trapsess = next(line for line in text.splitlines() if line.startswith("trapsess"))
    assert trapsess.startswith("trapsess -Ci ") and "-v 3 -u govnet -l authPriv" in trapsess
    assert trapsess.endswith(" udp:172.20.20.5:9162")
    # the monitors' own queries: a user that reads the interface table only, never priv
    assert "rouser govnet-iquery auth 1.3.6.1.2.1.2.2.1" in text
    assert 'monitor -r 2 -e govnetLinkDown "govnetLinkDown" 1.3.6.1.2.1.2.2.1.8 == 2' in text
    slow = _with_env(plan, "r1", SNMP_TRAP_SINK="h:1", SNMP_MONITOR_SECONDS="0")
    with pytest.raises(LabError, match="SNMP_MONITOR_SECONDS"):
        services.snmpd_config_text(slow)


def test_sshd_logs_through_the_syslog_relay_only_with_a_sink(plan: LabPlan) -> None:
    plain = services.sshd_start_argv(plan.node("r1"))
    assert plain[0] == "unshare" and plain[-2:] == [
        "-E",
        str(plan.node("r1").node_dir / "sshd.log"),
    ]
    node = _with_env(plan, "r1", SYSLOG_SINK="172.20.20.5:9514")
    argv = services.sshd_start_argv(node)
    assert argv[1:3] == ["-m", "simulations.logrelay"]
    assert argv[argv.index("--source") + 1] == "172.20.20.11"  # its management address
    cut = argv.index("--")
    assert argv[cut + 1] == "unshare"
    assert argv[-2:] == ["-D", "-e"]


def test_snmpd_logs_through_the_pairing_relay_only_with_a_sink(plan: LabPlan) -> None:
    r1 = plan.node("r1")
    plain = services.snmpd_start_argv(r1)
    assert plain[0] == "unshare" and "-Lf" in plain and "-f" not in plain  # it daemonises
    argv = services.snmpd_start_argv(_with_env(plan, "r1", SYSLOG_SINK="172.20.20.5:9514"))
    assert argv[1:3] == ["-m", "simulations.logrelay"]
    relay, snmpd = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    assert relay[relay.index("--filter") + 1] == "snmpd"
    assert relay[relay.index("--app") + 1] == "snmpd"
    assert relay[relay.index("--source") + 1] == "172.20.20.11"  # its management address
    assert relay[relay.index("--log") + 1] == str(r1.node_dir / "snmpd.log")
    assert relay[relay.index("--pidfile") + 1] == str(r1.node_dir / "snmpd-logrelay.pid")
    # in the foreground, its log on stderr, with what the relay pairs
    assert snmpd[0] == "unshare" and "-Lf" not in snmpd
    assert {"-f", "-Le", "-Dsess_process_packet,trap"} <= set(snmpd)
    assert snmpd[-1] == "udp:0.0.0.0:161"
