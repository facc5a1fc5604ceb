"""Counters that stay right across 32-bit wraps and agent restarts (pure, per poller).

Prometheus' ``rate()`` treats every decrease of a counter as a reset to zero. That is
right when an agent restarts, and wrong when a Counter32 wraps: a 100 Mbit/s link wraps
ifInOctets every ~6 minutes, and each wrap would lose up to 2³² octets. So every Counter32
the poller exports (ifTable's octets for agents without ifXTable, and the error and
discard counters of every agent) is extended here: a decrease while sysUpTime moved on is
a wrap (2³² is added from then on); sysUpTime going back is a restart (the counters start
again from what the agent says, which ``rate()`` sees as the reset it is). TimeTicks
itself wraps after 497 days: a "going back" from the last quarter of its range to the
first is taken as that wrap, not a restart.

One wrap per poll interval can be told apart; two cannot — for links that can move
2³² octets within an interval the agent must offer ifXTable's 64-bit counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from probes.model import Interface

WRAP = 1 << 32
_TICKS_WRAP_ZONE = 3 << 30  # a previous sysUpTime past this, now small: TimeTicks wrapped
_COUNTER32_FIELDS = ("in_errors", "out_errors", "in_discards", "out_discards")
_OCTET_FIELDS = ("in_octets", "out_octets")


@dataclass
class _TargetState:
    uptime: int | None
    raw: dict[tuple[int, str], int] = field(default_factory=dict)
    base: dict[tuple[int, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Extended:
    interfaces: tuple[Interface, ...]
    restarted: bool  # sysUpTime went back since the last poll
    wraps: int  # Counter32 wraps followed in this poll


def restarted(previous: int | None, now: int | None) -> bool:
    """Whether sysUpTime going from ``previous`` to ``now`` means the agent restarted."""
    if previous is None or now is None or now >= previous:
        return False
    return not (previous >= _TICKS_WRAP_ZONE and now < WRAP - _TICKS_WRAP_ZONE)


class CounterTracker:
    """The last raw value and the wrap offset of every Counter32, per target."""

    def __init__(self) -> None:
        self._targets: dict[str, _TargetState] = {}

    def extend(self, target: str, uptime: int | None, interfaces: Iterable[Interface]) -> Extended:
        previous = self._targets.get(target)
        reset = previous is not None and restarted(previous.uptime, uptime)
        state = _TargetState(uptime)
        wraps = 0
        out = []
        for interface in interfaces:
            fields = _COUNTER32_FIELDS + (_OCTET_FIELDS if interface.octet_bits == 32 else ())
            changes: dict[str, Any] = {}
            for name in fields:
                raw = getattr(interface, name)
                if not isinstance(raw, int):
                    continue
                key = (interface.index, name)
                base = 0
                if previous is not None and not reset:
                    base = previous.base.get(key, 0)
                    last = previous.raw.get(key)
                    if last is not None and raw < last:
                        base += WRAP
                        wraps += 1
                state.raw[key], state.base[key] = raw, base
                if base:
                    changes[name] = base + raw
            out.append(replace(interface, **changes) if changes else interface)
        self._targets[target] = state
        return Extended(tuple(out), reset, wraps)

    def keep(self, targets: Iterable[str]) -> None:
        """Forget every target not in ``targets`` (memory stays bounded by the target list)."""
        wanted = set(targets)
        for name in [n for n in self._targets if n not in wanted]:
            del self._targets[name]
