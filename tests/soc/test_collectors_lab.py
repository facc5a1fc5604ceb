"""WAN cut without data loss, in the namespace lab (topologies/lab.clab.yml):

    govnet soc up --collectors --lab topologies/lab.clab.yml
    → the central store: Prometheus with the remote-write receiver in nms-1 (the NDC),
      reached by the console through the forwarder on 127.0.0.1
    → Battambang's collector in col-kh2 (behind pr-kh2): a probe shard polling KH-2's
      sites and a Prometheus agent remote-writing over the lab network; the NDC
      collector in nms-1 polls the rest

Battambang's only uplink (core-1:eth5) is cut for three minutes. The store receives
nothing from Battambang meanwhile, the collector keeps polling its communes, and after
the heal the store holds every sample of the window — no gap longer than one scrape
interval — and the site history the SOC console draws (a range query on the store)
shows the communes up the whole time. Everything is stopped by PID, even on failure.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import httpx
import pytest

from controller.inventory import load_inventory
from controller.soc.backends import HttpPrometheus
from controller.soc.stack import SocStack
from tests.conftest import ROOT, require
from tests.soc.helpers import own_pids_alive, soc_settings, wait_until

pytestmark = pytest.mark.lab
CUT_SECONDS = 180
UPLINK = "core-1:eth5"
BATTAMBANG = ["cpe-020101", "cpe-020102", "cpe-020301", "cpe-020302", "pr-kh2"]
COMMUNES = ["020101", "020102", "020301", "020302"]


def query(url: str, promql: str) -> list[dict[str, Any]]:
    with httpx.Client(trust_env=False, timeout=10) as client:
        body = client.get(f"{url}/api/v1/query", params={"query": promql}).json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def newest(url: str, device: str) -> float:
    rows = query(url, f'timestamp(govnet_site_up{{collector="battambang",device="{device}"}})')
    return float(rows[0]["value"][1]) if rows else 0.0


@pytest.fixture(scope="module")
def collectors(lab_network: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    for binary in ("fping", "prometheus", "prometheus-alertmanager", "promtool", "amtool"):
        require(shutil.which(binary) is not None, f"{binary} is not installed")
    source = ROOT / "inventory/lab"
    settings = soc_settings(
        tmp_path_factory.mktemp("collectors"),
        collectors=True,
        lab="lab",
        ipsec_dir=lab_network.plan.lab_dir,  # what `soc up --lab` sets for a lab with missions
    )
    stack = SocStack(settings, load_inventory(source), source)
    pids: list[int] = []
    try:
        states = stack.up()
        pids = [s.pid for s in states if s.pid is not None]
        yield stack
    finally:
        stack.down()
        assert own_pids_alive(pids) == [], "a collector daemon outlived the test"


def test_a_three_minute_wan_cut_loses_no_sample_of_the_province(
    collectors: SocStack, lab_network: Any
) -> None:
    from simulations.faults import Faults

    url = collectors.settings.prometheus_url  # the forwarder, into nms-1
    section = collectors.placement.section
    interval = section.scrape_interval
    wait_until(
        lambda: all(newest(url, d) for d in BATTAMBANG), 180, "Battambang's samples in the store"
    )
    # the collector's samples travel over the lab: col-kh2 → pr-kh2 → core-1 → nms-1
    faults = Faults(lab_network)
    cut = time.time()
    faults.link_down(UPLINK)
    try:
        time.sleep(45)
        # nothing from Battambang reaches the store while its uplink is down
        assert newest(url, "cpe-020101") < cut + 2 * interval
        # ... while the NDC collector's sites keep arriving
        assert float(query(url, 'timestamp(govnet_site_up{device="core-1"})')[0]["value"][1]) > (
            cut + 30
        )
        time.sleep(max(0.0, cut + CUT_SECONDS - time.time()))
    finally:
        faults.link_up(UPLINK)
    heal = time.time()
    wait_until(
        lambda: all(newest(url, d) > heal for d in BATTAMBANG),
        180,
        "the collector's backlog to reach the store",
        every=2,
    )
    window = int(time.time() - cut) + 4 * interval
    for device in BATTAMBANG:
        rows = query(url, f'govnet_site_up{{collector="battambang",device="{device}"}}[{window}s]')
        assert len(rows) == 1, rows
        stamps = [float(t) for t, _ in rows[0]["values"]]
        values = [v for t, v in rows[0]["values"] if cut <= float(t) <= heal]
        gaps = [b - a for a, b in pairwise(stamps)]
        assert stamps[0] < cut and stamps[-1] > heal, device
        assert max(gaps) <= interval + 1.0, (device, max(gaps))
        assert len(values) >= CUT_SECONDS / interval - 2, (device, len(values))
        assert set(values) == {"1"}, (device, values)  # polled and up, all along
    # the SOC's site history (what the console's site page queries) over the cut
    prometheus = HttpPrometheus(url)
    for code in COMMUNES:
        series = prometheus.query_range(f'govnet_site_up{{site="{code}"}}', cut, heal, interval)
        assert len(series) == 1, (code, series)
        points = series[0].points
        assert len(points) >= CUT_SECONDS / interval - 1, (code, len(points))
        assert {v for _, v in points} == {1.0}, (code, points)


def test_the_missions_tunnels_reach_the_store_from_the_national_collector_only(
    collectors: SocStack,
) -> None:
    """The NDC collector (no provinces) pings the four tunnels and exports the IPsec state
    of their eight ends from the lab's charons; Battambang's collector has none of them."""
    url = collectors.settings.prometheus_url

    def tunnels_up() -> bool:
        ends = query(url, "govnet_ipsec_child_sa_up == 1")
        rtt = query(url, 'govnet_tunnel_rtt_seconds{stat="avg"}')
        collectors_seen = {r["metric"]["collector"] for r in ends + rtt}
        return len(ends) == 8 and len(rtt) == 4 and collectors_seen == {"ndc"}

    wait_until(tunnels_up, 180, "8 CHILD SAs up and 4 tunnel RTTs in the store, from ndc")
    assert query(url, '{collector="battambang", __name__=~"govnet_(ipsec|tunnel)_.*"}') == []
