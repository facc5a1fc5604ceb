"""SNMP notifications: linkUp/linkDown as interface states (kept until a later poll says
otherwise), authenticationFailure counted by device, and a real net-snmp
agent configured as the lab configures its nodes sending v3 informs to the receiver on
loopback (coldStart, linkUp/linkDown from its DisMan monitors, authenticationFailure)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from probes.collector import PARTS, ProbeCollector
from probes.credentials import SnmpCredentials
from probes.cycle import make_plan
from probes.model import Cycle, Interface, SnmpResult
from probes.server import MetricsServer
from probes.service import ProbeState
from probes.traps import (
    RECEIVER_ENGINE_ID,
    RECONCILE_AFTER,
    TrapReceiver,
    TrapStore,
    boots,
    interface_state,
    polled_interfaces,
)
from simulations import services
from simulations.plan import build_plan
from simulations.topology import load_topology
from tests.conftest import ROOT, require
from tests.probes.test_targets import lab
from tests.soc.helpers import free_port

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
AUTH_FAILURE = "1.3.6.1.6.3.1.1.5.5"
PR_KH2 = "172.20.20.23"
SOURCE = "127.0.0.2"  # the agent sends from here (clientaddr), not from 127.0.0.1
WRONG_COMMUNITY_GET = ["snmpget", "-v2c", "-c", "guessed", "-t", "0.5", "-r", "0"]


def if_binds(index: int, name: str, admin: int, oper: int) -> list[tuple[str, str]]:
    """The varbinds the lab's snmpd monitors put into linkUp/linkDown."""
    return [
        ("1.3.6.1.2.1.1.3.0", "1234"),
        (f"1.3.6.1.2.1.2.2.1.1.{index}", str(index)),
        (f"1.3.6.1.2.1.2.2.1.7.{index}", str(admin)),
        (f"1.3.6.1.2.1.2.2.1.8.{index}", str(oper)),
        (f"1.3.6.1.2.1.2.2.1.2.{index}", name),
    ]


def store() -> TrapStore:
    return TrapStore(list(lab().values()))


def test_link_down_of_an_admin_up_interface_is_a_down_state_named_by_its_ifdescr() -> None:
    traps = store()
    traps.event(PR_KH2, LINK_DOWN, "3", if_binds(3, "eth1", admin=1, oper=2))
    states = traps.interfaces()
    assert list(states) == [("pr-kh2", "KH-2", "KH-2", "eth1")]
    assert states[("pr-kh2", "KH-2", "KH-2", "eth1")][0] is False


def test_an_admin_down_interface_counts_as_up_and_link_up_clears_the_state() -> None:
    assert interface_state(if_binds(4, "eth2", admin=2, oper=2)) == ("eth2", True)
    assert interface_state(if_binds(4, "eth2", admin=1, oper=2)) == ("eth2", False)
    assert interface_state([("1.3.6.1.2.1.2.2.1.8.4", "2")]) is None  # no ifDescr: no name
    traps = store()
    traps.event(PR_KH2, LINK_DOWN, "3", if_binds(3, "eth1", admin=1, oper=2))
    traps.event(PR_KH2, LINK_UP, "3", if_binds(3, "eth1", admin=1, oper=1))
    assert traps.interfaces()[("pr-kh2", "KH-2", "KH-2", "eth1")][0] is True


def test_a_notification_from_an_unknown_address_sets_no_interface_state() -> None:
    traps = store()
    traps.event("192.0.2.9", LINK_DOWN, "3", if_binds(3, "eth1", admin=1, oper=2))
    assert traps.interfaces() == {}


def _cycle(started: float, oper_up: bool) -> Cycle:
    plan = make_plan(list(lab().values()))
    result = SnmpResult(
        "pr-kh2", True, interfaces=(Interface(3, "eth1", oper_up=oper_up, admin_up=True),)
    )
    return Cycle(started, 1.0, 0.5, plan.targets, {"pr-kh2": result}, {}, {}, {})


def test_a_poll_begun_well_after_the_trap_overrules_it_but_not_one_begun_before() -> None:
    traps = store()
    traps.event(PR_KH2, LINK_DOWN, "3", if_binds(3, "eth1", admin=1, oper=2))
    key = ("pr-kh2", "KH-2", "KH-2", "eth1")
    when = traps.interfaces()[key][1]
    assert polled_interfaces(_cycle(when, oper_up=True)) == {("pr-kh2", "eth1"): True}
    traps.reconcile(when + 1.0, polled_interfaces(_cycle(when + 1.0, oper_up=True)))
    assert traps.interfaces()[key][0] is False  # a poll this close may predate the fault
    later = when + RECONCILE_AFTER + 1
    traps.reconcile(later, polled_interfaces(_cycle(later, oper_up=True)))
    assert traps.interfaces()[key][0] is True  # the linkUp was lost: the poll says up


def test_auth_failure_notifications_are_counted_by_device_with_their_first_time() -> None:
    traps = store()
    before = time.time()
    for _ in range(3):
        traps.event(PR_KH2, AUTH_FAILURE, "3", [])
    (key, (count, first)), *rest = traps.auth_failures().items()
    assert rest == []
    assert key == ("pr-kh2", "KH-2", "KH-2") and count == 3
    assert before <= first <= time.time()


def test_the_exporter_shows_trap_states_and_created_times() -> None:
    plan = make_plan(list(lab().values()))
    state = ProbeState(plan, store())
    state.traps.event(PR_KH2, LINK_DOWN, "3", if_binds(3, "eth1", admin=1, oper=2))
    state.traps.event(PR_KH2, AUTH_FAILURE, "3", [])
    registry = CollectorRegistry()
    registry.register(ProbeCollector(state))
    get = registry.get_sample_value
    where = {"device": "pr-kh2", "site": "KH-2", "province": "KH-2"}
    assert get("govnet_if_trap_oper_up", {**where, "ifname": "eth1"}) == 0
    assert get("govnet_snmp_auth_failure_traps_total", where) == 1
    created = get("govnet_snmp_auth_failure_traps_created", where)
    assert created is not None and abs(created - time.time()) < 60


def test_the_endpoint_serves_events_and_polls_apart_and_both_at_metrics() -> None:
    """/metrics/events: only what the trap and syslog receivers counted (the SOC scrapes
    it every 2 s); /metrics/polls: everything else; /metrics: both, as before."""
    plan = make_plan(list(lab().values()))
    state = ProbeState(plan, store())
    state.traps.event(PR_KH2, LINK_DOWN, "3", if_binds(3, "eth1", admin=1, oper=2))
    registries: dict[str, CollectorRegistry] = {}
    for part in PARTS:
        registries[part] = CollectorRegistry()
        registries[part].register(ProbeCollector(state, part))
    server = MetricsServer(("127.0.0.1", 0), registries, lambda: "[]")
    server.start()
    try:
        base = "http://{}:{}".format(*server.address)
        names = {
            path: {
                family.name
                for family in text_string_to_metric_families(
                    httpx.get(base + path, timeout=5).raise_for_status().text
                )
            }
            for path in ("/metrics/events", "/metrics/polls", "/metrics")
        }
    finally:
        server.stop()
    events, polls, everything = names["/metrics/events"], names["/metrics/polls"], names["/metrics"]
    assert {"govnet_if_trap_oper_up", "govnet_snmp_auth_failure_traps"} <= events
    assert {"govnet_device_logins", "govnet_syslog_messages"} <= events
    assert not any(name.startswith("govnet_probe_") for name in events)
    assert "govnet_probe_cycles" in polls
    assert not events & polls
    assert everything == events | polls


# ------------------------------------------------------------ a real agent on loopback


@pytest.fixture()
def receiver() -> Iterator[tuple[TrapStore, int]]:
    """The receiver (pysnmp) in its own event loop thread on 127.0.0.1."""
    port = free_port()
    traps = TrapStore()
    creds = SnmpCredentials(
        "lab-v3", "3", user="govnet", auth_key="govnet-lab-auth", priv_key="govnet-lab-priv"
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: list[asyncio.Event] = []

    async def run() -> None:
        rx = TrapReceiver(traps, ("127.0.0.1", port), [creds])
        rx.open()
        stop.append(asyncio.Event())
        ready.set()
        try:
            await stop[0].wait()
        finally:
            rx.close()

    thread = threading.Thread(target=lambda: loop.run_until_complete(run()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield traps, port
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
        loop.close()


def _agent_config(tmp_path: Path, sink_port: int) -> str:
    """snmpd.conf exactly as the lab writes it for a node whose env names a trap sink."""
    plan = build_plan(
        load_topology(ROOT / "tests/lab/fixtures/mini.clab.yml", env={}), tmp_path / "lab"
    )
    node = plan.node("r1")
    env = {
        **node.node.env,
        "SNMP_TRAP_SINK": f"127.0.0.1:{sink_port}",
        "SNMP_TRAP_ENGINE_ID": RECEIVER_ENGINE_ID.hex(),  # as `topology render` writes it
        "SNMP_TRAP_SOURCE": SOURCE,  # the address the NMS knows the node by
        "SNMP_MONITOR_SECONDS": "1",
    }
    return services.snmpd_config_text(replace(node, node=replace(node.node, env=env)))


def test_a_real_net_snmp_agent_sends_v3_informs_for_start_links_and_auth_failures(
    receiver: tuple[TrapStore, int], tmp_path: Path
) -> None:
    require(shutil.which("snmpd") is not None or os.path.exists("/usr/sbin/snmpd"), "no snmpd")
    require(shutil.which("snmpget") is not None, "snmpget (Debian snmp) is not installed")
    traps, sink = receiver
    (tmp_path / "snmpd.conf").write_text(_agent_config(tmp_path, sink))
    agent_port = free_port()
    config, log = str(tmp_path / "snmpd.conf"), str(tmp_path / "snmpd.log")
    argv = ["/usr/sbin/snmpd", "-f", "-C", "-c", config, "-Lf", log, "-M", "/nonexistent"]
    agent = subprocess.Popen(
        [*argv, "-m", "", f"udp:127.0.0.1:{agent_port}"],
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(tmp_path / "persist"), "MIBS": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def seen(trap: str) -> list[dict[str, Any]]:
            return [e for e in traps.events() if e["trap"] == trap]

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (seen("coldStart") and seen("linkUp")):
            time.sleep(0.2)
        assert seen("coldStart"), traps.events()
        assert any(e["detail"].get("1.3.6.1.2.1.2.2.1.2.1") == "lo" for e in seen("linkUp"))
        assert seen("authenticationFailure") == []  # its own monitor queries are allowed
        subprocess.run(
            [*WRONG_COMMUNITY_GET, f"127.0.0.1:{agent_port}", "1.3.6.1.2.1.1.5.0"],
            capture_output=True,
            check=False,
            timeout=10,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not seen("authenticationFailure"):
            time.sleep(0.2)
        failures = seen("authenticationFailure")
        assert len(failures) == 1 and failures[0]["version"] == "3"
        assert {e["source"] for e in traps.events()} == {SOURCE}
    finally:
        agent.terminate()
        agent.wait(10)


def test_an_agent_told_the_receivers_engine_id_need_not_discover_it(tmp_path: Path) -> None:
    """snmpd discovers an inform receiver's engine ID synchronously, serving nothing
    meanwhile (6 s when the receiver is not up yet); the lab tells it the ID instead."""
    config = _agent_config(tmp_path, 9162)
    (trapsess,) = [line for line in config.splitlines() if line.startswith("trapsess ")]
    assert f" -e 0x{RECEIVER_ENGINE_ID.hex()} " in trapsess
    assert RECEIVER_ENGINE_ID.startswith(bytes.fromhex("80001f8804"))  # RFC 3411 text ID
    assert 5 <= len(RECEIVER_ENGINE_ID) <= 32


def test_the_receivers_boots_grow_at_every_start_with_no_state_file() -> None:
    """Its engine ID never changes, so snmpEngineBoots must grow across restarts."""
    assert boots(1_700_000_000.0) < boots(1_700_000_001.0)
    assert boots(0.0) == 1 and boots(4e9) == 2**31 - 1  # within RFC 3414's range
