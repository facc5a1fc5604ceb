"""Sharding by rendezvous hashing: a partition, balanced, stable when N grows."""

from __future__ import annotations

from collections import Counter

import pytest

from controller.errors import UsageError
from probes.cycle import make_plan
from probes.sharding import Shard, owner, parse_shard, select
from tests.probes.test_targets import lab, national

NAMES = sorted(national())


def shards_of(count: int) -> list[list[str]]:
    return [select(NAMES, NAMES, Shard(i, count)) for i in range(1, count + 1)]


def test_three_shards_cover_every_target_exactly_once() -> None:
    parts = shards_of(3)
    together = Counter(name for part in parts for name in part)
    assert set(together) == set(NAMES) and set(together.values()) == {1}


def test_three_shards_are_balanced_within_15_percent() -> None:
    fair = len(NAMES) / 3
    for part in shards_of(3):
        assert abs(len(part) - fair) <= 0.15 * fair


def test_going_from_3_to_4_shards_moves_about_a_quarter() -> None:
    before = {name: owner(name, 3) for name in NAMES}
    after = {name: owner(name, 4) for name in NAMES}
    moved = [n for n in NAMES if before[n] != after[n]]
    assert all(after[n] == 4 for n in moved)  # only to the new shard
    assert abs(len(moved) / len(NAMES) - 0.25) < 0.04


def test_the_same_name_always_lands_on_the_same_shard() -> None:
    assert [owner(n, 5) for n in NAMES[:50]] == [owner(n, 5) for n in NAMES[:50]]


def test_a_shard_also_pings_the_parents_of_its_targets() -> None:
    targets = list(lab().values())
    for index in (1, 2, 3):
        plan = make_plan(targets, Shard(index, 3))
        own = {t.name for t in plan.targets}
        upstream = {t.name for t in plan.upstream}
        assert not own & upstream
        for target in plan.targets:
            assert set(target.parents) <= own | upstream


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("3", "expected i/N"),
        ("0/3", "i must be between 1 and N"),
        ("4/3", "between 1 and N"),
        ("1/0", "N must be between"),
        ("a/b", "expected i/N"),
        ("1/99999", "expected i/N"),
    ],
)
def test_bad_shard_values_are_one_line_usage_errors(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_shard(text)
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_good_shard_values() -> None:
    assert parse_shard("2/3") == Shard(2, 3) and str(parse_shard(" 1 / 1 ")) == "1/1"
