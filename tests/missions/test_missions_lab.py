"""Missions abroad in the namespace lab (topologies/lab.clab.yml): IKEv2/IPsec tunnels
(strongSwan's charon per tunnel end, IPsec in user space) across an 'internet' transit
namespace with a realistic delay, OSPF over VXLAN inside the SAs, and the SOC loop —

    govnet probe serve --netns clab-lab-nms-1 --ipsec-dir <lab-dir>   (the real exporter)
    → Prometheus (soc/rules) → Alertmanager (inhibition) → the console's /api/alerts

The faults: the NDC tunnel of Paris cut on the internet path (traffic fails over to the
DR within the SLO; the SOC shows a redundancy warning, not a mission down); the transit
towards Paris slowed to 400 ms (a latency warning for Paris only); a wrong pre-shared
key in Tokyo (an IKE authentication failure: a security alert). Everything this module
starts is stopped by PID; the faults are cleared even when a test fails.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.soc.drill import ConsoleClient, LoopPorts, SocLoop
from controller.web.users import UserStore
from simulations.checks import ospf_neighbors
from simulations.faults import Faults, Impairment
from simulations.lab import Lab
from tests.conftest import ROOT, require
from tests.soc.helpers import free_ports, own_pids_alive

pytestmark = pytest.mark.lab
PASSWORD = "missions-lab-password"
TARGETS = 23  # every lab device but the NMS
PARIS = "10.255.0.41"  # ms-fr-par's loopback
TRANSIT = "clab-lab-internet"
NMS = "clab-lab-nms-1"
FAILOVER_SLO_SECONDS = 15.0  # OSPF dead interval on the tunnels (5 s) + SPF + margin
# The internet in the lab: Paris ~100 ms each way (± 20), Tokyo ~40 ms (± 10).
BASELINE = {
    "internet:eth3": Impairment.parse("100ms", "20ms", None, None),
    "ms-fr-par:eth1": Impairment.parse("100ms", "20ms", None, None),
    "internet:eth4": Impairment.parse("40ms", "10ms", None, None),
    "ms-jp-tyo:eth1": Impairment.parse("40ms", "10ms", None, None),
}


@dataclass
class MissionsLab:
    lab: Lab
    faults: Faults
    console: ConsoleClient
    prometheus: str
    state: Path


def wait(check: Callable[[], Any], timeout: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def missions(lab_network: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MissionsLab]:
    for binary in ("fping", "prometheus", "prometheus-alertmanager", "tcpdump"):
        require(shutil.which(binary) is not None, f"{binary} is not installed")
    lab = lab_network
    faults = Faults(lab)
    for endpoint, impairment in BASELINE.items():
        faults.impair(endpoint, impairment)
    state = tmp_path_factory.mktemp("missions")
    ports = LoopPorts(*free_ports(5))
    loop = SocLoop(
        state,
        ROOT / "inventory/lab",
        ports,
        probe_interval=5,
        scrypt_n=2**12,
        ipsec_dir=lab.plan.lab_dir,
    )
    try:
        loop.start()
        UserStore(state / "soc" / "users.json", 2**12).add("missions", "soc", None, PASSWORD)
        client = ConsoleClient(loop.console_url, "missions", PASSWORD)
        loop.wait_for_targets(TARGETS, 120)
        yield MissionsLab(lab, faults, client, f"http://127.0.0.1:{ports.prometheus}", state)
    finally:
        pids = list(loop.pids)
        loop.stop()
        faults.clear()
        assert own_pids_alive(pids) == [], "a process of the missions test outlived it"


def query(m: MissionsLab, promql: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{m.prometheus}/api/v1/query", params={"query": promql}, timeout=5).json()
    return list(body["data"]["result"])


def value(m: MissionsLab, promql: str) -> float | None:
    result = query(m, promql)
    return float(result[0]["value"][1]) if result else None


def active(m: MissionsLab, name: str) -> list[dict[str, Any]]:
    return [a for a in m.console.alerts() if a["alertname"] == name and a["state"] == "active"]


SHOTS = Path("/work/wt/_shots/missions")


def save_shot(name: str, text: str, m: MissionsLab) -> None:
    """Keep what the test saw for people to look at (outside the repository, if present)."""
    if SHOTS.parent.is_dir():
        SHOTS.mkdir(exist_ok=True)
        css = m.console.client.get(m.console.url + "/static/style.css").text
        text = text.replace("</head>", f"<style>{css}</style></head>", 1)
        (SHOTS / name).write_text(text)


def internet_ports(lab: Lab) -> list[str]:
    """The transit's interfaces towards the data centres and the missions."""
    return sorted(
        end.iface for link in lab.plan.links for end in (link.a, link.b) if end.node == "internet"
    )


def full_neighbours(lab: Lab, node: str, count: int) -> set[str] | None:
    full = {rid for rid, st in ospf_neighbors(lab, node).items() if st.startswith("Full")}
    return full if len(full) == count else None


def all_tunnels_up(m: MissionsLab) -> bool:
    return value(m, "count(govnet_ipsec_child_sa_up == 1)") == 8.0 and (
        value(m, "count(govnet_tunnel_loss_ratio < 1)") == 4.0
    )


def test_both_tunnels_of_every_mission_are_up_and_carry_ospf(missions: MissionsLab) -> None:
    wait(lambda: all_tunnels_up(missions), 90, "all 8 tunnel ends with their SA installed")
    for mission in ("ms-fr-par", "ms-jp-tyo"):
        neighbours = wait(
            lambda mission=mission: full_neighbours(missions.lab, mission, 2),
            30,
            f"{mission}: OSPF Full with ndc-1 and dr-1 over the tunnels",
        )
        assert set(neighbours) == {"10.255.0.2", "10.255.0.3"}
    # the IKE SAs, as the exporter reads them from each charon over VICI
    assert value(missions, "count(govnet_ipsec_ike_sa_up == 1)") == 8.0
    assert value(missions, 'govnet_ipsec_vici_up{device="ndc-1"}') == 1.0
    # across the internet, with the lab's delay: 150-300 ms to Paris
    rtt = wait(
        lambda: value(missions, 'govnet_icmp_rtt_seconds{device="ms-fr-par",stat="avg"}'),
        30,
        "an RTT for Paris",
    )
    assert 0.15 <= rtt <= 0.3, rtt
    # the console's Missions page lists both, every tunnel up: it reads the recording rule
    # govnet:tunnel_up, which Prometheus evaluates up to one evaluation interval after the
    # probes' samples it is made of arrive
    wait(
        lambda: value(missions, "count(govnet:tunnel_up == 1)") == 4.0,
        30,
        "govnet:tunnel_up recorded for the 4 tunnels",
    )
    page = missions.console.client.get(missions.console.url + "/missions")
    assert page.status_code == 200
    assert page.text.count('<span class="state up">up</span>') >= 2 + 4, page.text[-2000:]
    save_shot("missions-page.html", page.text, missions)


def test_only_esp_and_ike_cross_the_internet(missions: MissionsLab) -> None:
    """tcpdump on every interface of the transit while the NMS pings Paris across its
    tunnel: no IPv4 packet but IKE (UDP 500/4500, zero marker) or ESP-in-UDP, no IPv6."""
    wait(lambda: all_tunnels_up(missions), 60, "the tunnels")

    ports = internet_ports(missions.lab)
    assert len(ports) == 4  # ndc-1, dr-1 and the two missions

    def capture(bpf: str, seconds: int = 8) -> list[str]:
        """One tcpdump per internet port of the transit (not its management eth0), all
        bounded by `timeout`, while 5 echoes a second go from the NMS to Paris."""
        argv = ["timeout", str(seconds), "tcpdump", "-nn", "-l", "-c", "5000", "-i"]
        dumps = [
            subprocess.Popen(
                ["ip", "netns", "exec", TRANSIT, *argv, port, bpf],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for port in ports
        ]
        pinger = subprocess.Popen(
            ["ip", "netns", "exec", NMS, "ping", "-q", "-i", "0.2", "-c", str(seconds * 5), PARIS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        lines: list[str] = []
        try:
            for port, dump in zip(ports, dumps, strict=True):
                out, _ = dump.communicate(timeout=seconds + 10)
                lines += [f"{port} {line}" for line in out.splitlines() if line.strip()]
        finally:
            for proc in (*dumps, pinger):
                if proc.poll() is None:
                    proc.terminate()
                proc.wait(timeout=10)
        return lines

    leaked = capture("not arp and not (udp port 500 or udp port 4500)")
    assert leaked == [], "\n".join(leaked[:20])
    esp = capture("udp port 4500 and udp[8:4] != 0")  # ESP-in-UDP: a non-zero SPI
    assert len(esp) >= 40, len(esp)  # 40 echoes and their replies, encrypted
    assert all("UDP-encap: ESP" in line for line in esp), esp[:5]
    if SHOTS.parent.is_dir():
        SHOTS.mkdir(exist_ok=True)
        (SHOTS / "transit-capture.txt").write_text("\n".join(esp[:40]) + "\n")


def test_cutting_the_ndc_tunnel_fails_over_to_the_dr_with_a_redundancy_warning(
    missions: MissionsLab,
) -> None:
    wait(lambda: all_tunnels_up(missions), 60, "the tunnels")
    # one echo every 200 ms from the NMS to Paris, timestamped: the longest gap is the
    # failover time seen by traffic
    pinger = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            NMS,
            "ping",
            "-D",
            "-n",
            "-i",
            "0.2",
            "-W",
            "1",
            "-c",
            "300",
            PARIS,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        time.sleep(5)
        cut_at = time.time()
        missions.faults.path_down("ms-fr-par--ndc-1")
        alert = wait(
            lambda: next(
                (
                    a
                    for a in active(missions, "GovnetMissionRedundancyLost")
                    if a["labels"].get("tunnel") == "fr-par-ndc"
                ),
                None,
            ),
            120,
            "the redundancy warning for Paris's NDC tunnel",
            every=2,
        )
        detected = time.time() - cut_at
        assert alert["severity"] == "warning" and alert["site"] == "FR-PAR"
        assert active(missions, "GovnetMissionDown") == []
        # the exporter's view: the NDC tunnel's SA gone at the mission end, the DR's up
        assert (
            value(missions, 'govnet_ipsec_ike_sa_up{device="ms-fr-par",tunnel="fr-par-dr"}') == 1.0
        )
        assert value(missions, 'govnet_tunnel_loss_ratio{tunnel="fr-par-dr"}') == 0.0
        page = missions.console.client.get(missions.console.url + "/missions").text
        assert "one tunnel down" in page
        save_shot("missions-page-ndc-cut.html", page, missions)
    finally:
        pinger.terminate()
        out, _ = pinger.communicate(timeout=10)
        missions.faults.path_up("ms-fr-par--ndc-1")
    stamps = [float(s) for s in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", out, re.M)]
    after = [s for s in stamps if s >= cut_at - 1]
    gaps = [b - a for a, b in itertools.pairwise(after)]
    failover = max(gaps) if gaps else float("inf")
    report = {"failover_seconds": round(failover, 2), "alert_seconds": round(detected, 1)}
    print("\nNDC tunnel cut:", json.dumps(report))
    (missions.state / "failover.json").write_text(json.dumps(report))
    assert stamps and stamps[-1] > cut_at + 10, "Paris stopped answering: no failover"
    assert failover < FAILOVER_SLO_SECONDS, report
    wait(lambda: all_tunnels_up(missions), 90, "the NDC tunnel back after path-up", every=2)


def test_a_slow_internet_path_is_a_latency_warning_for_that_mission_only(
    missions: MissionsLab,
) -> None:
    missions.faults.impair("internet:eth3", Impairment.parse("400ms", None, None, None))
    try:
        alert = wait(
            lambda: next(iter(active(missions, "GovnetMissionPathDegraded")), None),
            240,
            "the latency warning for Paris",
            every=3,
        )
        assert alert["site"] == "FR-PAR" and alert["severity"] == "warning"
        assert [a["site"] for a in active(missions, "GovnetMissionPathDegraded")] == ["FR-PAR"]
        assert active(missions, "GovnetMissionDown") == []
        assert active(missions, "GovnetMissionRedundancyLost") == []  # slow is not down
    finally:
        missions.faults.impair("internet:eth3", BASELINE["internet:eth3"])


def test_a_wrong_psk_is_an_ike_authentication_failure_alert(missions: MissionsLab) -> None:
    wait(lambda: all_tunnels_up(missions), 90, "the tunnels")
    missions.faults.psk_wrong("ms-jp-tyo:jp-tyo-dr")
    try:
        alert = wait(
            lambda: next(iter(active(missions, "GovnetIpsecAuthFailure")), None),
            90,
            "the IKE authentication failure alert",
            every=2,
        )
        assert alert["labels"]["team"] == "security" and alert["site"] == "JP-TYO"
        assert alert["labels"]["tunnel"] == "jp-tyo-dr"
        failures = value(missions, 'sum(govnet_ipsec_auth_failures_total{tunnel="jp-tyo-dr"})')
        assert failures is not None and failures >= 1
        assert (
            value(missions, 'govnet_ipsec_ike_sa_up{device="ms-jp-tyo",tunnel="jp-tyo-dr"}') == 0.0
        )
    finally:
        missions.faults.clear()
        for endpoint, impairment in BASELINE.items():
            missions.faults.impair(endpoint, impairment)
    wait(lambda: all_tunnels_up(missions), 90, "the Tokyo DR tunnel back with the right key")
