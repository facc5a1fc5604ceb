"""`soc up|down|status` with the real daemons on loopback: ready, idempotent, reloads on
a configuration change, listens on 127.0.0.1 only (no gossip port), stops only its own
PIDs, and cleans up after a failed start."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from controller.inventory import load_inventory
from controller.soc import procs
from controller.soc.errors import SocError
from controller.soc.stack import SocStack
from tests.conftest import ROOT
from tests.soc.helpers import (
    own_pids_alive,
    prom_query,
    require_soc_binaries,
    soc_settings,
    wait_until,
)


def listening_addresses(pid: int) -> set[str]:
    """The TCP addresses a process listens on (its socket inodes against /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                address, port = fields[1].split(":")
                if width == 8:
                    host = socket.inet_ntoa(bytes.fromhex(address)[::-1])
                else:
                    host = "[ipv6]" + address
                found.add(f"{host}:{int(port, 16)}")
    return found


@pytest.fixture()
def stack(tmp_path: Path) -> SocStack:
    require_soc_binaries()
    return SocStack(
        soc_settings(tmp_path, probes=("127.0.0.1:1",)), load_inventory(ROOT / "inventory/lab")
    )


def test_up_twice_reload_status_down(stack: SocStack, tmp_path: Path) -> None:
    try:
        first = stack.up()
        assert [(s.name, s.state, s.ready) for s in first] == [
            ("alertmanager", "started", True),
            ("textfile", "started", True),
            ("prometheus", "started", True),
        ]
        pids = [s.pid for s in first if s.pid]
        for state in first:
            assert state.pid is not None
            assert listening_addresses(state.pid) == {f"127.0.0.1:{state.url.rsplit(':', 1)[1]}"}
        again = stack.up()
        assert [s.state for s in again] == ["running"] * 3
        assert [s.pid for s in again] == pids
        # a new probe shard: Prometheus reloads (same PID), the others do not move
        stack.settings = soc_settings(
            tmp_path,
            probes=("127.0.0.1:1", "127.0.0.1:2"),
            prometheus_port=stack.settings.prometheus_port,
            alertmanager_port=stack.settings.alertmanager_port,
            textfile_port=stack.settings.textfile_port,
        )
        reloaded = stack.up()
        assert [s.state for s in reloaded] == ["running", "running", "reloaded"]
        assert [s.pid for s in reloaded] == pids
        url = stack.settings.prometheus_url
        wait_until(
            lambda: len(prom_query(url, 'up{job="govnet-probes"}')) == 2,
            40,
            "Prometheus to scrape the new shard",
        )
        # the inventory's link info is scraped from the textfile exporter
        info = wait_until(
            lambda: prom_query(url, "count(govnet_link_info)"), 20, "the inventory's link info"
        )
        assert info[0]["value"][1] == "48"
        assert [s.state for s in stack.status()] == ["running"] * 3
    finally:
        stopped = stack.down()
    assert [s.state for s in stopped] == ["stopped"] * 3
    assert own_pids_alive(pids) == []
    assert not list((tmp_path / "soc").glob("*.pid"))
    assert [s.state for s in stack.down()] == ["not running"] * 3
    assert [s.state for s in stack.status()] == ["down"] * 3


def test_a_busy_port_fails_cleanly(stack: SocStack, tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", stack.settings.prometheus_port))
        blocker.listen()
        with pytest.raises(SocError, match=f"127.0.0.1:{stack.settings.prometheus_port} is in use"):
            stack.up()
    # what the failed `up` started (Alertmanager, textfile) was stopped again
    assert not list((tmp_path / "soc").glob("*.pid"))
    assert [s.state for s in stack.status()] == ["down"] * 3


def test_down_never_signals_a_pid_it_did_not_start(stack: SocStack, tmp_path: Path) -> None:
    # a pid file naming *this* process (pid reused by someone else): start time differs
    fake = procs.ProcessRecord("prometheus", os.getpid(), 1, ("prometheus",), "x.log")
    (tmp_path / "soc").mkdir(parents=True, exist_ok=True)
    (tmp_path / "soc" / "prometheus.pid").write_text(fake.to_json())
    states = {s.name: s.state for s in stack.down()}
    assert states["prometheus"] == "not running"  # and we are still alive to assert it


def test_a_broken_rule_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    require_soc_binaries()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yml").write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: 'sum(('\n"
    )
    stack = SocStack(soc_settings(tmp_path, rules_dir=rules))
    with pytest.raises(SocError, match="promtool rejected the configuration"):
        stack.up()
    assert not list((tmp_path / "soc").glob("*.pid"))
