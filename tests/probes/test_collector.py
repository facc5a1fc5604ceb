"""The exporter's metric names, labels and values, read through a fresh registry; and
the exposition passes `promtool check metrics`."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from probes.collector import ProbeCollector
from probes.cycle import make_plan
from probes.model import Cycle, IcmpResult, Interface, SnmpResult
from probes.reachability import classify
from probes.service import ProbeState
from probes.sharding import Shard
from probes.traps import TrapStore
from tests.conftest import require
from tests.probes.test_targets import lab

DOWN = {"pr-kh2", "cpe-020301", "cpe-020302", "cpe-020101", "cpe-020102"}


def make_cycle() -> tuple[ProbeState, Cycle]:
    plan = make_plan(list(lab().values()), Shard(1, 1))
    icmp = {
        t.name: IcmpResult(
            t.name, t.icmp_address, (None, None, None) if t.name in DOWN else (0.001, 0.003, 0.002)
        )
        for t in plan.targets
    }
    snmp = {
        t.name: SnmpResult(t.name, False, reason="no reply after 2 tries of 1 s")
        if t.name in DOWN
        else SnmpResult(
            t.name,
            True,
            uptime_seconds=42.5,
            sys_name=t.name,
            values=13,
            interfaces=(
                Interface(1, "lo", True, True, 10, 20, 0, 0, 0, 0, 10_000_000),
                Interface(2, "eth1", False, True, 2**63, 5, 1, 2, 3, 4, 1_000_000_000),
            ),
        )
        for t in plan.targets
    }
    states, upstream = classify(plan.targets, {k: v.ok for k, v in icmp.items()})
    cycle = Cycle(1_700_000_000.0, 1.25, 0.5, plan.targets, snmp, icmp, states, upstream)
    state = ProbeState(plan, TrapStore(plan.targets))
    state.publish(cycle)
    state.traps.event("172.20.20.23", "1.3.6.1.6.3.1.1.5.3", "2c", [])
    state.traps.event("172.20.20.23", "1.3.6.1.6.3.1.1.5.5", "2c", [])
    state.traps.event("192.0.2.1", "1.3.6.1.6.3.1.1.5.4", "3", [])
    return state, cycle


@pytest.fixture()
def registry() -> CollectorRegistry:
    state, _ = make_cycle()
    registry = CollectorRegistry()
    registry.register(ProbeCollector(state))
    return registry


def labels(device: str, site: str, province: str, role: str, tenant: str = "") -> dict[str, str]:
    return {"device": device, "site": site, "province": province, "tenant": tenant, "role": role}


def test_icmp_metrics(registry: CollectorRegistry) -> None:
    cpe = labels("cpe-120101", "120101", "KH-12", "cpe")
    get = registry.get_sample_value
    assert get("govnet_icmp_rtt_seconds", {**cpe, "stat": "min"}) == 0.001
    assert get("govnet_icmp_rtt_seconds", {**cpe, "stat": "max"}) == 0.003
    assert get("govnet_icmp_rtt_seconds", {**cpe, "stat": "avg"}) == pytest.approx(0.002)
    assert get("govnet_icmp_jitter_seconds", cpe) == pytest.approx(0.0015)
    assert get("govnet_icmp_loss_ratio", cpe) == 0.0
    down = labels("cpe-020301", "020301", "KH-2", "cpe")
    assert get("govnet_icmp_loss_ratio", down) == 1.0
    assert get("govnet_icmp_rtt_seconds", {**down, "stat": "avg"}) is None


def test_snmp_and_interface_metrics(registry: CollectorRegistry) -> None:
    get = registry.get_sample_value
    mef = labels("mr-mef", "KH-12", "KH-12", "ministry-router", "MEF")
    assert get("govnet_snmp_up", mef) == 1.0
    assert get("govnet_snmp_uptime_seconds", mef) == 42.5
    eth1 = {**mef, "ifname": "eth1"}
    assert get("govnet_if_oper_up", eth1) == 0.0 and get("govnet_if_admin_up", eth1) == 1.0
    assert get("govnet_if_in_bytes_total", eth1) == 2**63
    assert get("govnet_if_out_bytes_total", eth1) == 5
    assert get("govnet_if_in_errors_total", eth1) == 1
    assert get("govnet_if_out_discards_total", eth1) == 4
    assert get("govnet_if_speed_bytes_per_second", eth1) == 1e9 / 8
    pr = labels("pr-kh2", "KH-2", "KH-2", "province-router")
    assert get("govnet_snmp_up", pr) == 0.0
    assert get("govnet_if_oper_up", {**pr, "ifname": "eth1"}) is None


def test_reachability_metrics_suppress_communes_behind_a_down_router(
    registry: CollectorRegistry,
) -> None:
    get = registry.get_sample_value
    pr = labels("pr-kh2", "KH-2", "KH-2", "province-router")
    cpe = labels("cpe-020301", "020301", "KH-2", "cpe")
    assert get("govnet_site_up", pr) == 0.0 and get("govnet_site_upstream_down", pr) == 0.0
    assert get("govnet_site_reachability", {**pr, "state": "down"}) == 1.0
    assert get("govnet_site_up", cpe) == 0.0 and get("govnet_site_upstream_down", cpe) == 1.0
    assert get("govnet_site_reachability", {**cpe, "state": "unreachable"}) == 1.0
    assert get("govnet_site_reachability", {**cpe, "state": "down"}) == 0.0


def test_self_metrics_and_traps(registry: CollectorRegistry) -> None:
    get = registry.get_sample_value
    assert get("govnet_probe_cycle_duration_seconds") == 1.25
    assert get("govnet_probe_targets", {"state": "polled"}) == 18
    assert get("govnet_probe_targets", {"state": "failed"}) == 5
    assert get("govnet_probe_overruns_total") == 0
    assert get("govnet_probe_last_cycle_timestamp_seconds") == 1_700_000_000.0
    assert get("govnet_probe_shard_info", {"shard": "1", "shards": "1"}) == 1
    assert (
        get("govnet_snmp_traps_total", {"site": "KH-2", "province": "KH-2", "trap": "linkDown"})
        == 1
    )
    auth = {"device": "pr-kh2", "site": "KH-2", "province": "KH-2"}
    assert get("govnet_snmp_auth_failure_traps_total", auth) == 1
    assert get("govnet_snmp_auth_failure_traps_created", auth) is not None
    assert (
        get("govnet_snmp_traps_total", {"site": "unknown", "province": "unknown", "trap": "linkUp"})
        == 1
    )


def test_before_the_first_cycle_only_self_metrics_are_exposed() -> None:
    plan = make_plan(list(lab().values()))
    registry = CollectorRegistry()
    registry.register(ProbeCollector(ProbeState(plan, TrapStore())))
    text = generate_latest(registry).decode()
    assert "govnet_probe_shard_info" in text and "govnet_snmp_up" not in text


def test_the_exposition_passes_promtool(registry: CollectorRegistry) -> None:
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool is missing (Debian package prometheus)")
    assert promtool is not None
    text = generate_latest(registry)
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=30
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
