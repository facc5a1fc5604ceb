"""A tiny in-memory MIB and GETBULK responder: the fast tier's fake agent."""

from __future__ import annotations

from bisect import bisect_right

from probes import ber
from probes.ber import VarBind, decode_oid, encode_oid
from probes.snmp_walk import IF_ENTRY, IFX_ENTRY, SYS_NAME, SYS_UPTIME

Table = dict[tuple[int, ...], tuple[int, ber.Value]]


def device_mib(interfaces: int = 3, sys_name: bytes = b"fake-1") -> Table:
    mib: Table = {
        (*SYS_UPTIME, 0): (ber.TIMETICKS, 123456),
        (*SYS_NAME, 0): (ber.OCTET_STRING, sys_name),
        (1, 3, 6, 1, 2, 1, 1, 6, 0): (ber.OCTET_STRING, b"somewhere"),
    }
    for i in range(1, interfaces + 1):
        mib[(*IF_ENTRY, 1, i)] = (ber.INTEGER, i)
        mib[(*IF_ENTRY, 2, i)] = (ber.OCTET_STRING, f"eth{i - 1}".encode())
        mib[(*IF_ENTRY, 7, i)] = (ber.INTEGER, 1)
        mib[(*IF_ENTRY, 8, i)] = (ber.INTEGER, 1 if i != 2 else 2)
        for col in (13, 14, 19, 20):
            mib[(*IF_ENTRY, col, i)] = (ber.COUNTER32, i * col)
        mib[(*IFX_ENTRY, 1, i)] = (ber.OCTET_STRING, f"eth{i - 1}".encode())
        mib[(*IFX_ENTRY, 6, i)] = (ber.COUNTER64, 10**12 + i)
        mib[(*IFX_ENTRY, 10, i)] = (ber.COUNTER64, 2 * 10**12 + i)
        mib[(*IFX_ENTRY, 15, i)] = (ber.GAUGE32, 1000)
    return mib


def next_binding(mib: Table, keys: list[tuple[int, ...]], oid: tuple[int, ...]) -> VarBind:
    i = bisect_right(keys, oid)
    if i >= len(keys):
        return (encode_oid(oid), ber.END_OF_MIB_VIEW, None)
    key = keys[i]
    tag, value = mib[key]
    return (encode_oid(key), tag, value)


def bulk_varbinds(mib: Table, non_repeaters: int, max_rep: int, oids: list[bytes]) -> list[VarBind]:
    keys = sorted(mib)
    out = [next_binding(mib, keys, decode_oid(o)) for o in oids[:non_repeaters]]
    current = [decode_oid(o) for o in oids[non_repeaters:]]
    for _ in range(max_rep):
        row = [next_binding(mib, keys, oid) for oid in current]
        out.extend(row)
        current = [decode_oid(vb[0]) for vb in row]
    return out


def respond(mib: Table, request: bytes, community: bytes = b"public") -> bytes | None:
    """The reply a well-behaved v2c agent gives to ``request`` (None: wrong community)."""
    message = ber.decode_message(request)
    if message.community != community:
        return None
    binds = bulk_varbinds(
        mib, message.error_status, message.error_index, [vb[0] for vb in message.varbinds]
    )
    return ber.encode_response(community, message.request_id, binds)
