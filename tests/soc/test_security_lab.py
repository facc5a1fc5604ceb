"""Security and capacity events from the real lab (topologies/lab.clab.yml), end to end:

    the routers' snmpd (v3 informs: authenticationFailure, linkUp/linkDown every 2 s; its
    log through simulations/logrelay.py --filter snmpd: who sent each refused request) and
    sshd (its log through simulations/logrelay.py as syslog)
    → govnet probe serve --netns clab-lab-nms-1 (traps, syslog, polls every 5 s)
    → Prometheus (scrape and evaluate every 5 s, soc/rules) — its ALERTS, queried.

Wrong SNMP credentials, a cut commune link, ten wrong SSH passwords and bounded iperf3
traffic across a 100M commune link each raise their alert, naming the device (and the
source address where the event has one: the requester of a refused SNMP request, from the
router's snmpd log through its relay, and of a failed SSH login). GovnetLinkSaturated
is loaded with its windows scaled down (rate over 1 minute, `for` 20 s instead of 5 and
10 minutes) so the test fits a lab slot; everything else is the shipped rules.
Everything started is stopped by PID, even on failure.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.soc.drill import LoopPorts, SocLoop
from controller.soc.settings import RULES_DIR
from tests.conftest import ROOT, require
from tests.soc.helpers import free_ports, own_pids_alive, prom_query

pytestmark = pytest.mark.lab
TARGETS = 21
NMS = "clab-lab-nms-1"
NMS_MGMT = "172.20.20.5"
ROUTER = "pr-kh12"
ROUTER_MGMT = "172.20.20.21"
PROBER, PROBER_MGMT = "mr-mef", "172.20.20.31"  # sends a wrong SNMP key to ROUTER
CUT = "pr-kh17:eth6"  # cpe-170102's access link: nothing else behind it
SATURATE = ("pr-kh12", "10.253.0.0", "cpe-120101", "eth3")  # 100M commune-access link
SSH_PASSWORD_WRONG = "not-the-lab-password"


def scaled_rules(target: Path) -> Path:
    """The shipped rules, GovnetLinkSaturated's windows scaled down for a lab slot."""
    target.mkdir(parents=True, exist_ok=True)
    for path in RULES_DIR.glob("*.yml"):
        shutil.copy(path, target / path.name)
    links = yaml.safe_load((RULES_DIR / "links.yml").read_text())
    changed = 0
    for group in links["groups"]:
        for rule in group["rules"]:
            if rule.get("record") == "govnet:link_utilisation:ratio_rate5m":
                rule["expr"] = rule["expr"].replace("[5m]", "[1m]")
                changed += 1
            if rule.get("alert") == "GovnetLinkSaturated":
                rule["for"] = "20s"
                changed += 1
    assert changed == 2, "the saturation rules changed shape: update scaled_rules()"
    (target / "links.yml").write_text(yaml.safe_dump(links, sort_keys=False))
    return target


@dataclass
class Soc:
    lab: Any
    prometheus: str
    loop: SocLoop


@pytest.fixture(scope="module")
def soc(lab_network: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Soc]:
    for binary in ("fping", "prometheus", "prometheus-alertmanager", "iperf3"):
        require(shutil.which(binary) is not None, f"{binary} is not installed")
    state = tmp_path_factory.mktemp("soc-security")
    ports = LoopPorts(*free_ports(5))
    loop = SocLoop(
        state,
        ROOT / "inventory/lab",
        ports,
        probe_interval=5,
        scrypt_n=2**12,
        notifications=True,
        scrape_interval=5,
        rules_dir=scaled_rules(state / "rules"),
    )
    try:
        loop.start()
        loop.wait_for_targets(TARGETS, 120)
        yield Soc(lab_network, f"http://127.0.0.1:{ports.prometheus}", loop)
    finally:
        pids = list(loop.pids)
        loop.stop()
        assert own_pids_alive(pids) == [], "a process of the test outlived it"


def firing(soc: Soc, alertname: str, **labels: str) -> list[dict[str, str]]:
    matchers = ",".join(f'{k}="{v}"' for k, v in {"alertname": alertname, **labels}.items())
    found = prom_query(soc.prometheus, f'ALERTS{{{matchers},alertstate="firing"}}')
    return [r["metric"] for r in found]


def wait_firing(soc: Soc, timeout: float, alertname: str, **labels: str) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if soc.loop.probes is not None and not soc.loop.probes.alive():
            raise AssertionError(f"govnet probe serve exited: {soc.loop.probes.tail()}")
        found = firing(soc, alertname, **labels)
        if found:
            return found[0]
        time.sleep(1)
    raise AssertionError(f"{alertname} {labels} did not fire within {timeout:.0f} s")


def wait_resolved(soc: Soc, timeout: float, alertname: str, **labels: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not firing(soc, alertname, **labels):
            return time.monotonic() - started
        time.sleep(1)
    raise AssertionError(f"{alertname} {labels} still firing after {timeout:.0f} s")


def test_wrong_snmp_credentials_fire_the_auth_failure_alert_naming_each_requester(
    soc: Soc,
) -> None:
    from simulations.errors import LabError
    from simulations.netns import run_in_netns
    from simulations.snmp import SnmpAuth, snmp_get

    began = time.monotonic()
    with pytest.raises(LabError):  # no answer to a wrong community
        snmp_get(NMS, ROUTER_MGMT, SnmpAuth(community="guessed-community"), timeout=0.5, retries=0)
    wrong_key = ["-v3", "-l", "authPriv", "-u", "govnet", "-a", "SHA", "-A", "not-the-lab-key"]
    wrong_key += ["-x", "AES", "-X", "not-the-lab-key", "-t", "0.5", "-r", "0"]
    refused = run_in_netns(  # from another router's namespace, its management address
        f"clab-lab-{PROBER}",
        ["snmpget", f"--clientaddr={PROBER_MGMT}", *wrong_key, ROUTER_MGMT, "1.3.6.1.2.1.1.5.0"],
        env={"MIBS": ""},
        check=False,
    )
    assert refused.returncode != 0 and "Authentication failure" in refused.stderr
    sent = time.monotonic()
    for source in (NMS_MGMT, PROBER_MGMT):  # each requester's own alert, by its address
        alert = wait_firing(soc, 60, "GovnetSnmpAuthFailures", device=ROUTER, source=source)
        print(f"\nGovnetSnmpAuthFailures after {time.monotonic() - began:.1f} s: {alert}")
        assert (alert["site"], alert["province"]) == ("KH-12", "KH-12")
        count = prom_query(
            soc.prometheus,
            f'govnet_snmp_auth_failures_total{{device="{ROUTER}",source="{source}"}}',
        )
        assert [float(c["value"][1]) for c in count] == [1], count
    informs = prom_query(
        soc.prometheus, f'govnet_snmp_auth_failure_traps_total{{device="{ROUTER}"}}'
    )
    assert informs and float(informs[0]["value"][1]) >= 2, informs  # the router's own
    # the notifications' fallback (source "unknown", 30 s `for`) stays silent: the log won
    time.sleep(max(0.0, sent + 40 - time.monotonic()))
    assert firing(soc, "GovnetSnmpAuthFailures", device=ROUTER, source="unknown") == []


def test_a_link_down_fault_raises_the_trap_driven_interface_alert_then_clears(soc: Soc) -> None:
    from simulations.faults import Faults

    faults = Faults(soc.lab)
    device, ifname = CUT.split(":")
    faults.link_down(CUT)
    try:
        began = time.monotonic()
        alert = wait_firing(soc, 30, "GovnetInterfaceDownTrap", device=device, ifname=ifname)
        detect = time.monotonic() - began
        print(f"\nGovnetInterfaceDownTrap after {detect:.1f} s: {alert}")
        assert alert["link"] == "pr-kh17:eth6--cpe-170102:eth1"
        assert alert["province"] == "KH-17" and alert["site"] == "170102"
    finally:
        faults.link_up(CUT)
    cleared = wait_resolved(soc, 30, "GovnetInterfaceDownTrap", device=device, ifname=ifname)
    print(f"cleared {cleared:.1f} s after link-up (linkUp trap)")


def _ssh_wrong_password(address: str) -> str:
    import paramiko

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # a lab host key, once
    try:
        client.connect(
            address,
            username="govnet",
            password=SSH_PASSWORD_WRONG,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
            banner_timeout=10,
            auth_timeout=10,
        )
    except paramiko.AuthenticationException:
        return "refused"
    finally:
        client.close()
    return "accepted"


def test_ten_wrong_ssh_passwords_fire_brute_force_naming_device_and_source(soc: Soc) -> None:
    from simulations.netns import in_netns

    began = time.monotonic()
    results = [in_netns(NMS, lambda: _ssh_wrong_password(ROUTER_MGMT)) for _ in range(10)]
    assert results == ["refused"] * 10
    alert = wait_firing(soc, 60, "GovnetLoginBruteForce", device=ROUTER, source=NMS_MGMT)
    print(f"\nGovnetLoginBruteForce after {time.monotonic() - began:.1f} s: {alert}")
    assert alert["zone"] == "management"
    value = prom_query(
        soc.prometheus,
        f'govnet_device_logins_total{{device="{ROUTER}",result="failure",source="{NMS_MGMT}"}}',
    )
    assert float(value[0]["value"][1]) >= 10


def run_in(netns: str) -> list[str]:
    return ["ip", "netns", "exec", netns]


@contextlib.contextmanager
def iperf3(server_ns: str, address: str, client_ns: str, seconds: int) -> Iterator[None]:
    """Bounded TCP traffic client → server at 90 Mbit/s for at most ``seconds``; both
    processes are ended by PID afterwards."""
    port = str(free_ports(1)[0])
    server = subprocess.Popen(
        [*run_in(server_ns), "iperf3", "-s", "-1", "-B", address, "-p", port],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client: subprocess.Popen[bytes] | None = None
    rate = ["-b", "90M", "-t", str(seconds), "-l", "16K"]
    try:
        time.sleep(1)  # iperf3 -s has no readiness signal; the client retries below
        for _ in range(5):
            client = subprocess.Popen(
                [*run_in(client_ns), "iperf3", "-c", address, "-p", port, *rate],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(2)
            if client.poll() is None:
                break
        assert client is not None and client.poll() is None, "iperf3 could not connect"
        yield
    finally:
        for proc in (client, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


def test_bounded_traffic_saturates_a_commune_link_then_the_alert_clears(soc: Soc) -> None:
    router, address, cpe, ifname = SATURATE
    with iperf3(f"clab-lab-{router}", address, f"clab-lab-{cpe}", seconds=150):
        began = time.monotonic()
        alert = wait_firing(
            soc, 150, "GovnetLinkSaturated", device=router, ifname=ifname, direction="in"
        )
        print(f"\nGovnetLinkSaturated after {time.monotonic() - began:.1f} s: {alert}")
        assert alert["link"] == "pr-kh12:eth3--cpe-120101:eth1"
    cleared = wait_resolved(soc, 90, "GovnetLinkSaturated", device=router, ifname=ifname)
    print(f"cleared {cleared:.1f} s after the traffic stopped")
