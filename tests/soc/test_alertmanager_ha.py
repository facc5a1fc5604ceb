"""Alertmanager high availability: three real Alertmanagers in a gossip cluster on
loopback, every alert sent to each of them (as Prometheus does), a real webhook receiver
counting notifications.

- all up: each alert group is notified once, not three times;
- one peer killed mid-incident (SIGKILL): a group firing while the survivors are still
  finding out is notified — at least once (until memberlist declares the peer dead, a
  survivor's position, hence its wait, may count it or not: two can send at once, the
  failure CI once showed); once they have, a new group is notified once;
- the peer restarted, alerts sent again: no storm of duplicates.

Waiting for the absence of a duplicate has to take as long as the peers' own timing
(each peer waits its position × --peer-timeout for the ones before it): the quiet
periods below are that, not a margin for slowness."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

from controller.inventory import load_inventory
from controller.inventory.model import Notifications, TeamReceiver
from controller.soc import procs
from controller.soc.stack import SocStack
from tests.conftest import ROOT
from tests.soc.helpers import (
    am_alert,
    free_ports,
    push_alerts,
    require_soc_binaries,
    soc_settings,
    wait_until,
)
from tests.soc.test_notify import Hooks, short_timing_alertmanager

PEER_TIMEOUT = 2.0
PEERS = 3
# The last peer sends only after (position × peer timeout) + group_wait: past that, a
# duplicate would have arrived.
QUIET = PEERS * PEER_TIMEOUT + 3.0


def firing_per_group(bodies: list[dict[str, Any]]) -> Counter[str]:
    return Counter(b["groupLabels"].get("alertname", "") for b in bodies if b["status"] == "firing")


def alert(name: str) -> dict[str, Any]:
    labels = {
        "alertname": name,
        "severity": "warning",
        "team": "noc",
        "scope": "province",
        "province": "KH-2",
        "site": "KH-2",
        "tenant": "none",
    }
    return am_alert(labels, {"summary": name})


def test_a_three_peer_cluster_notifies_each_group_once_and_survives_a_killed_peer(
    tmp_path: Path,
) -> None:
    require_soc_binaries()
    hooks = Hooks(free_ports(1)[0])
    hooks.thread.start()
    base_file = short_timing_alertmanager(tmp_path)
    url = f"http://127.0.0.1:{hooks.server.server_address[1]}/hook"
    inventory = load_inventory(ROOT / "inventory/lab").model_copy(
        update={"notifications": Notifications(receivers={"soc": TeamReceiver(webhook=[url])})}
    )
    ports = free_ports(2 * PEERS)
    settings = soc_settings(
        tmp_path / "state",
        alertmanager_config=base_file,
        alertmanagers=PEERS,
        alertmanager_ports=tuple(ports[:PEERS]),
        cluster_ports=tuple(ports[PEERS:]),
        peer_timeout=f"{PEER_TIMEOUT:g}s",
    )
    stack = SocStack(settings, inventory)
    peers = [f"http://127.0.0.1:{p}" for p in settings.am_ports]

    def send(alerts: list[dict[str, Any]], to: list[str]) -> None:
        for peer in to:
            push_alerts(peer, alerts)

    try:
        stack.up()
        wait_until(
            lambda: all(_members(peer) == PEERS for peer in peers), 30, "the cluster to form"
        )

        # 1. All peers up: one notification for the group, not three.
        send([alert("GovnetLinkDown")], peers)
        wait_until(lambda: firing_per_group(hooks.bodies)["GovnetLinkDown"], 30, "a notification")
        time.sleep(QUIET)
        assert firing_per_group(hooks.bodies)["GovnetLinkDown"] == 1

        # 2. The first peer (the one that notifies first) killed mid-incident.
        first = procs.read_record(stack.pid_file("alertmanager"))
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        wait_until(lambda: not procs.is_running(first), 10, "the first peer to die")
        send([alert("GovnetUplinkDown")], peers[1:])
        wait_until(lambda: firing_per_group(hooks.bodies)["GovnetUplinkDown"], 30, "a notification")
        wait_until(
            lambda: all(_members(peer) == PEERS - 1 for peer in peers[1:]),
            30,
            "the survivors to declare the killed peer dead",
        )
        send([alert("GovnetSiteDown")], peers[1:])
        wait_until(lambda: firing_per_group(hooks.bodies)["GovnetSiteDown"], 30, "a notification")
        time.sleep(QUIET)
        assert firing_per_group(hooks.bodies)["GovnetSiteDown"] == 1
        assert firing_per_group(hooks.bodies)["GovnetUplinkDown"] in (1, 2)  # never lost

        # 3. It comes back; Prometheus keeps re-sending the firing alerts to every peer.
        before = len(hooks.bodies)
        states = {s.name: s.state for s in stack.up()}
        assert states["alertmanager"] == "started"
        wait_until(
            lambda: all(_members(peer) == PEERS for peer in peers), 30, "the cluster to re-form"
        )
        send([alert("GovnetLinkDown"), alert("GovnetUplinkDown")], peers)
        time.sleep(QUIET)
        duplicates = firing_per_group(hooks.bodies[before:])
        print(f"duplicate notifications after the restart: {dict(duplicates) or 0}")
        assert sum(duplicates.values()) <= 1, duplicates  # no storm; at most one re-send
    finally:
        stack.down()
        hooks.server.shutdown()
        hooks.server.server_close()
    assert all(not procs.is_running(r) for r in _records(stack))


def _members(peer: str) -> int:
    import httpx

    try:
        with httpx.Client(trust_env=False, timeout=2) as client:
            status = client.get(f"{peer}/api/v2/status").json()
    except (httpx.HTTPError, ValueError):
        return 0
    return len(status.get("cluster", {}).get("peers", []))


def _records(stack: SocStack) -> list[procs.ProcessRecord]:
    return [r for n in stack.names() if (r := procs.read_record(stack.pid_file(n)))]
