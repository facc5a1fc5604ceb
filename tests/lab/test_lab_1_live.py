"""The lab tier: a real mini lab (3 FRR routers + a commune host) on namespaces."""

from __future__ import annotations

import errno
import json
import shlex
import socket
import subprocess
import time

import pytest
from typer.testing import CliRunner

from controller.cli import lab as lab_cli
from simulations.accounts import lab_account
from simulations.checks import ospf_neighbors, parse_check, run_check
from simulations.faults import Faults, Impairment
from simulations.lab import Lab
from simulations.netns import in_netns, netns_connect, netns_socket, run_in_netns
from simulations.ping import ping
from simulations.scenario import run_scenario
from simulations.snmp import SnmpAuth, snmp_get
from tests.lab.conftest import MINI

pytestmark = pytest.mark.lab
V3 = SnmpAuth("govnet", "govnet-lab-auth", "govnet-lab-priv")
COMMUNE = [f"10.2.0.{i}" for i in range(1, 6)]


def check(lab: Lab, spec: dict[str, object]) -> None:
    result = run_check(lab, parse_check(spec))
    assert result.ok, f"{result.name}: {result.detail} after {result.seconds:.1f}s"


def test_up_is_idempotent_and_writes_the_lab_dir(mini_lab: Lab) -> None:
    again = mini_lab.up()
    assert again.already_up
    d = mini_lab.plan.lab_dir
    assert (d / "ansible-inventory.yml").is_file()
    data = json.loads((d / "topology-data.json").read_text())
    assert set(data["nodes"]) == {"r1", "r2", "r3", "c1"}
    state = mini_lab.state()
    assert state is not None and state.complete and len(state.processes) == 19


def test_ospf_converges(mini_lab: Lab) -> None:
    for node in ("r1", "r2", "r3"):
        check(mini_lab, {"ospf": {"node": node, "full": 2}, "timeout": 30})


def test_ping_commune_address_from_another_router(mini_lab: Lab) -> None:
    check(mini_lab, {"ping": {"from": "r1", "to": "10.2.0.3"}, "timeout": 20})
    check(mini_lab, {"ping": {"from": "r2", "to": "10.2.0.5"}, "timeout": 20})


def test_ssh_netmiko_show_running_config(mini_lab: Lab) -> None:
    from netmiko import ConnectHandler

    start = time.monotonic()
    sock = netns_connect(mini_lab.plan.mgmt_netns, ("172.20.20.12", 22))
    conn = ConnectHandler(
        device_type="cisco_ios",
        host="172.20.20.12",
        username="govnet",
        password="govnet-lab",
        sock=sock,
    )
    try:
        connected = time.monotonic() - start
        assert conn.find_prompt() == "r2#"
        config = conn.send_command("show running-config")
        assert "hostname r2" in config and "router ospf" in config
        assert not any(line.startswith("% ") for line in config.splitlines())
    finally:
        conn.disconnect()
        sock.close()
    assert connected < 5


def test_ansible_user_gets_bash_in_the_node_namespace(mini_lab: Lab) -> None:
    import paramiko

    workdir = mini_lab.plan.lab_dir / "nodes" / "r2"
    login = lab_account(mini_lab.plan.lab_dir, "govnet-ansible")  # a lab-only account
    assert login is not None and workdir.is_dir() and workdir.stat().st_uid == login.uid
    sock = netns_connect(mini_lab.plan.mgmt_netns, ("172.20.20.12", 22))
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "172.20.20.12",
        username="govnet-ansible",
        password="govnet-lab",
        sock=sock,
        allow_agent=False,
        look_for_keys=False,
    )
    try:
        script = (
            'echo "$0"; hostname; ip netns identify $$; '
            'vtysh -N "$(ip netns identify $$)" -c "show running-config" | grep ^hostname; '
            "/usr/bin/python3 -c 'print(42)'"
        )
        _, out, err = client.exec_command(f"bash -c {shlex.quote(script)}")
        lines = out.read().decode().split()
        assert lines == ["bash", "r2", "clab-mini-r2", "hostname", "r2", "42"], err.read()
    finally:
        client.close()


def test_snmp_sysname_of_every_node(mini_lab: Lab) -> None:
    mgmt = mini_lab.plan.mgmt_netns
    for node in mini_lab.plan.nodes:
        assert snmp_get(mgmt, node.mgmt_ipv4, V3) == node.name
    assert snmp_get(mgmt, "172.20.20.12", SnmpAuth(community="govnet-ro")) == "r2"
    for address in COMMUNE:
        assert snmp_get(mgmt, address, SnmpAuth(community="commune-ro")) == "c1"
        assert snmp_get(mgmt, address, V3) == "c1"
    with pytest.raises(Exception, match="SNMP"):  # no v2c community on r1
        snmp_get(mgmt, "172.20.20.11", SnmpAuth(community="public"), timeout=0.5, retries=0)


def _v2c_get_sysname(community: str) -> bytes:
    def tlv(tag: int, body: bytes) -> bytes:
        return bytes([tag, len(body)]) + body

    oid = tlv(6, bytes([0x2B, 6, 1, 2, 1, 1, 5, 0]))
    varbinds = tlv(0x30, tlv(0x30, oid + b"\x05\x00"))
    pdu = tlv(0xA0, tlv(2, b"\x01") + tlv(2, b"\x00") + tlv(2, b"\x00") + varbinds)
    return tlv(0x30, tlv(2, b"\x01") + tlv(4, community.encode()) + pdu)


def test_snmp_replies_come_from_the_address_asked(mini_lab: Lab) -> None:
    """A connected UDP socket only accepts replies from its peer address."""

    def ask(address: str) -> tuple[str, int]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.connect((address, 161))
            s.send(_v2c_get_sysname("commune-ro"))
            _, src = s.recvfrom(1500)
            return src  # type: ignore[no-any-return]

    for address in COMMUNE:
        assert in_netns(mini_lab.plan.mgmt_netns, lambda a=address: ask(a)) == (address, 161)


def test_root_namespace_cannot_reach_the_lab(mini_lab: Lab) -> None:
    for address in ("172.20.20.11", "10.2.0.3", "10.0.12.1", "10.255.0.2"):
        route = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True)
        assert route.returncode != 0 or route.stdout.startswith("unreachable"), route.stdout
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            code = s.connect_ex((address, 22))
        assert code in (errno.EHOSTUNREACH, errno.ENETUNREACH), (address, code)
    state = mini_lab.state()
    assert state is not None and "172.20.20.0/24" in state.routes


def test_exec_runs_in_the_node(mini_lab: Lab) -> None:
    proc = mini_lab.exec("c1", ["sh", "-c", "hostname; ip -4 -o addr show dev lo"])
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == "c1"
    assert all(a in proc.stdout for a in COMMUNE)


def test_status_reports_nodes_processes_links(mini_lab: Lab) -> None:
    st = mini_lab.status()
    assert st.up and st.complete
    r1 = next(n for n in st.nodes if n.name == "r1")
    assert {p.name for p in r1.processes} == {
        "watchfrr",
        "zebra",
        "ospfd",
        "staticd",
        "sshd",
        "snmpd",
    }
    assert all(p.alive for n in st.nodes for p in n.processes)
    assert "10.0.12.1/30" in r1.addresses
    assert all(ln.a_state == ln.b_state == "up" for ln in st.links)


def test_delay_and_jitter(mini_lab: Lab) -> None:
    faults = Faults(mini_lab)
    before = ping("clab-mini-r1", "10.0.12.2", count=5, interval=0.05)
    assert before.avg_ms is not None and before.avg_ms < 5
    faults.impair("r1:eth1", Impairment.parse(delay="80ms", jitter="10ms"))
    try:
        res = ping("clab-mini-r1", "10.0.12.2", count=20, interval=0.05)
        assert res.received == 20
        assert res.avg_ms is not None and 60 <= res.avg_ms <= 100, res.avg_ms
        assert max(res.rtts_ms) - min(res.rtts_ms) > 2  # jitter is there
        # TCP still works through the relay (offloads off): ssh banner from r1's sshd
        check(mini_lab, {"ospf": {"node": "r1", "full": 2}, "timeout": 10})
    finally:
        faults.clear()
    after = ping("clab-mini-r1", "10.0.12.2", count=5, interval=0.05)
    assert after.avg_ms is not None and after.avg_ms < 5


def test_loss(mini_lab: Lab) -> None:
    faults = Faults(mini_lab)
    faults.impair("r1:eth1", Impairment.parse(loss="20%"))
    try:
        res = ping("clab-mini-r1", "10.0.12.2", count=200, interval=0.01, timeout=0.5)
        assert 8 <= res.loss_pct <= 35, res.loss_pct
    finally:
        faults.clear()
    assert ping("clab-mini-r1", "10.0.12.2", count=20, interval=0.01).loss_pct == 0


def _udp_goodput_bps(lab: Lab, seconds: float = 1.0) -> float:
    rx = netns_socket(lab.plan.node("r2").netns, socket.AF_INET, socket.SOCK_DGRAM)
    tx = netns_socket(lab.plan.node("r1").netns, socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE: hold it all
        rx.bind(("10.0.12.2", 9999))
        rx.settimeout(0.3)
        tx.setblocking(False)
        payload = bytes(1000)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                tx.sendto(payload, ("10.0.12.2", 9999))
            except OSError:
                time.sleep(0.001)
            time.sleep(0.0005)
        got = 0
        for _ in range(100_000):
            try:
                got += len(rx.recv(2048))
            except OSError:
                break
        return got * 8 / seconds
    finally:
        rx.close()
        tx.close()


def test_rate_limit(mini_lab: Lab) -> None:
    faults = Faults(mini_lab)
    faults.impair("r1:eth1", Impairment.parse(rate="2mbit"))
    try:
        bps = _udp_goodput_bps(mini_lab)
        assert 1.5e6 <= bps <= 2.6e6, bps
    finally:
        faults.clear()
    assert _udp_goodput_bps(mini_lab, 0.3) > 4e6


def test_link_down_and_up(mini_lab: Lab) -> None:
    faults = Faults(mini_lab)
    faults.link_down("r1:eth2")
    try:
        st = {(ln.a, ln.b): ln for ln in mini_lab.status().links}
        assert st[("r1:eth2", "r3:eth2")].a_state == "no-carrier"
        assert st[("r1:eth2", "r3:eth2")].b_state == "no-carrier"
        check(mini_lab, {"ospf": {"node": "r1", "full": 1, "exact": True}, "timeout": 10})
        check(mini_lab, {"ping": {"from": "r1", "to": "10.2.0.3"}, "timeout": 15})  # via r2
        faults.link_up("r1:eth2")
        check(mini_lab, {"ospf": {"node": "r1", "full": 2}, "timeout": 20})
    finally:
        faults.clear()


def test_node_stop_and_start(mini_lab: Lab) -> None:
    faults = Faults(mini_lab)
    rec = faults.node_stop("r2")
    try:
        stopped = rec.params["stopped_pids"]
        assert stopped and not any(
            p.alive for n in mini_lab.status().nodes if n.name == "r2" for p in n.processes
        )
        check(mini_lab, {"ospf": {"node": "r1", "full": 1, "exact": True}, "timeout": 10})
        faults.node_start("r2")
        r2 = next(n for n in mini_lab.status().nodes if n.name == "r2")
        assert r2.processes and all(p.alive for p in r2.processes)
        check(mini_lab, {"ospf": {"node": "r1", "full": 2}, "timeout": 20})
        assert snmp_get(mini_lab.plan.mgmt_netns, "172.20.20.12", V3) == "r2"
    finally:
        faults.clear()


def test_clear_undoes_everything(mini_lab: Lab) -> None:
    faults = Faults(mini_lab)
    faults.impair("r1:eth1", Impairment.parse(delay="20ms", loss="5%", rate="10mbit"))
    faults.impair("r2:eth1", Impairment.parse(delay="10ms"))
    faults.link_down("r2:eth2")
    state = mini_lab.state()
    assert state is not None and len(state.faults) == 3 and "0" in state.relays
    relay_pid = int(state.relays["0"]["pid"])
    assert faults.clear() == 3
    state = mini_lab.state()
    assert state is not None and not state.faults and not state.relays
    nft = run_in_netns("clab-mini-r1", ["nft", "list", "tables"]).stdout
    qdisc = subprocess.run(
        ["tc", "-n", "clab-mini-r1", "qdisc", "show", "dev", "eth1"], capture_output=True, text=True
    ).stdout
    assert "govnet" not in nft and "tbf" not in qdisc
    from simulations.procs import pid_alive

    assert not pid_alive(relay_pid)
    assert all(ln.a_state == ln.b_state == "up" for ln in mini_lab.status().links)
    for node in ("r1", "r2", "r3"):  # leave the lab converged for the next test
        check(mini_lab, {"ospf": {"node": node, "full": 2}, "timeout": 20})


def test_scenario_province_uplink_cut(mini_lab: Lab) -> None:
    result = run_scenario(mini_lab, "province-uplink-cut.yaml")
    assert result.ok, [(s.description, s.detail) for s in result.steps if not s.ok]
    state = mini_lab.state()
    assert state is not None and not state.faults


def test_cli_status_check_and_graph(mini_lab: Lab) -> None:
    runner = CliRunner()
    lab_dir = str(mini_lab.plan.lab_dir)
    res = runner.invoke(lab_cli.app, ["status", str(MINI), "--lab-dir", lab_dir, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["complete"] is True
    res = runner.invoke(
        lab_cli.app,
        [
            "check",
            str(MINI),
            "--lab-dir",
            lab_dir,
            "--ospf",
            "r1=2",
            "--snmp",
            "10.2.0.1=commune-ro",
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(lab_cli.app, ["up", str(MINI), "--lab-dir", lab_dir])
    assert res.exit_code == 0 and "already up" in res.output
    res = runner.invoke(lab_cli.app, ["exec", str(MINI), "r3", "--lab-dir", lab_dir, "--", "true"])
    assert res.exit_code == 0, res.output


def test_ospf_neighbors_helper(mini_lab: Lab) -> None:
    assert set(ospf_neighbors(mini_lab, "r3")) == {"10.255.0.1", "10.255.0.2"}


def test_a_plain_vtysh_inside_lab_exec_reaches_that_nodes_frr(mini_lab: Lab) -> None:
    # As `docker exec … vtysh` in containerlab: no `-N clab-<lab>-<node>` to know.
    direct = mini_lab.exec("r3", ["vtysh", "-c", "show running-config"])
    assert direct.returncode == 0, direct.stderr
    assert "hostname r3" in direct.stdout
    from_a_shell = mini_lab.exec("r1", ["sh", "-c", "vtysh -c 'show running-config'"])
    assert from_a_shell.returncode == 0, from_a_shell.stderr
    assert "hostname r1" in from_a_shell.stdout
