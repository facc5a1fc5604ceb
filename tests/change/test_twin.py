"""The lab as a twin, the pure parts: a prediction becomes lab faults and the targets
expected to answer the NMS and the data centres; an observation is compared with it;
the settling loop waits for stable agreement (driven here by scripted observations, the
lab itself being exercised in tests/change/test_twin_lab.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from controller.change.impact import Failure, Network
from controller.change.twin import (
    DC_VIEW,
    NMS_VIEW,
    Expectation,
    Mismatch,
    Observation,
    TwinError,
    compare,
    expectation,
    lab_faults,
)
from controller.inventory import load_inventory
from simulations.topology import load_topology
from simulations.twin import settle
from tests.conftest import LAB_TOPOLOGY, ROOT

BATTAMBANG_UPLINK = "core-1:eth5--pr-kh2:eth1"
SIEM_REAP_CORE_UPLINK = "core-1:eth4--pr-kh17:eth1"
BATTAMBANG = {"pr-kh2", "cpe-020101", "cpe-020102", "cpe-020301", "cpe-020302"}
DR_SIDE = {"ndc-1", "dr-1", "pr-kh17", "cpe-170101", "cpe-170102", "cpe-171001", "cpe-171002"}
MISSIONS = {"ms-fr-par", "ms-jp-tyo"}  # tunnels to both data centres


@cache
def lab() -> Network:
    return Network(load_inventory(ROOT / "inventory/lab"))


@cache
def nodes() -> frozenset[str]:
    return frozenset(load_topology(LAB_TOPOLOGY).nodes)


def targets() -> set[str]:
    return {d.name for d in lab().inv.devices if d.role.value != "nms"}


def test_battambangs_uplink_cut_at_core_1_leaves_its_five_devices_to_their_collector() -> None:
    impact = lab().impact(Failure(links=(BATTAMBANG_UPLINK,)))
    assert [f.as_text() for f in lab_faults(lab(), impact.failure, nodes())] == [
        "link-down core-1:eth5"
    ]
    want = expectation(lab(), impact, nodes())
    assert set(want.addresses) == targets()
    assert want.connected == targets() - BATTAMBANG
    # Battambang's regional collector is cut off with its sites and still polls them
    assert want.monitored == targets()
    assert want.nms == ("col-kh2", "nms-1") and want.observers == ("dr-1", "ndc-1")
    assert want.addresses["cpe-020101"] == "10.255.0.111"


def test_siem_reaps_core_uplink_cuts_nothing_off_so_every_target_answers() -> None:
    impact = lab().impact(Failure(links=(SIEM_REAP_CORE_UPLINK,)))
    want = expectation(lab(), impact, nodes())
    assert want.connected == want.monitored == targets()


def test_core_1_down_leaves_the_dr_side_connected_and_only_battambangs_collector_seeing() -> None:
    impact = lab().impact(Failure(devices=("core-1",)))
    assert [f.as_text() for f in lab_faults(lab(), impact.failure, nodes())] == ["node-stop core-1"]
    want = expectation(lab(), impact, nodes())
    assert "core-1" not in want.addresses  # a failed device is not a target
    assert want.connected == DR_SIDE | MISSIONS
    # the NMS hangs off core-1; only Battambang's collector still sees its own province
    assert want.monitored == BATTAMBANG


def test_a_site_failure_stops_every_device_at_the_site() -> None:
    impact = lab().impact(Failure(sites=("020101",)))
    assert [f.as_text() for f in lab_faults(lab(), impact.failure, nodes())] == [
        "node-stop cpe-020101"
    ]


def test_a_failure_the_lab_cannot_play_is_refused_by_name() -> None:
    impact = lab().impact(Failure(links=(BATTAMBANG_UPLINK,), devices=("mr-moh",)))
    missing = "not in the lab: link core-1:eth5--pr-kh2:eth1, device mr-moh"
    with pytest.raises(TwinError, match=missing):
        lab_faults(lab(), impact.failure, nodes() - {"pr-kh2", "mr-moh"})


def test_an_observation_that_differs_is_listed_per_device_and_view() -> None:
    impact = lab().impact(Failure(links=(BATTAMBANG_UPLINK,)))
    want = expectation(lab(), impact, nodes())
    # pr-kh2 still answers the data centres (say, a backdoor link) and the NMS lost mr-mef
    seen = Observation(monitored=want.monitored - {"mr-mef"}, connected=want.connected | {"pr-kh2"})
    assert compare(want, seen) == [
        Mismatch("mr-mef", NMS_VIEW, "reachable", "cut off"),
        Mismatch("pr-kh2", DC_VIEW, "cut off", "reachable"),
    ]
    assert compare(want, Observation(want.monitored, want.connected)) == []


def converging(rounds_rerouting: int) -> tuple[Callable[[], Observation], Expectation]:
    """Observations replaying routing convergence after Battambang's uplink is cut:
    pr-kh17 answers nobody for the first ``rounds_rerouting`` rounds, then all agree."""
    want = expectation(lab(), lab().impact(Failure(links=(BATTAMBANG_UPLINK,))), nodes())
    count = 0

    def look() -> Observation:
        nonlocal count
        count += 1
        if count <= rounds_rerouting:
            return Observation(want.monitored - {"pr-kh17"}, want.connected - {"pr-kh17"})
        return Observation(want.monitored, want.connected)

    return look, want


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_settling_waits_for_two_agreeing_rounds_after_routing_converges() -> None:
    clock, (look, want) = Clock(), converging(3)
    done = settle(want, look, timeout=30, stable=2, clock=clock, pause=clock.sleep)
    assert done.ok and done.rounds == 5  # 3 rounds rerouting, then 2 agreeing


def test_settling_gives_up_at_the_timeout_with_the_last_differences() -> None:
    clock, (look, want) = Clock(), converging(10_000)
    done = settle(want, look, timeout=5, clock=clock, pause=clock.sleep)
    assert not done.ok and done.seconds >= 5
    assert {m.device for m in done.mismatches} == {"pr-kh17"}


def test_settling_does_not_count_agreement_before_the_floor() -> None:
    clock, (look, want) = Clock(), converging(0)
    done = settle(want, look, timeout=30, floor=4, clock=clock, pause=clock.sleep)
    assert done.ok and clock.now >= 4 and done.rounds == 6
