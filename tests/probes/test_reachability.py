"""Reachability: up, down (own fault) or unreachable (suppressed behind its parents)."""

from __future__ import annotations

from functools import cache

from controller.inventory import load_inventory
from probes.model import Reachability, Target
from probes.reachability import classify
from probes.targets import build_targets
from tests.conftest import ROOT

UP, DOWN, UNREACHABLE = Reachability.UP, Reachability.DOWN, Reachability.UNREACHABLE


@cache
def lab() -> tuple[Target, ...]:
    return tuple(build_targets(load_inventory(ROOT / "inventory/lab")))


def answered(*down: str) -> dict[str, bool]:
    return {t.name: t.name not in down for t in lab()}


def test_everything_answers_everything_is_up() -> None:
    state, upstream = classify(lab(), answered())
    assert set(state.values()) == {UP}
    assert not any(upstream.values())


def test_a_commune_site_that_does_not_answer_is_down_its_own_fault() -> None:
    state, upstream = classify(lab(), answered("cpe-020301"))
    assert state["cpe-020301"] is DOWN and upstream["cpe-020301"] is False


def test_communes_behind_a_down_province_router_are_unreachable() -> None:
    behind = ["cpe-020301", "cpe-020302", "cpe-020101", "cpe-020102"]
    state, upstream = classify(lab(), answered("pr-kh2", *behind))
    assert state["pr-kh2"] is DOWN and upstream["pr-kh2"] is False
    assert all(state[c] is UNREACHABLE and upstream[c] for c in behind)
    assert state["cpe-120101"] is UP


def test_redundant_uplinks_one_parent_down_is_not_upstream_down() -> None:
    state, upstream = classify(lab(), answered("dr-1"))
    assert state["pr-kh17"] is UP and upstream["pr-kh17"] is False
    state, upstream = classify(lab(), answered("dr-1", "pr-kh17"))
    assert state["pr-kh17"] is DOWN  # core-1 is still up: its own fault
    assert upstream["pr-kh17"] is False


def test_redundant_uplinks_both_parents_down_makes_the_router_unreachable() -> None:
    communes = ["cpe-171001", "cpe-171002", "cpe-170101", "cpe-170102"]
    state, upstream = classify(lab(), answered("core-1", "dr-1", "pr-kh17", *communes))
    assert state["core-1"] is DOWN  # a root that does not answer
    assert state["dr-1"] is UNREACHABLE
    assert state["pr-kh17"] is UNREACHABLE and upstream["pr-kh17"]
    assert all(state[c] is UNREACHABLE for c in communes)


def test_a_parent_that_answers_while_its_parents_do_not_is_still_up() -> None:
    state, upstream = classify(lab(), answered("core-1"))
    assert state["pr-kh12"] is UP and upstream["pr-kh12"] is True


def test_parents_not_probed_are_unknown_and_never_suppress() -> None:
    cpe = next(t for t in lab() if t.name == "cpe-120101")
    state, upstream = classify([cpe], {"cpe-120101": False})
    assert state["cpe-120101"] is DOWN and upstream["cpe-120101"] is False


def test_parents_that_were_not_probed_count_as_up() -> None:
    # An SNMP-only shard (--icmp-count 0) has answers for its own targets only; the
    # upstream parents it shares with other shards were not probed: unknown, not down.
    by_name = {t.name: t for t in lab()}
    own = ["pr-kh17", "cpe-171001"]
    state, upstream = classify(lab(), {name: True for name in own} | {"cpe-171002": False})
    assert state["pr-kh17"] is UP and upstream["pr-kh17"] is False
    assert set(by_name["pr-kh17"].parents) == {"core-1", "dr-1"}  # neither was probed
    assert state["cpe-171002"] is DOWN and upstream["cpe-171002"] is False  # its own fault
