"""fping -C output parsing and the ICMP statistics derived from it."""

from __future__ import annotations

import pytest

from probes.icmp import AliveCheck, IcmpSettings, fping_argv, parse_alive, parse_fping
from probes.model import IcmpResult

OUTPUT = """\
127.1.0.1   : 0.33 0.01 0.02
10.255.0.101 : 1.20 - 1.60
10.255.0.102 : - - -
ICMP Host Unreachable from 10.253.0.16 for ICMP Echo sent to 10.255.0.109
10.255.0.109 : - -
fping: warning: something odd
host.example : 1.0 1.0 1.0
10.255.0.110 : 0.5 0.7 0.6 0.9
garbage : x y z
"""


def test_parse_fping_keeps_address_lines_and_ignores_the_rest() -> None:
    parsed = parse_fping(OUTPUT, count=3)
    assert set(parsed) == {
        "127.1.0.1",
        "10.255.0.101",
        "10.255.0.102",
        "10.255.0.109",
        "10.255.0.110",
    }
    assert parsed["127.1.0.1"] == pytest.approx((0.00033, 0.00001, 0.00002))
    assert parsed["10.255.0.101"] == (pytest.approx(0.0012), None, pytest.approx(0.0016))
    assert parsed["10.255.0.102"] == (None, None, None)
    assert parsed["10.255.0.109"] == (None, None)  # a short line stays short
    assert len(parsed["10.255.0.110"]) == 3  # a long line is capped


def test_statistics_of_a_partly_lost_series() -> None:
    result = IcmpResult("cpe", "10.0.0.1", (0.010, None, 0.014, 0.011))
    assert result.loss_ratio == pytest.approx(0.25)
    assert (result.rtt_min, result.rtt_max) == (0.010, 0.014)
    assert result.rtt_avg == pytest.approx(0.035 / 3)
    assert result.jitter == pytest.approx((0.004 + 0.003) / 2)  # over received echoes
    assert result.ok


def test_statistics_of_a_fully_lost_series() -> None:
    result = IcmpResult("cpe", "10.0.0.1", (None, None, None))
    assert result.loss_ratio == 1.0 and not result.ok
    assert result.rtt_avg is None and result.jitter is None


def test_fping_is_asked_for_quiet_per_echo_output() -> None:
    argv = fping_argv(IcmpSettings(count=5, period_ms=100), ["127.0.0.1"])
    assert argv[:3] == ["fping", "-C", "5"] and "-q" in argv and argv[-1] == "127.0.0.1"
    assert IcmpSettings().budget(2000) < 30


def test_an_alive_check_lists_the_answering_addresses_and_false_for_the_rest() -> None:
    check = AliveCheck(tries=3, timeout_ms=400)
    argv = check.argv(["10.0.0.1", "10.0.0.2"])
    assert argv[:7] == ["fping", "-a", "-r", "2", "-t", "400", "-B"]  # 3 tries, no backoff
    assert argv[-2:] == ["10.0.0.1", "10.0.0.2"]
    stdout = "10.0.0.1\nICMP Host Unreachable from 10.0.0.9 for ICMP Echo sent to 10.0.0.2\n"
    assert parse_alive(stdout, ["10.0.0.1", "10.0.0.2"]) == {"10.0.0.1": True, "10.0.0.2": False}
    assert check.budget(2) >= 3 * 0.4, "room for every try of an address that never answers"
