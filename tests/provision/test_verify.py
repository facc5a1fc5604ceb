"""What verification checks, as pure functions: before/after comparison, touched links,
exact interface names, one deadline, and the IOS/VRP parsers.

The IOS and VRP texts are recorded-format samples (no such device exists here); FRR's
JSON is exercised against real FRR in test_verify_lab.py.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace

from controller.inventory import load_inventory
from controller.inventory.model import Platform
from controller.provision.plan import (
    DevicePlan,
    DeviceSpec,
    device_specs,
    keep_of,
    links_to_verify,
    may_fail_later,
    select_devices,
    settle_seconds,
)
from controller.provision.verify import (
    Baseline,
    Keep,
    LabPinger,
    Snapshot,
    compare,
    parse_ios,
    parse_vrp,
    verify_change,
)
from tests.conftest import ROOT, require

KEEP = Keep(frozenset({"eth1", "eth5"}), frozenset({"10.0.0.2"}))


def test_an_adjacency_lost_on_an_interface_the_change_keeps_fails() -> None:
    before = Snapshot(up={"eth1", "eth5"}, ospf={"10.255.0.1": ("eth1", "Full")})
    after = Snapshot(up={"eth1", "eth5"}, ospf={"10.255.0.1": ("eth1", "Init")})
    check = compare("pr-kh2", before, after, KEEP)
    assert "pr-kh2 lost OSPF adjacency with 10.255.0.1 on eth1 (Init on eth1)" in check.failed
    assert "pr-kh2 OSPF Full adjacencies: 1 before, 0 after" in check.failed


def test_an_adjacency_on_an_interface_the_change_removes_may_go() -> None:
    before = Snapshot(up={"eth1", "eth9"}, ospf={"10.255.0.9": ("eth9", "Full")})
    after = Snapshot(up={"eth1"})
    assert compare("r", before, after, KEEP).ok


def test_interfaces_bgp_sessions_and_route_counts_must_be_as_good_as_before() -> None:
    before = Snapshot(
        up={"eth1", "eth5"}, bgp={"10.0.0.2": "Established"}, routes={"ospf": 30, "bgp": 5}
    )
    after = Snapshot(up={"eth1"}, bgp={"10.0.0.2": "Active"}, routes={"ospf": 28, "bgp": 5})
    check = compare("r", before, after, KEEP)
    assert check.failed == [
        "r eth5 went down",
        "r lost BGP session with 10.0.0.2 (Active)",
        "r BGP Established: 1 before, 0 after",
        "r OSPF routes fell from 30 to 28",
    ]
    assert "r BGP routes: 5 before, 5 after" in check.passed
    assert compare("r", before, after, replace(KEEP, route_allowance=2)).failed[-1] != (
        "r OSPF routes fell from 30 to 28"
    )


def test_interface_names_are_matched_exactly_not_as_substrings() -> None:
    snap = Snapshot()
    parse_ios(
        "show ip ospf neighbor",
        "Neighbor ID     Pri   State           Dead Time   Address         Interface\n"
        "10.255.0.2        0   FULL/  -        00:00:33    10.254.0.1      Gi0/10\n",
        snap,
    )
    assert snap.full == {"Gi0/10"}
    assert "Gi0/1" not in snap.full


def test_recorded_ios_output_is_parsed_into_a_snapshot() -> None:
    snap = Snapshot()
    parse_ios(
        "show ip interface brief",
        "Interface   IP-Address  OK? Method Status                Protocol\n"
        "Gi0/1       10.254.0.1  YES manual up                    up\n"
        "Gi0/2       unassigned  YES unset  administratively down down\n",
        snap,
    )
    parse_ios(
        "show ip bgp summary",
        "Neighbor        V    AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n"
        "10.0.0.2        4 65002      10      11        5    0    0 00:05:00        3\n"
        "10.0.0.6        4 65003       0       0        1    0    0 never    Active\n",
        snap,
    )
    parse_ios(
        "show ip route summary",
        "Route Source    Networks    Subnets     Replicates  Overhead    Memory (bytes)\n"
        "ospf 1          0           12          0           864         2160\n"
        "bgp 65001       1           2           0           216         540\n",
        snap,
    )
    assert snap.up == {"Gi0/1"}
    assert snap.bgp == {"10.0.0.2": "Established", "10.0.0.6": "Active"}
    assert snap.routes == {"ospf": 12, "bgp": 3}


def test_recorded_vrp_output_is_parsed_into_a_snapshot() -> None:
    snap = Snapshot()
    parse_vrp(
        "display ip interface brief",
        "Interface                         IP Address/Mask      Physical   Protocol\n"
        "GigabitEthernet0/0/1              10.254.0.1/31        up         up\n"
        "GigabitEthernet0/0/10             10.254.0.3/31        down       down\n",
        snap,
    )
    parse_vrp(
        "display ospf peer brief",
        " Area Id          Interface                        Neighbor id      State\n"
        " 0.0.0.0          GigabitEthernet0/0/1             10.255.0.2       Full\n",
        snap,
    )
    parse_vrp(
        "display bgp peer",
        "  Peer            V          AS  MsgRcvd  MsgSent  OutQ  Up/Down       State  PrefRcv\n"
        "  10.0.0.2        4       65002       10       12     0 00:05:00 Established        3\n",
        snap,
    )
    parse_vrp(
        "display ip routing-table statistics",
        "Proto      total      active     added      deleted    freed\n"
        "OSPF       14         12         20         6          6\n",
        snap,
    )
    assert snap.up == {"GigabitEthernet0/0/1"}
    assert snap.full == {"GigabitEthernet0/0/1"}
    assert snap.established == {"10.0.0.2"}
    assert snap.routes == {"ospf": 14}


def test_a_change_to_router_ospf_alone_verifies_every_ospf_link_of_the_device() -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    plans = {"pr-kh2": DevicePlan("pr-kh2", ["router ospf", "passive-interface default"], "")}
    assert [link.id for link in links_to_verify(inv, plans)] == ["core-1:eth5--pr-kh2:eth1"]
    removed = {"pr-kh2": DevicePlan("pr-kh2", ["no router ospf"], "")}
    assert [link.id for link in links_to_verify(inv, removed)] == ["core-1:eth5--pr-kh2:eth1"]
    described = {"pr-kh2": DevicePlan("pr-kh2", ["interface eth3", " description x"], "")}
    assert [link.id for link in links_to_verify(inv, described)] == ["pr-kh2:eth3--cpe-020301:eth1"]


def test_keep_lists_interfaces_left_configured_and_routes_the_change_withdraws() -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    devices, _ = select_devices(inv, [], ["pr-kh2"], False)
    (spec,) = device_specs(inv, devices, "lab")
    running = spec.intended.replace(
        " ip address 10.253.0.16/31\n", " ip address 10.253.0.16/31\n ip address 10.9.0.1/31\n"
    ).replace("end\n", "interface eth9\n ip address 10.9.9.1/31\nexit\nend\n")
    keep = keep_of(spec, running)
    assert {"lo", "eth1", "eth3"} <= keep.interfaces
    assert "eth9" in keep.interfaces, "outside the managed scope: govnet never removes it"
    assert keep.route_allowance == 1, "the extra address on eth3 (managed) is removed"
    assert keep.bgp_peers == frozenset()
    assert spec.platform is Platform.FRR


class Clock:
    """A fake clock: each pause advances it (the deadline, not a round count, ends it)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses = 0

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        self.pauses += 1
        self.now += seconds


class Stuck:
    """A device session whose OSPF neighbour never comes back (recorded IOS text)."""

    def show(self, command: str) -> str:
        return {
            "show ip interface brief": "Gi0/1  10.0.0.1  YES manual up  up\n",
            "show ip ospf neighbor": "10.255.0.2  0  INIT/  -  00:00:33  10.0.0.2  Gi0/1\n",
        }.get(command, "")

    def ping(self, address: str, seconds: float) -> str:
        raise AssertionError("no ping while the adjacency is down")

    def configure(self, commands: list[str]) -> str:
        return ""

    def save(self) -> str:
        return ""

    def close(self) -> None:
        pass


def test_verification_runs_until_the_confirm_deadline_with_no_round_cap() -> None:
    clock = Clock()
    before = Snapshot(up={"Gi0/1"}, ospf={"10.255.0.2": ("Gi0/1", "Full")})
    verdict = verify_change(
        [],
        {"r": (Platform.CISCO_IOS, Stuck())},
        Baseline({"r": before}, {}),
        {"r": Keep(frozenset({"Gi0/1"}), frozenset())},
        None,
        None,
        deadline=900.0,
        clock=clock,
        pause=clock.pause,
    )
    assert not verdict.ok
    assert verdict.rounds > 600 and clock.now >= 900.0
    assert (
        "r lost OSPF adjacency with 10.255.0.2 on Gi0/1 (Init on Gi0/1)"
        in verdict.devices["r"].failed
    )


def _pr_kh2() -> DeviceSpec:
    inv = load_inventory(ROOT / "inventory/lab")
    devices, _ = select_devices(inv, [], ["pr-kh2"], False)
    (spec,) = device_specs(inv, devices, "lab")
    return spec


def test_a_change_of_only_costs_and_descriptions_cannot_fail_later() -> None:
    spec = _pr_kh2()
    # The router runs what the inventory wants except a cost and a description: the
    # change sets them — nothing in it can take an adjacency down after a dead interval.
    running = spec.intended.replace(
        " ip ospf network point-to-point\n", " ip ospf network point-to-point\n ip ospf cost 5\n"
    ).replace(" description Battambang uplink to core-1 eth5\n", " description old\n")
    assert running != spec.intended
    assert not may_fail_later(spec, running)
    assert not may_fail_later(spec, spec.intended), "no change at all"


def test_a_new_hello_interval_an_address_or_an_area_may_fail_later() -> None:
    spec = _pr_kh2()
    for before, after in [
        (" ip ospf hello-interval 1\n", " ip ospf hello-interval 2\n"),
        (" ip address 10.254.0.11/31\n", " ip address 10.254.0.13/31\n"),
        (" ip ospf area 0.0.0.0\n ip ospf network", " ip ospf area 0.0.0.1\n ip ospf network"),
    ]:
        running = spec.intended.replace(before, after, 1)
        assert running != spec.intended, before
        assert may_fail_later(spec, running), before


def test_a_whole_interface_block_added_or_removed_may_fail_later() -> None:
    spec = _pr_kh2()
    start = spec.intended.index("interface eth1\n")
    end = spec.intended.index("exit\n", start) + len("exit\n")
    assert may_fail_later(spec, spec.intended[:start] + spec.intended[end:])


def test_no_settling_wait_when_no_changed_device_may_fail_later() -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    assert settle_seconds(inv, set(), 30.0) == 0.0
    assert settle_seconds(inv, {"pr-kh2"}, 30.0) == 4.0, "eth1's dead interval"
    assert settle_seconds(inv, {"pr-kh2"}, 2.0) == 2.0, "at most the cap"


def test_a_lab_nodes_pings_answer_at_once_and_an_unreachable_address_is_false() -> None:
    """The lab's verification pings run inside the node's namespace, one fping for all its
    addresses: an answering address after one echo, an address with no route false. Here
    the node is a namespace of this test's own with only its loopback (nothing leaves it)."""
    require(os.geteuid() == 0, "network namespaces need root")
    netns = f"clab-pingspec{os.getpid()}-n1"
    ip = ["ip", "-n", netns]
    subprocess.run(["ip", "netns", "add", netns], check=True, timeout=10)
    try:
        subprocess.run([*ip, "link", "set", "lo", "up"], check=True, timeout=10)
        subprocess.run([*ip, "addr", "add", "10.99.0.1/32", "dev", "lo"], check=True, timeout=10)
        pinger = LabPinger(f"pingspec{os.getpid()}")
        assert pinger.many("n1", ["10.99.0.1", "10.99.0.2", "10.99.0.1"]) == {
            "10.99.0.1": True,
            "10.99.0.2": False,  # no route in the namespace: no echo can leave it
        }
        assert pinger("n1", "10.99.0.1") is True
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=True, timeout=10)
