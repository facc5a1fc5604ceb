"""Counter32 values stay monotonic across wraps and start again after agent restarts."""

from __future__ import annotations

from probes.counters import WRAP, CounterTracker, restarted
from probes.model import Interface


def iface(octets: int, errors: int = 0, bits: int = 32) -> Interface:
    return Interface(
        index=1,
        name="eth0",
        in_octets=octets,
        in_errors=errors,
        octet_bits=bits,
    )


def test_a_counter32_that_wraps_keeps_counting_past_two_to_the_32() -> None:
    tracker = CounterTracker()
    tracker.extend("cpe", 1000, [iface(WRAP - 100)])
    after = tracker.extend("cpe", 2000, [iface(50)])
    assert after.interfaces[0].in_octets == WRAP + 50
    assert after.wraps == 1 and not after.restarted


def test_every_later_poll_keeps_the_offset_and_a_second_wrap_adds_another() -> None:
    tracker = CounterTracker()
    seen = [
        tracker.extend("cpe", t, [iface(v)]).interfaces[0].in_octets
        for t, v in [(100, WRAP - 10), (200, 5), (300, WRAP - 3), (400, 7)]
    ]
    assert seen == [WRAP - 10, WRAP + 5, 2 * WRAP - 3, 2 * WRAP + 7]


def test_an_agent_restart_starts_the_counters_again_instead_of_adding_a_wrap() -> None:
    tracker = CounterTracker()
    tracker.extend("cpe", 100_000, [iface(WRAP - 100)])
    tracker.extend("cpe", 110_000, [iface(20)])  # wrapped: offset 2^32
    after = tracker.extend("cpe", 300, [iface(10)])  # sysUpTime went back: restart
    assert after.restarted and after.wraps == 0
    assert after.interfaces[0].in_octets == 10


def test_timeticks_wrapping_after_497_days_is_not_a_restart() -> None:
    assert not restarted(WRAP - 50, 20)
    assert restarted(50_000, 20)
    assert not restarted(None, 20) and not restarted(20, 30)


def test_64_bit_octets_pass_through_but_error_counters_are_extended() -> None:
    tracker = CounterTracker()
    tracker.extend("r", 1, [iface(10**12, errors=WRAP - 1, bits=64)])
    after = tracker.extend("r", 2, [iface(5, errors=3, bits=64)]).interfaces[0]
    assert after.in_octets == 5  # a 64-bit counter going back is the agent's reset
    assert after.in_errors == WRAP + 3


def test_targets_no_longer_polled_are_forgotten() -> None:
    tracker = CounterTracker()
    tracker.extend("a", 1, [iface(WRAP - 1)])
    tracker.extend("b", 1, [iface(WRAP - 1)])
    tracker.keep(["b"])
    assert tracker.extend("a", 2, [iface(1)]).interfaces[0].in_octets == 1  # no memory of a
    assert tracker.extend("b", 2, [iface(1)]).interfaces[0].in_octets == WRAP + 1
