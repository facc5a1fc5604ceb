"""Regional collectors: each target is polled by exactly one collector of its region."""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from controller.errors import UsageError
from controller.inventory import load_inventory
from controller.inventory.model import Collector, Collectors, Inventory
from probes.regions import assign, collector_plan
from probes.targets import build_targets, tunnel_targets
from tests.conftest import ROOT


@cache
def lab() -> Inventory:
    return load_inventory(ROOT / "inventory/lab")


@cache
def national() -> Inventory:
    return load_inventory(ROOT / "inventory/cambodia")


def section(*regions: Collector) -> Collectors:
    return Collectors(store={"device": "nms-1"}, regions=list(regions))


def test_the_lab_battambang_collector_polls_exactly_battambangs_sites() -> None:
    inv = lab()
    assert inv.collectors is not None
    plan = collector_plan(build_targets(inv), inv.collectors, "battambang")
    assert sorted(t.name for t in plan.targets) == [
        "cpe-020101",
        "cpe-020102",
        "cpe-020301",
        "cpe-020302",
        "pr-kh2",
    ]
    # it also pings what is upstream of them, to tell down from unreachable
    assert [t.name for t in plan.upstream] == ["core-1"]


def test_the_lab_ndc_collector_polls_everything_else() -> None:
    inv = lab()
    assert inv.collectors is not None
    targets = build_targets(inv)
    ndc = collector_plan(targets, inv.collectors, "ndc")
    battambang = collector_plan(targets, inv.collectors, "battambang")
    mine = {t.name for t in ndc.targets}
    assert mine.isdisjoint(t.name for t in battambang.targets)
    assert mine | {t.name for t in battambang.targets} == {t.name for t in targets}
    assert (ndc.shard.index, ndc.shard.count) == (1, 2)


def test_the_missions_tunnels_are_pinged_once_by_the_collectors_without_provinces() -> None:
    inv = lab()
    assert inv.collectors is not None
    targets, tunnels = build_targets(inv), tunnel_targets(inv)
    assert len(tunnels) == 4  # Paris and Tokyo, one tunnel to the NDC and one to the DR each
    ndc = collector_plan(targets, inv.collectors, "ndc", tunnels)
    battambang = collector_plan(targets, inv.collectors, "battambang", tunnels)
    assert [t.name for t in ndc.tunnels] == [t.name for t in tunnels]
    assert battambang.tunnels == ()
    # the tunnels are extra ICMP targets, never sites of their own
    assert not {t.name for t in tunnels} & {t.name for t in ndc.targets + ndc.upstream}
    # and the mission routers themselves go to the national collector too
    assert {"ms-fr-par", "ms-jp-tyo"} <= {t.name for t in ndc.targets}


def test_two_national_collectors_share_the_tunnels_without_overlap() -> None:
    inv = lab()
    regions = [Collector(name=f"national-{i}", device="nms-1") for i in (1, 2, 3)]
    tunnels = tunnel_targets(inv)
    plans = [
        collector_plan(build_targets(inv), section(*regions), c.name, tunnels) for c in regions
    ]
    pinged = [t.name for p in plans for t in p.tunnels]
    assert sorted(pinged) == sorted(t.name for t in tunnels)


def test_collectors_of_one_region_share_it_and_never_poll_another_region() -> None:
    targets = build_targets(national())
    regions = [
        Collector(name="north-1", device="nms-1", provinces=["KH-2", "KH-1"]),
        Collector(name="north-2", device="nms-1", provinces=["KH-2", "KH-1"]),
        Collector(name="national", device="nms-1"),
    ]
    shares = assign(targets, regions)
    north = [t for t in targets if t.province in ("KH-1", "KH-2")]
    assert {t.name for t in shares["north-1"] + shares["north-2"]} == {t.name for t in north}
    assert all(t.province in ("KH-1", "KH-2") for t in shares["north-1"] + shares["north-2"])
    assert abs(len(shares["north-1"]) - len(shares["north-2"])) < 0.2 * len(north)
    counts = Counter(t.name for share in shares.values() for t in share)
    assert set(counts.values()) == {1} and len(counts) == len(targets)


def test_adding_a_collector_to_a_region_moves_only_that_regions_targets() -> None:
    targets = build_targets(national())
    before = [
        Collector(name="north-1", device="nms-1", provinces=["KH-2"]),
        Collector(name="national-1", device="nms-1"),
        Collector(name="national-2", device="nms-1"),
    ]
    after = [*before, Collector(name="north-2", device="nms-1", provinces=["KH-2"])]
    owner_before = {t.name: c for c, share in assign(targets, before).items() for t in share}
    owner_after = {t.name: c for c, share in assign(targets, after).items() for t in share}
    moved = {n for n in owner_before if owner_before[n] != owner_after[n]}
    assert moved and all(owner_after[n] == "north-2" for n in moved)


def test_an_unknown_collector_is_a_one_line_usage_error() -> None:
    inv = lab()
    assert inv.collectors is not None
    with pytest.raises(UsageError, match=r"no such collector.*ndc, battambang"):
        collector_plan(build_targets(inv), inv.collectors, "kampot")


def test_a_section_without_a_national_collector_leaves_uncovered_sites_to_nobody() -> None:
    only = section(Collector(name="b", device="x", provinces=["KH-2"]))
    shares = assign(build_targets(lab()), only.regions)
    assert len(shares["b"]) == 5  # the rest has no collector: the inventory check says so
