"""Shards: a stable, balanced subset of the targets per poller (rendezvous hashing).

Each target goes to the shard with the highest ``hash(shard, name)`` (highest random
weight). Every poller computes the same owner with no coordination; adding a shard to N
moves only the targets the new shard now wins, about 1/(N+1) of them.
Shards are numbered from 1: ``--shard 2/3`` is the second of three.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from typing import TypeVar

from controller.errors import UsageError

_SHARD = re.compile(r"^\s*(\d{1,4})\s*/\s*(\d{1,4})\s*$")
MAX_SHARDS = 1024
T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


ALL = Shard(1, 1)


def parse_shard(text: str) -> Shard:
    """``i/N`` with 1 ≤ i ≤ N ≤ 1024, else a one-line UsageError."""
    match = _SHARD.match(text)
    if match is None:
        raise UsageError(f"--shard {text!r}: expected i/N, e.g. 2/3 (the second of three)")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"--shard {text!r}: N must be between 1 and {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: i must be between 1 and N ({count})")
    return Shard(index, count)


def weight(shard: int | str, name: str) -> int:
    """The rendezvous weight of ``name`` for a shard (a number, or a collector's name)."""
    digest = blake2b(f"{shard}\x00{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(name: str, count: int) -> int:
    """The 1-based shard that owns ``name`` among ``count`` shards."""
    return max(range(1, count + 1), key=lambda shard: weight(shard, name))


def select(items: Iterable[T], names: Sequence[str] | None, shard: Shard) -> list[T]:
    """The items (named by ``names``, same order, or ``str(item)``) that ``shard`` owns."""
    chosen = list(items)
    keys = list(names) if names is not None else [str(item) for item in chosen]
    if shard.count == 1:
        return chosen
    return [
        item
        for item, key in zip(chosen, keys, strict=True)
        if owner(key, shard.count) == shard.index
    ]
