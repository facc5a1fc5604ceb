"""No-root units: fault parameter parsing, relay queueing, CLI on bad input."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from controller.cli import lab as lab_cli
from controller.errors import GovnetError, TopologyError
from simulations.errors import CommandError, LabError
from simulations.faults import Impairment, parse_duration_ms, parse_endpoint, parse_rate_bps
from simulations.netns import run
from simulations.relay import Direction
from simulations.scenario import load_scenario
from tests.conftest import ROOT

MINI = ROOT / "tests/lab/fixtures/mini.clab.yml"


def test_fault_parameters() -> None:
    assert parse_duration_ms("80ms") == 80 and parse_duration_ms("1.5s") == 1500
    assert parse_rate_bps("2mbit") == 2_000_000 and parse_rate_bps("512kbit") == 512_000
    imp = Impairment.parse("80ms", "10ms", "5%", "2mbit")
    assert (imp.delay_ms, imp.jitter_ms, imp.loss_pct, imp.rate) == (80, 10, 5, "2mbit")
    assert str(parse_endpoint("r1:eth1")) == "r1:eth1"
    for bad in (
        lambda: parse_duration_ms("fast"),
        lambda: parse_rate_bps("2mb"),
        lambda: Impairment.parse(loss="150%"),
        lambda: parse_endpoint("r1"),
        lambda: Impairment.parse("10ms", "20ms"),
    ):
        with pytest.raises(LabError):
            bad()


def test_relay_direction_keeps_order_and_bounds_the_queue() -> None:
    a, b = socket.socketpair()
    try:
        d = Direction(a, b, delay=0.05, jitter=0.04, max_queue=3)
        times = [d.release_time(100.0 + i * 0.001) for i in range(50)]
        assert times == sorted(times)  # jitter never reorders frames
        assert all(t >= 100.0 for t in times)
        d.queue.extend([(1.0, b"x")] * 3)
        a.setblocking(False)
        b.send(b"frame")
        d.take(0.0)
        assert d.dropped == 1 and len(d.queue) == 3
    finally:
        a.close()
        b.close()


def test_command_errors_carry_argv_and_stderr() -> None:
    with pytest.raises(CommandError) as info:
        run(["sh", "-c", "echo boom >&2; exit 3"])
    assert info.value.returncode == 3 and "boom" in str(info.value)
    with pytest.raises(CommandError, match="not found"):
        run(["/nonexistent/binary"])


def test_shipped_scenario_loads() -> None:
    data = load_scenario("province-uplink-cut.yaml")
    assert data["name"] == "province-uplink-cut" and len(data["steps"]) > 5


def test_cli_graph_and_bad_input() -> None:
    runner = CliRunner()
    res = runner.invoke(lab_cli.app, ["graph", str(MINI)])
    assert res.exit_code == 0 and res.output.startswith("flowchart LR")
    res = runner.invoke(lab_cli.app, ["graph", str(ROOT / "tests/lab/errors/unknown_key.clab.yml")])
    assert isinstance(res.exception, TopologyError)
    res = runner.invoke(lab_cli.app, ["status", "/nonexistent.clab.yml"])
    assert isinstance(res.exception, GovnetError) and "no such topology" in str(res.exception)
    res = runner.invoke(lab_cli.app, ["fault", str(MINI), "impair", "r1:eth1"])
    assert isinstance(res.exception, GovnetError)
    res = runner.invoke(lab_cli.app, ["--help"])
    assert res.exit_code == 0 and "scenario" in res.output
