"""Regional collectors on loopback: two probe shards with a Prometheus agent each,
remote-writing to the SOC's Prometheus as the central store; real snmpd agents on 127.10.x.
The store is stopped for a while and started again: the agents buffer on disk and the
store ends up with every sample of the outage. No lab, no lock: nothing leaves 127/8."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from controller.inventory import load_inventory
from controller.soc import procs
from controller.soc.stack import Binaries, SocStack
from probes.agents import AgentPool
from tests.conftest import ROOT
from tests.probes.conftest import CPES, ENV, agents, write_inventory
from tests.soc.helpers import free_ports, require_soc_binaries, soc_settings, wait_until

__all__ = ["agents"]  # the module-scoped snmpd fixture
INTERVAL = 2


def collector_inventory(directory: Path) -> Path:
    """The probes' loopback inventory, plus an NMS node and two national collectors."""
    path = write_inventory(directory, CPES)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["devices"].append(
        {
            "name": "nms-1",
            "role": "nms",
            "site": "KH-12",
            "mgmt": "127.10.9.1",
            "platform": "linux",
            "interfaces": ["eth1"],
        }
    )
    ports = free_ports(4)
    data["collectors"] = {
        "scrape_interval": INTERVAL,
        "store": {"device": "nms-1"},
        "regions": [
            {"name": "east", "device": "nms-1", "probe_port": ports[0], "agent_port": ports[1]},
            {"name": "west", "device": "nms-1", "probe_port": ports[2], "agent_port": ports[3]},
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def query(url: str, promql: str, at: float | None = None) -> list[dict[str, Any]]:
    params = {"query": promql, **({"time": str(at)} if at is not None else {})}
    with httpx.Client(trust_env=False, timeout=10) as client:
        body = client.get(f"{url}/api/v1/query", params=params).json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.fixture()
def central(agents: AgentPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    require_soc_binaries()
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)  # the probe shards resolve env: references
    source = collector_inventory(tmp_path / "inventory")
    settings = soc_settings(tmp_path / "state", collectors=True)
    stack = SocStack(settings, load_inventory(source), source)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def test_each_target_reaches_the_store_from_exactly_one_collector(central: SocStack) -> None:
    url = central.settings.prometheus_url
    targets = len(CPES) + 3

    def both() -> list[dict[str, Any]] | None:
        found = query(url, "count by (collector) (govnet_site_up)")
        return found if len(found) == 2 else None

    wait_until(both, 60, "site samples from both collectors")
    rows = query(url, "count by (device) (govnet_site_up)")
    assert len(rows) == targets
    assert {r["value"][1] for r in rows} == {"1"}  # one collector each
    with httpx.Client(trust_env=False, timeout=10) as client:
        flags = client.get(f"{url}/api/v1/status/flags").json()["data"]
    assert flags["storage.tsdb.retention.time"] == "400d"  # the SLA year and a month
    assert flags["web.enable-remote-write-receiver"] == "true"


def test_a_store_outage_loses_no_sample_the_agents_buffer_it(central: SocStack) -> None:
    url = central.settings.prometheus_url
    wait_until(lambda: query(url, "govnet_site_up"), 60, "the first samples")
    record = procs.read_record(central.pid_file("prometheus"))
    assert record is not None
    outage_start = time.time()
    procs.stop(record)
    time.sleep(25)  # the agents keep scraping; remote-write fails and retries
    outage_end = time.time()
    central.up()  # starts the store again (same data directory)

    def caught_up() -> bool:
        rows = query(url, 'timestamp(govnet_site_up{device="core-1"})')
        return bool(rows) and float(rows[0]["value"][1]) > outage_end

    wait_until(caught_up, 90, "the agents to send their backlog")
    window = int(time.time() - outage_start) + 3 * INTERVAL
    for device in ("core-1", "cpe-120101"):
        rows = query(url, f'govnet_site_up{{device="{device}"}}[{window}s]')
        assert len(rows) == 1, rows
        stamps = [float(t) for t, _ in rows[0]["values"]]
        inside = [t for t in stamps if outage_start <= t <= outage_end]
        gaps = [b - a for a, b in pairwise(stamps)]
        assert len(inside) >= (outage_end - outage_start) / INTERVAL - 2, (device, stamps)
        assert max(gaps) <= INTERVAL + 1.0, (device, gaps)


def test_in_a_lab_with_missions_only_the_collector_pinging_the_tunnels_exports_ipsec(
    tmp_path: Path,
) -> None:
    """Pure: the argv `soc up --collectors --lab` gives each probe shard."""
    source = ROOT / "inventory/lab"
    inv = load_inventory(source)
    binaries = Binaries("prometheus", "promtool", "alertmanager", "amtool")
    lab_dir = tmp_path / "clab-lab"
    settings = soc_settings(tmp_path, collectors=True, lab="lab", ipsec_dir=lab_dir)
    argv = {c.name: c.argv for c in SocStack(settings, inv, source).components(binaries)}
    ndc, battambang = argv["probe-ndc"], argv["probe-battambang"]
    assert ndc[ndc.index("--ipsec-dir") + 1] == str(lab_dir.resolve())
    assert "--ipsec-dir" not in battambang
    plain = soc_settings(tmp_path, collectors=True, lab="lab")
    assert not any(
        "--ipsec-dir" in c.argv for c in SocStack(plain, inv, source).components(binaries)
    )
