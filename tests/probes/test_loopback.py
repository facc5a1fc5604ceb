"""Integration on loopback: real net-snmp agents on 127.10.x.y (v3 authPriv and v2c), a
dead and a slow agent, hostile replies, fping, the CLI, /metrics through promtool, and a
trap sent with snmptrap. Nothing leaves 127.0.0.0/8."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from controller.inventory import load_inventory
from probes import ber
from probes.agents import AgentPool
from probes.credentials import resolve_all
from probes.cycle import Pings, make_plan, run_cycle
from probes.icmp import IcmpSettings, Pinger
from probes.model import Cycle, Reachability, SnmpResult, Target
from probes.service import ProbeState, ServiceConfig, run_once
from probes.sharding import Shard, owner
from probes.snmp import SnmpPoller, SnmpSettings
from probes.targets import build_targets
from probes.traps import TrapStore
from tests.conftest import ROOT, require
from tests.probes.conftest import (
    CPES,
    DEAD,
    ENV,
    PORT,
    ROUTERS,
    SLOW,
    FakeAgent,
    _free_udp_port,
    govnet,
    govnet_argv,
    require_binaries,
    write_inventory,
)
from tests.probes.mib import device_mib, respond

COMMUNITY = ENV["GOVNET_TEST_SNMP_COMMUNITY"].encode()


def targets_of(path: Path) -> dict[str, Target]:
    return {t.name: t for t in build_targets(load_inventory(path))}


def poll(targets: list[Target], settings: SnmpSettings) -> dict[str, SnmpResult]:
    async def main() -> dict[str, SnmpResult]:
        poller = SnmpPoller(resolve_all(targets, ENV), settings)
        await poller.open()
        try:
            return await poller.poll(targets)
        finally:
            poller.close()

    return asyncio.run(main())


def test_v3_authpriv_and_v2c_against_real_agents(agents: AgentPool, tmp_path: Path) -> None:
    targets = targets_of(write_inventory(tmp_path, CPES))
    results = poll(list(targets.values()), SnmpSettings(timeout=2, retries=1))
    assert all(r.ok for r in results.values()), {k: r.reason for k, r in results.items()}
    core = results["core-1"]  # v3 authPriv (SHA/AES)
    assert targets["core-1"].snmp_profile is not None
    assert targets["core-1"].snmp_profile.version == "3"
    assert core.sys_name == "router-agent" and core.uptime_seconds is not None
    assert "lo" in {i.name for i in core.interfaces}
    lo = next(i for i in core.interfaces if i.name == "lo")
    assert lo.oper_up and lo.in_octets is not None and lo.in_octets > 0
    cpe = results["cpe-120101"]  # v2c, lean client
    assert cpe.sys_name == "cpe-agent" and cpe.values == 2 + 11 * len(cpe.interfaces)


def test_wrong_v3_secrets_fail_that_target_only(agents: AgentPool, tmp_path: Path) -> None:
    targets = list(targets_of(write_inventory(tmp_path, CPES)).values())
    creds = resolve_all(targets, {**ENV, "GOVNET_TEST_SNMP_AUTH": "not-the-password"})

    async def main() -> dict[str, SnmpResult]:
        poller = SnmpPoller(creds, SnmpSettings(timeout=2.0, retries=0))
        await poller.open()
        try:
            return await poller.poll(targets)
        finally:
            poller.close()

    results = asyncio.run(main())
    assert not results["core-1"].ok and results["core-1"].reason
    assert results["cpe-120101"].ok


def test_a_dead_and_a_slow_agent_do_not_delay_the_others(agents: AgentPool, tmp_path: Path) -> None:
    """One dead and one slow agent cost only their own slots: every good target is done in
    less than one timeout (had it waited for the dead one, it would take two), and the
    whole poll ends within the dead target's own deadline. The timeout is far above the
    machine's scheduling noise (a loaded 2-core runner), so the margins hold."""
    timeout, retries = 2.0, 1
    settings = SnmpSettings(timeout=timeout, retries=retries)
    targets = targets_of(write_inventory(tmp_path, {**CPES, **DEAD, **SLOW}))
    slow_address = next(iter(SLOW.values()))
    late = timeout * (retries + 1) + 2.0  # answers only after the poller gave up
    with FakeAgent(slow_address, lambda req: respond(device_mib(), req, COMMUNITY), delay=late):
        started = time.perf_counter()
        results = poll(list(targets.values()), settings)
        elapsed = time.perf_counter() - started
    dead, slow = results["cpe-120201"], results["cpe-120202"]
    assert not dead.ok and "no reply after 2 tries" in dead.reason
    assert not slow.ok and "no reply" in slow.reason
    good = [r for name, r in results.items() if name in CPES]
    assert all(r.ok for r in good)
    assert max(r.seconds for r in good) < timeout  # nobody waited for the dead agent
    assert elapsed < settings.target_deadline  # bounded by the dead target's own deadline


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (lambda req: b"\x30\x82\xff\xff garbage", "malformed reply"),
        (
            lambda req: ber.encode_response(
                COMMUNITY,
                ber.decode_message(req).request_id,
                [(ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 3, 0)), ber.OCTET_STRING, b"x")] * 2,
            ),
            "sysUpTime: expected TimeTicks",
        ),
        (
            lambda req: ber.encode_response(b"wrong", ber.decode_message(req).request_id, []),
            "community mismatch",
        ),
        (
            lambda req: ber.encode_response(
                COMMUNITY,
                ber.decode_message(req).request_id,
                [(ber.encode_oid((1, 3, 6, 1, 9, i)), ber.NULL, None) for i in range(3000)],
            ),
            "more than requested",
        ),
    ],
    ids=["garbage", "wrong-type", "community", "absurd-count"],
)
def test_hostile_replies_mark_the_target_down_with_a_reason(
    agents: AgentPool, tmp_path: Path, reply: object, reason: str
) -> None:
    targets = targets_of(write_inventory(tmp_path, {**CPES, **SLOW}))
    # every target answers at once: the timeout only has to outlast a starved runner (the
    # fake agent is a thread of this process, and builds 3,000 varbinds for absurd-count)
    with FakeAgent(next(iter(SLOW.values())), reply):  # type: ignore[arg-type]
        results = poll(list(targets.values()), SnmpSettings(timeout=3.0, retries=0))
    hostile = results["cpe-120202"]
    assert not hostile.ok and reason in hostile.reason
    assert all(results[name].ok for name in CPES)


def test_fping_on_loopback(tmp_path: Path) -> None:
    require_binaries("fping")
    targets = list(targets_of(write_inventory(tmp_path, CPES)).values())
    results = asyncio.run(Pinger(IcmpSettings(count=3, period_ms=20)).ping(targets))
    assert set(results) == {t.name for t in targets}
    assert all(r.ok and r.loss_ratio == 0 and r.sent == 3 for r in results.values())
    assert all(r.rtt_max is not None and r.rtt_max < 0.1 for r in results.values())


def test_one_cycle_end_to_end(agents: AgentPool, tmp_path: Path) -> None:
    require_binaries("fping")
    plan = make_plan(build_targets(load_inventory(write_inventory(tmp_path, {**CPES, **DEAD}))))
    state = ProbeState(plan, TrapStore())
    cycle = run_once(
        state,
        resolve_all(plan.targets, ENV),
        ServiceConfig(snmp=SnmpSettings(timeout=1.0, retries=1), icmp=IcmpSettings(count=2)),
    )
    assert cycle.failed == 1 and cycle.polled == len(plan.targets) - 1
    assert cycle.reachability["pr-1"] is Reachability.UP  # loopback always answers ICMP
    assert cycle.snmp["cpe-120201"].ok is False
    assert cycle.seconds < 8  # the dead agent's 2 tries of 1 s bound the cycle


def test_reachability_is_published_when_the_pings_are_back_before_snmp_gives_up(
    agents: AgentPool, tmp_path: Path
) -> None:
    """A device that went down is known as soon as its pings fail; the cycle still waits
    for its SNMP poll to give up (2 tries of 2 s here). The pings' verdict reaches /metrics
    first — what /metrics shows keeps the previous cycle's SNMP values meanwhile — so a
    site's down edge is not published later than its up edge (the SLA report's outage
    durations depend on it)."""
    require_binaries("fping")
    plan = make_plan(build_targets(load_inventory(write_inventory(tmp_path, {**CPES, **DEAD}))))
    state = ProbeState(plan, TrapStore())
    settings = SnmpSettings(timeout=2.0, retries=1)
    first = run_once(
        state, resolve_all(plan.targets, ENV), ServiceConfig(snmp=settings, icmp=IcmpSettings())
    )  # the previous cycle, published
    seen: list[tuple[float, dict[str, Reachability], Cycle | None]] = []

    def reached(pings: Pings) -> None:
        state.publish_reachability(pings)
        seen.append((time.perf_counter(), pings.reachability, state.snapshot()[0]))

    async def one() -> Cycle:
        snmp = SnmpPoller(resolve_all(plan.targets, ENV), settings)
        await snmp.open()
        try:
            return await run_cycle(plan, snmp, Pinger(IcmpSettings()), reached=reached)
        finally:
            snmp.close()

    began = time.perf_counter()
    second = asyncio.run(one())
    ended = time.perf_counter()
    ((at, states, shown),) = seen
    assert set(states) == {t.name for t in plan.targets} and states == second.reachability
    assert ended - at >= settings.timeout  # published while the dead agent's poll went on
    assert shown is not None and shown.reachability == states
    assert shown.snmp == first.snmp and shown.started == first.started  # SNMP: still the last
    assert at > began and state.snapshot()[1:] == (0, 1)  # no cycle counted for the pings


def test_reachability_before_any_complete_cycle_is_not_published(tmp_path: Path) -> None:
    plan = make_plan(build_targets(load_inventory(write_inventory(tmp_path, CPES))))
    state = ProbeState(plan, TrapStore())
    state.publish_reachability(Pings({}, {t.name: Reachability.UP for t in plan.targets}, {}, {}))
    assert state.snapshot() == (None, 0, 0)


def test_cli_run_once_json(agents: AgentPool, tmp_path: Path) -> None:
    require_binaries("fping")
    inventory = write_inventory(tmp_path, CPES)
    result = govnet("probe", "run", "--once", "--json", "-i", str(inventory))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["failed"] == 0 and data["targets"] == len(ROUTERS) + len(CPES)
    pr = next(d for d in data["devices"] if d["device"] == "pr-1")
    assert pr["parents"] == ["core-1", "core-2"] and pr["reachability"] == "up"
    assert pr["snmp"]["ok"] and pr["icmp"]["loss_ratio"] == 0


def test_cli_refuses_a_lab_inventory_from_the_root_namespace() -> None:
    result = govnet("probe", "run", "-i", str(ROOT / "inventory/lab"))
    assert result.returncode == 2
    assert "refusing to probe non-loopback" in result.stderr and "--netns" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "4/3"], "--shard '4/3': i must be between 1 and N"),
        (["--listen", "nowhere"], "--listen 'nowhere': expected HOST:PORT"),
        (["--listen", "example.org:80"], "is not an IPv4 address"),
        (["--netns", "govnet-no-such-ns"], "no such network namespace"),
        (["--netns", "x", "--no-netns"], "exclude each other"),
        (["--interval", "0"], "--interval must be between"),
    ],
)
def test_bad_serve_options_are_one_line_errors(args: list[str], message: str) -> None:
    result = govnet("probe", "serve", "-i", str(ROOT / "inventory/lab"), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def test_serve_metrics_pass_promtool_and_a_trap_is_counted(
    agents: AgentPool, tmp_path: Path
) -> None:
    require_binaries("fping", "snmptrap")
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool is missing (Debian package prometheus)")
    assert promtool is not None
    inventory = write_inventory(tmp_path / "inv", CPES)
    http_port, trap_port = _free_tcp_port(), _free_udp_port()
    traps_file = tmp_path / "traps.json"
    process = subprocess.Popen(
        govnet_argv(
            "probe",
            "serve",
            "-i",
            str(inventory),
            "--interval",
            "2",
            "--listen",
            f"127.0.0.1:{http_port}",
            "--traps-listen",
            f"127.0.0.1:{trap_port}",
            "--traps-file",
            str(traps_file),
            "--max-cycles",
            "30",
        ),
        cwd=ROOT,
        env={**__import__("os").environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{http_port}/metrics"
        text = _wait_for(url, "govnet_snmp_up{", process)
        check = subprocess.run(
            [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
        )
        assert check.returncode == 0, check.stderr.decode()
        assert 'govnet_snmp_up{device="core-1"' in text
        assert 'govnet_probe_shard_info{shard="1",shards="1"} 1.0' in text
        sent = subprocess.run(
            [
                "snmptrap",
                "-v",
                "2c",
                "-c",
                ENV["GOVNET_TEST_SNMP_COMMUNITY"],
                f"--clientaddr={ROUTERS['pr-1']}",
                f"127.0.0.1:{trap_port}",
                "",
                "1.3.6.1.6.3.1.1.5.3",
                "1.3.6.1.2.1.2.2.1.1.2",
                "i",
                "2",
            ],
            capture_output=True,
            timeout=10,
        )
        assert sent.returncode == 0, sent.stderr
        text = _wait_for(url, 'govnet_snmp_traps_total{province="KH-12"', process)
        assert 'govnet_snmp_traps_total{province="KH-12",site="KH-12",trap="linkDown"} 1.0' in text
        deadline = time.monotonic() + 5
        while not traps_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shown = govnet("probe", "traps", "--json", "--file", str(traps_file))
        assert shown.returncode == 0, shown.stderr
        (event,) = json.loads(shown.stdout)["events"]
        assert (event["device"], event["trap"], event["version"]) == ("pr-1", "linkDown", "2c")
        traps_http = json.loads(scrape(f"http://127.0.0.1:{http_port}/traps"))
        assert traps_http["events"][0]["device"] == "pr-1"
    finally:
        process.send_signal(signal.SIGTERM)  # our own child, by PID
        try:
            _, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err


def _free_tcp_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, needle: str, process: subprocess.Popen[str], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"serve exited early: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            text = scrape(url)
        except OSError:
            text = ""
        if needle in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not in {url} after {timeout:.0f} s:\n{text[-2000:]}")


def test_port_is_unprivileged_and_per_run() -> None:
    assert 1024 < PORT < 65536


def test_an_snmp_only_shard_does_not_suppress_behind_other_shards_parents(
    agents: AgentPool, tmp_path: Path
) -> None:
    # `govnet probe serve --icmp-count 0 --shard i/N`: the cores belong to another shard and
    # are not probed here, so pr-1 (dual-homed to them) must not be "upstream down".
    all_targets = build_targets(load_inventory(write_inventory(tmp_path, CPES)))
    shard = next(
        Shard(owner("pr-1", count), count)
        for count in range(2, 9)
        if owner("pr-1", count) not in (owner("core-1", count), owner("core-2", count))
    )
    plan = make_plan(all_targets, shard)
    assert {"core-1", "core-2"} <= {t.name for t in plan.upstream}
    state = ProbeState(plan, TrapStore())
    cycle = run_once(
        state,
        resolve_all(plan.targets, ENV),
        ServiceConfig(snmp=SnmpSettings(timeout=1.0, retries=1), icmp=None),
    )
    assert cycle.snmp["pr-1"].ok
    assert cycle.reachability["pr-1"] is Reachability.UP
    assert cycle.upstream_down["pr-1"] is False
    assert not any(cycle.upstream_down.values())  # every agent answers: nothing suppressed
