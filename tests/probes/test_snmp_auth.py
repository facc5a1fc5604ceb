"""SNMP authentication failures named by the requester's address: the lab's snmpd log
paired by its relay (simulations/logrelay.py ``--filter snmpd``), the devices' log lines
parsed by the probes' syslog receiver, the per-device bound on sources, and a real
net-snmp agent on loopback, configured and started as the lab starts a router's, refusing
requests sent from known loopback addresses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from probes.collector import ProbeCollector
from probes.credentials import SnmpCredentials
from probes.cycle import make_plan
from probes.model import Target
from probes.service import ProbeState
from probes.sharding import ALL
from probes.syslog import (
    MAX_SOURCES,
    LoginStore,
    SnmpAuthRecord,
    SyslogReceiver,
    parse,
    snmp_auth_event,
)
from probes.traps import TrapReceiver, TrapStore
from simulations import logrelay, services
from simulations.plan import build_plan
from simulations.procs import pid_alive, wait_for_pidfile
from simulations.topology import load_topology
from tests.conftest import ROOT, require
from tests.soc.helpers import free_port

AGENT = "127.0.0.4"  # the agent's own address: where its informs and log lines come from
RELAYED = b"<38>Dec  1 09:40:01 pr-kh2 snmpd: SNMP authentication failure: request from "


def router(name: str = "pr-kh2", address: str = AGENT) -> Target:
    return Target(name, "province-router", "KH-2", "KH-2", "", address, address, None, None)


def relayed(source: str, port: int = 40185) -> bytes:
    return RELAYED + f"{source} port {port}".encode()


# ------------------------------------------------------------ parsing the devices' lines


def test_the_lab_snmpd_relay_line_names_the_requester() -> None:
    assert snmp_auth_event(parse(relayed("172.20.20.5"))) == "172.20.20.5"
    assert snmp_auth_event(parse(relayed("2001:db8::7"))) == "2001:db8::7"


def test_a_cisco_ios_authfail_line_sample_names_the_requester_no_cisco_device_here() -> None:
    ios = b"<187>42: *Dec  1 09:40:01.123: %SNMP-3-AUTHFAIL: Authentication failure for SNMP req"
    assert snmp_auth_event(parse(ios + b" from host 10.250.0.66")) == "10.250.0.66"


@pytest.mark.parametrize(
    "line",
    [
        b"<38>Dec  1 09:40:01 pr-kh2 sshd[1]: SNMP authentication failure: request from"
        b" 10.0.0.1 port 1",  # not the agent's line
        RELAYED + b"not-an-address port 1",
        b"<38>Dec  1 09:40:01 pr-kh2 snmpd: Connection from UDP: [10.0.0.1]:1->[10.0.0.2]:161",
        b"<38>Dec  1 09:40:01 pr-kh2 snmpd: Authentication failed for govnet",  # no address
    ],
    ids=["other-app", "bad-address", "every-request", "no-requester"],
)
def test_lines_that_do_not_name_a_refused_requester_are_none(line: bytes) -> None:
    assert snmp_auth_event(parse(line)) is None


def test_the_store_counts_a_failure_by_device_and_requester_and_keeps_the_record() -> None:
    store = LoginStore([router()], management=["172.20.20.0/24"])
    record = store.received(relayed("172.20.20.5"), AGENT)
    assert isinstance(record, SnmpAuthRecord)
    assert (record.device, record.source, record.zone) == ("pr-kh2", "172.20.20.5", "management")
    store.received(relayed("198.51.100.7"), AGENT)
    assert store.received(relayed("172.20.20.5"), "127.0.0.99") is None  # not a device
    assert [(e["source"], e["zone"]) for e in store.snmp_auth_events()] == [
        ("172.20.20.5", "management"),
        ("198.51.100.7", "outside"),
    ]
    assert store.logins() == {}


def test_the_collector_exports_failures_by_requester_with_their_first_time() -> None:
    target = router()
    state = ProbeState(make_plan([target], ALL), TrapStore([target]), LoginStore([target]))
    before = time.time()
    for _ in range(2):
        state.logins.received(relayed("172.20.20.5"), AGENT)
    registry = CollectorRegistry()
    registry.register(ProbeCollector(state))
    where = {"device": "pr-kh2", "site": "KH-2", "province": "KH-2", "source": "172.20.20.5"}
    assert registry.get_sample_value("govnet_snmp_auth_failures_total", where) == 2
    created = registry.get_sample_value("govnet_snmp_auth_failures_created", where)
    assert created is not None and before <= created <= time.time()


def test_a_flood_of_spoofed_sources_is_bounded_per_device_the_rest_counted_as_other() -> None:
    store = LoginStore([router(), router("pr-kh12", "127.0.0.5")])
    for i in range(MAX_SOURCES + 200):
        store.received(relayed(f"10.9.{i // 250}.{i % 250 + 1}"), AGENT)
    store.received(relayed("10.9.0.1"), "127.0.0.5")  # another device: its own bound
    counts = store.snmp_auth_failures()
    sources = {source for device, _, _, source in counts if device == "pr-kh2"}
    assert len(sources) == MAX_SOURCES + 1 and "other" in sources
    assert counts[("pr-kh2", "KH-2", "KH-2", "other")][0] == 200
    assert sum(n for (device, *_), (n, _) in counts.items() if device == "pr-kh2") == 264
    assert counts[("pr-kh12", "KH-2", "KH-2", "10.9.0.1")][0] == 1
    # the login sources have their own bound: the flood took none of it
    store.received(b"<38>1 - pr-kh2 sshd 1 - - Failed password for x from 10.8.0.1 port 2", AGENT)
    assert [key[4] for key in store.logins()] == ["10.8.0.1"]


# ------------------------------------------------------------ the relay's pairing

# What net-snmp 5.9.3 writes with -Le -Dsess_process_packet,trap (measured on loopback):
# a good GET, a GET with a wrong community from 127.0.0.2, a wrong v3 key from 127.0.0.3.
SNMPD_STDERR = """\
registered debug token trap, 1
NET-SNMP version 5.9.3
sess_process_packet: session 0x55d817c09490 fd 7 pkt 0x55d817c0d870 length 141
Connection from UDP: [127.0.0.1]:53078->[127.0.0.1]:35177
sess_process_packet: received message id#1248763186 reqid#738615459 len 141
sess_process_packet: sending message id#1248763186 reqid#738615459 len 144
sess_process_packet: session 0x55d817c09490 fd 7 pkt 0x55d817c0d870 length 46
Connection from UDP: [127.0.0.2]:42042->[127.0.0.1]:35177
sess_process_packet: received message id#0 reqid#615271912 len 46
trap: send_trap 4 0 iso.3.6.1.4.1.8072.3.2.10
trap: sending trap type=167, version=1 to UDP: [127.0.0.1]:29162->[0.0.0.0]:42185
sess_process_packet: sending message id#235712729 reqid#171845478 len 97
sess_process_packet: session 0x55d817c09490 fd 7 pkt 0x55d817c0d870 length 141
Connection from UDP: [127.0.0.3]:44518->[127.0.0.1]:35177
Authentication failed for govnet
trap: send_trap 4 0 iso.3.6.1.4.1.8072.3.2.10
trap: sending trap type=167, version=1 to UDP: [127.0.0.1]:29162->[0.0.0.0]:42185
sess_process_packet: session 0x55d817c09490 fd 9 pkt 0x55d817c0d870 length 98
sess_process_packet: received message id#235712731 reqid#171845480 len 98
"""


def _pair(text: str) -> tuple[list[str], list[str]]:
    lines = logrelay.SnmpdAuthFailures()
    kept, sent = [], []
    for line in text.splitlines():
        log, sink = lines.line(line)
        kept += [log] if log is not None else []
        sent += [sink] if sink is not None else []
    return kept, sent


def test_the_relay_names_the_requester_of_the_packet_that_raised_each_failure() -> None:
    kept, sent = _pair(SNMPD_STDERR)
    assert sent == [
        "SNMP authentication failure: request from 127.0.0.2 port 42042",
        "SNMP authentication failure: request from 127.0.0.3 port 44518",
    ]
    assert kept == [
        "registered debug token trap, 1",
        "NET-SNMP version 5.9.3",
        "Connection from UDP: [127.0.0.1]:53078->[127.0.0.1]:35177",
        "Connection from UDP: [127.0.0.2]:42042->[127.0.0.1]:35177",
        sent[0],
        "Connection from UDP: [127.0.0.3]:44518->[127.0.0.1]:35177",
        "Authentication failed for govnet",
        sent[1],
    ]


def test_a_failure_in_a_packet_that_named_no_requester_is_attributed_to_nobody() -> None:
    # measured: a DisMan monitor's own query (callback transport, fd 3, no Connection line)
    # refused right after a good request from 127.0.0.2
    internal = """\
sess_process_packet: session 0x55fb7f72b630 fd 8 pkt 0x55fb7f72fb60 length 141
Connection from UDP: [127.0.0.2]:45661->[127.0.0.1]:56393
sess_process_packet: received message id#798481077 reqid#598029449 len 141
sess_process_packet: sending message id#798481077 reqid#598029449 len 144
sess_process_packet: session 0x55fb7f583d70 fd 3 pkt 0x55fb7f72ffe0 length 1
sess_process_packet: received message id#352145019 reqid#1840599275 len 1
trap: send_trap 4 0 iso.3.6.1.4.1.8072.3.2.10
failed to run mteTrigger query
"""
    kept, sent = _pair(internal)
    assert sent == []  # the earlier request from 127.0.0.2 did not fail
    assert kept[-2:] == [
        "SNMP authentication failure: no requester (an internal query)",
        "failed to run mteTrigger query",
    ]


def test_without_the_packet_lines_the_relay_names_nobody() -> None:
    no_token = "Connection from UDP: [127.0.0.2]:42042->[127.0.0.1]:35177\ntrap: send_trap 4 0 x\n"
    assert _pair(no_token)[1] == []


# ------------------------------------------------------------ a real agent on loopback


@dataclass
class Collector:
    logins: LoginStore
    traps: TrapStore
    syslog_port: int
    trap_port: int


@pytest.fixture()
def collector() -> Iterator[Collector]:
    """The probes' trap receiver (v3 informs) and syslog receiver on 127.0.0.1, in one
    event loop thread, as ``govnet probe serve`` runs them."""
    target = router()
    traps, logins = TrapStore([target]), LoginStore([target], management=["127.0.0.0/8"])
    syslog_port, trap_port = free_port(), free_port()
    creds = SnmpCredentials(
        "lab-v3", "3", user="govnet", auth_key="govnet-lab-auth", priv_key="govnet-lab-priv"
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: list[asyncio.Event] = []

    async def run() -> None:
        informs = TrapReceiver(traps, ("127.0.0.1", trap_port), [creds])
        informs.open()
        syslog = SyslogReceiver(logins, ("127.0.0.1", syslog_port))
        await syslog.open()
        stop.append(asyncio.Event())
        ready.set()
        try:
            await stop[0].wait()
        finally:
            await syslog.close()
            informs.close()

    thread = threading.Thread(target=lambda: loop.run_until_complete(run()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield Collector(logins, traps, syslog_port, trap_port)
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
        loop.close()


@dataclass
class Agent:
    port: int
    log: Path


@contextlib.contextmanager
def loopback_router_agent(
    tmp_path: Path, sinks: Collector, config_edit: tuple[str, str] | None = None
) -> Iterator[Agent]:
    """A router's snmpd started by the lab's own command (relay ``--filter snmpd``, debug
    tokens, the lab's config) for an env naming both sinks — moved to loopback: the relay
    sends from AGENT, snmpd listens on 127.0.0.1 instead of every address of a namespace.
    ``config_edit`` (old, new) changes one line of its config. Both ended by PID."""
    require(os.geteuid() == 0, "the lab's snmpd start (unshare --uts) needs root")
    require(os.path.exists("/usr/sbin/snmpd"), "snmpd is not installed")
    require(shutil.which("snmpget") is not None, "snmpget (Debian snmp) is not installed")
    plan = build_plan(
        load_topology(ROOT / "tests/lab/fixtures/mini.clab.yml", env={}), tmp_path / "lab"
    )
    node = plan.node("r1")
    env = {
        **node.node.env,
        "SNMP_TRAP_SINK": f"127.0.0.1:{sinks.trap_port}",
        "SNMP_TRAP_SOURCE": AGENT,
        "SNMP_MONITOR_SECONDS": "1",  # its internal queries run throughout the test
        "SYSLOG_SINK": f"127.0.0.1:{sinks.syslog_port}",
    }
    node = replace(node, node=replace(node.node, env=env))
    paths = services.snmpd_paths(node)
    paths["config"].parent.mkdir(parents=True, exist_ok=True)
    config = services.snmpd_config_text(node)
    if config_edit is not None:
        assert config_edit[0] in config
        config = config.replace(*config_edit)
    paths["config"].write_text(config)
    argv = services.snmpd_start_argv(node)
    assert argv[:3] == [sys.executable, "-m", "simulations.logrelay"]
    assert argv[-1] == "udp:0.0.0.0:161"
    argv[argv.index("--source") + 1] = AGENT
    port = free_port()
    started = subprocess.run(
        [*argv[:-1], f"udp:127.0.0.1:{port}"],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(tmp_path / "persist"), "MIBS": ""},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert started.returncode == 0, started.stderr
    pids = [wait_for_pidfile(paths["pid"], 10), wait_for_pidfile(paths["relay_pid"], 10)]
    try:
        assert None not in pids, paths["log"].read_text() if paths["log"].exists() else ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not sinks.traps.events():
            time.sleep(0.1)  # the coldStart inform: the agent is up and reaches the NMS
        assert [e["trap"] for e in sinks.traps.events()][:1] == ["coldStart"]
        yield Agent(port, paths["log"])
    finally:
        for pid in pids:  # snmpd first: the relay ends when its pipe closes
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(pid_alive, filter(None, pids))):
            time.sleep(0.05)
        assert not any(map(pid_alive, filter(None, pids))), "the agent or its relay outlived it"


def _snmpget(source: str, port: int, *auth: str) -> None:
    agent, oid = f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.0"
    subprocess.run(
        ["snmpget", f"--clientaddr={source}", "-t", "0.5", "-r", "0", *auth, agent, oid],
        capture_output=True,
        check=False,
        timeout=10,
        env={**os.environ, "MIBS": ""},
    )


def test_a_real_agent_names_the_loopback_address_each_refused_request_came_from(
    collector: Collector, tmp_path: Path
) -> None:
    with loopback_router_agent(tmp_path, collector) as agent:
        v3 = ["-v3", "-l", "authPriv", "-a", "SHA", "-x", "AES", "-X", "govnet-lab-priv"]
        _snmpget("127.0.0.5", agent.port, *v3, "-u", "intruder", "-A", "intruder-key")
        _snmpget("127.0.0.2", agent.port, "-v2c", "-c", "guessed-community")
        _snmpget("127.0.0.3", agent.port, *v3, "-u", "govnet", "-A", "not-the-key")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(collector.logins.snmp_auth_events()) < 2:
            time.sleep(0.1)
        records = collector.logins.snmp_auth_events()
        assert [(r["device"], r["source"]) for r in records] == [
            ("pr-kh2", "127.0.0.2"),  # the wrong community
            ("pr-kh2", "127.0.0.3"),  # the wrong v3 key
        ]  # an unknown v3 user is no authenticationFailure for net-snmp: a Report only
        state = ProbeState(make_plan([router()], ALL), collector.traps, collector.logins)
        registry = CollectorRegistry()
        registry.register(ProbeCollector(state))
        where = {"device": "pr-kh2", "site": "KH-2", "province": "KH-2"}
        for source in ("127.0.0.2", "127.0.0.3"):
            labels = {**where, "source": source}
            assert registry.get_sample_value("govnet_snmp_auth_failures_total", labels) == 1
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and sum(n for n, _ in collector.traps.auth_failures().values()) < 2
        ):
            time.sleep(0.1)
        informs = registry.get_sample_value("govnet_snmp_auth_failure_traps_total", where)
        assert informs == 2  # the agent's own notifications: one per refused request
        state.flush(tmp_path / "traps.json")  # what `govnet probe traps` shows
        shown = json.loads((tmp_path / "traps.json").read_text())
        assert [r["source"] for r in shown["snmp_auth_failures"]] == ["127.0.0.2", "127.0.0.3"]
        assert [e["trap"] for e in shown["events"]].count("authenticationFailure") == 2
        log = agent.log.read_text()
        assert "Connection from UDP: [127.0.0.2]:" in log and "sess_process_packet: " not in log
        assert log.count("SNMP authentication failure: request from") == 2


def test_a_real_agent_refusing_its_own_internal_queries_names_no_requester(
    collector: Collector, tmp_path: Path
) -> None:
    """The lab's monitors query as the polling user (authPriv only), not their own: every
    internal query is refused, an authenticationFailure each second — while a good
    request from 127.0.0.2 comes in between. Nobody is named for them."""
    edit = ("iquerySecName govnet-iquery", "iquerySecName govnet")
    with loopback_router_agent(tmp_path, collector, config_edit=edit) as agent:
        v3 = ["-v3", "-l", "authPriv", "-a", "SHA", "-x", "AES", "-X", "govnet-lab-priv"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            agent.log.read_text().count("no requester (an internal query)") < 3
        ):
            _snmpget("127.0.0.2", agent.port, *v3, "-u", "govnet", "-A", "govnet-lab-auth")
        log = agent.log.read_text()
        assert log.count("no requester (an internal query)") >= 3
        assert "Connection from UDP: [127.0.0.2]:" in log  # the good requests in between
        assert collector.logins.snmp_auth_events() == []
        assert "SNMP authentication failure: request from" not in log
    assert sum(n for n, _ in collector.traps.auth_failures().values()) >= 3  # notified
