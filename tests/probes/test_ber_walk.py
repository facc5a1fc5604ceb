"""The lean codec and the walk: correct data from good replies, and a target marked down
with a reason — never a crash — for malformed or hostile ones."""

from __future__ import annotations

import contextlib
import random

import pytest

from probes import ber
from probes.ber import BerError, decode_message, encode_oid, encode_request, encode_response
from probes.snmp_walk import COLUMNS, IF_ENTRY, IFX_ENTRY, Limits, Walk, WalkError
from tests.probes.mib import Table, bulk_varbinds, device_mib


def run_walk(mib: Table, max_rep: int = 5, limits: Limits | None = None) -> Walk:
    walk = Walk(max_rep, limits)
    while not walk.done:
        request = walk.request()
        binds = bulk_varbinds(mib, request.non_repeaters, request.max_repetitions, request.oids)
        # every reply goes through the wire format and back
        wire = encode_response(b"c", 7, binds)
        walk.feed(decode_message(wire).varbinds)
    return walk


def test_oid_and_integer_round_trips() -> None:
    for oid in [(1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 4, 1, 2021, 4294967295), (2, 999, 1)]:
        assert ber.decode_oid(encode_oid(oid)) == oid
    for value in (0, 1, -1, 127, 128, -129, 2**31 - 1, -(2**31)):
        tlv = ber.encode_integer(value)
        assert int.from_bytes(tlv[2:], "big", signed=True) == value


def test_a_request_decodes_as_what_was_asked() -> None:
    wire = encode_request(b"public", ber.GETBULK, 42, 2, 10, [encode_oid((1, 3, 6, 1))])
    message = decode_message(wire)
    assert (message.community, message.pdu, message.request_id) == (b"public", ber.GETBULK, 42)
    assert (message.error_status, message.error_index) == (2, 10)


def test_a_walk_collects_system_group_and_every_column() -> None:
    walk = run_walk(device_mib(interfaces=3), max_rep=5)
    assert walk.rounds == 1  # one GETBULK when max-repetitions > interfaces
    assert walk.uptime_ticks == 123456 and walk.sys_name == "fake-1"
    rows = walk.interfaces()
    assert [i.name for i in rows] == ["eth0", "eth1", "eth2"]
    assert rows[1].oper_up is False and rows[0].oper_up is True and rows[0].admin_up is True
    assert rows[2].in_octets == 10**12 + 3 and rows[2].out_octets == 2 * 10**12 + 3
    assert rows[0].speed_bps == 1_000_000_000 and rows[0].in_errors == 14
    assert walk.values == 2 + 3 * len(COLUMNS)


def test_a_long_table_takes_several_rounds() -> None:
    walk = run_walk(device_mib(interfaces=20), max_rep=6)
    assert walk.rounds == 4 and len(walk.interfaces()) == 20


def test_a_wrong_type_marks_the_target_down_with_the_column() -> None:
    mib = device_mib()
    mib[(*IFX_ENTRY, 6, 2)] = (ber.OCTET_STRING, b"lots")
    with pytest.raises(WalkError, match="ifHCInOctets: expected Counter64, got OCTET STRING"):
        run_walk(mib)


def test_a_missing_column_marks_the_target_down() -> None:
    mib = {k: v for k, v in device_mib().items() if k[:-1] != (*IFX_ENTRY, 10)}
    with pytest.raises(WalkError, match="missing column ifHCOutOctets"):
        run_walk(mib).interfaces()


def test_a_missing_system_group_marks_the_target_down() -> None:
    mib = {k: v for k, v in device_mib().items() if k[:8] != (1, 3, 6, 1, 2, 1, 1, 3)}
    with pytest.raises(WalkError, match=r"sysUpTime\.0 missing"):
        run_walk(mib)


def test_absurd_row_counts_are_refused() -> None:
    with pytest.raises(WalkError, match="more than 10 rows"):
        run_walk(device_mib(interfaces=12), max_rep=20, limits=Limits(max_rows=10))


def test_a_walk_that_never_ends_is_bounded() -> None:
    with pytest.raises(WalkError, match="within 3 requests"):
        run_walk(device_mib(interfaces=30), max_rep=2, limits=Limits(max_rounds=3))


def test_a_status_out_of_range_is_refused() -> None:
    mib = device_mib()
    mib[(*IF_ENTRY, 8, 1)] = (ber.INTEGER, 99)
    with pytest.raises(WalkError, match=r"ifOperStatus\.1: 99 is not a status"):
        run_walk(mib).interfaces()


def test_more_varbinds_than_asked_for_is_refused() -> None:
    walk = Walk(2)
    request = walk.request()
    binds = bulk_varbinds(device_mib(), 2, 5, request.oids)
    with pytest.raises(WalkError, match="more than requested"):
        walk.feed(binds)


def test_oids_going_backwards_are_refused() -> None:
    walk = Walk(3)
    request = walk.request()
    binds = bulk_varbinds(device_mib(), 2, 3, request.oids)
    width = len(COLUMNS)
    binds[2 + width], binds[2] = binds[2], binds[2 + width]  # swap rows 1 and 2 of ifDescr
    with pytest.raises(WalkError, match="not increasing"):
        walk.feed(binds)


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        (b"", "truncated"),
        (b"\x30\x03\x02\x01", "overruns"),
        (b"\x30\x84\xff\xff\xff\xff", "bad length"),
        (b"\x04\x00", "not an SNMP message"),
        (encode_response(b"c", 1, [(encode_oid((1, 3, 6)), 0x46, 2**80)]), "Counter64 of"),
        (encode_response(b"c", 1, [(encode_oid((1, 3, 6)), 0x41, b"\xfb")]), "negative"),
        (encode_response(b"c", 1, [(encode_oid((1, 3, 6)), 0x99, b"x")]), "unknown value type"),
    ],
)
def test_malformed_datagrams_raise_ber_errors(wire: bytes, problem: str) -> None:
    with pytest.raises(BerError, match=problem):
        decode_message(wire)


def test_random_garbage_and_mutations_never_raise_anything_but_ber_error() -> None:
    rng = random.Random(7)
    good = encode_response(b"c", 1, bulk_varbinds(device_mib(), 2, 4, Walk().request().oids))
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(64))) for _ in range(500)]
    for _ in range(2000):
        mutated = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        samples.append(bytes(mutated[: rng.randrange(len(mutated) + 1)]))
    for sample in samples:
        with contextlib.suppress(BerError):
            decode_message(sample)


def test_too_many_varbinds_in_one_datagram_is_refused() -> None:
    binds = [(encode_oid((1, 3, 6, 1, i)), ber.NULL, None) for i in range(ber.MAX_VARBINDS + 1)]
    with pytest.raises(BerError, match="more than"):
        decode_message(encode_response(b"c", 1, binds))
