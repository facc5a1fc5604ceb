"""A small, strict BER codec for the few SNMP PDUs the lean v2c path needs.

Encodes GET/GETNEXT/GETBULK requests and decodes responses: SNMPv2c message → PDU →
varbinds of ``(oid, tag, value)`` where ``oid`` stays the raw encoded OID (compared
by prefix, decoded only where needed), ``tag`` is the BER tag byte and ``value`` an
``int`` (INTEGER, Counter32/64, Gauge32, TimeTicks), ``bytes`` (OCTET STRING,
IpAddress, Opaque, OID) or ``None`` (NULL and the v2 exceptions).

Every length is checked against its enclosing element, integer sizes are capped and the
varbind count is bounded: a malformed or hostile datagram raises :class:`BerError`,
never an IndexError or a huge allocation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82

GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
GETBULK = 0xA5
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8

TAG_NAMES = {
    INTEGER: "INTEGER",
    OCTET_STRING: "OCTET STRING",
    NULL: "NULL",
    OBJECT_IDENTIFIER: "OBJECT IDENTIFIER",
    IP_ADDRESS: "IpAddress",
    COUNTER32: "Counter32",
    GAUGE32: "Gauge32",
    TIMETICKS: "TimeTicks",
    OPAQUE: "Opaque",
    COUNTER64: "Counter64",
    NO_SUCH_OBJECT: "noSuchObject",
    NO_SUCH_INSTANCE: "noSuchInstance",
    END_OF_MIB_VIEW: "endOfMibView",
}
_UNSIGNED_MAX = {COUNTER32: 0xFFFFFFFF, GAUGE32: 0xFFFFFFFF, TIMETICKS: 0xFFFFFFFF}
_BYTES_TAGS = frozenset({OCTET_STRING, IP_ADDRESS, OPAQUE, OBJECT_IDENTIFIER})
_NONE_TAGS = frozenset({NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW})
MAX_VARBINDS = 8192
MAX_INT_BYTES = 9  # Counter64 may carry a leading zero byte

Value = int | bytes | None
VarBind = tuple[bytes, int, Value]


class BerError(ValueError):
    """A datagram is not a well-formed SNMP message (the text says where)."""


def tag_name(tag: int) -> str:
    return TAG_NAMES.get(tag, f"tag 0x{tag:02x}")


# --- encoding ----------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _length(len(payload)) + payload


def encode_integer(value: int) -> bytes:
    """INTEGER TLV, minimal two's complement."""
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def encode_oid(oid: tuple[int, ...]) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (no tag/length)."""
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39):
        raise BerError(f"invalid OID {'.'.join(map(str, oid))}")
    out = bytearray()
    for sub in (oid[0] * 40 + oid[1], *oid[2:]):
        if sub < 0:
            raise BerError("negative OID sub-identifier")
        chunk = [sub & 0x7F]
        sub >>= 7
        while sub:
            chunk.append(0x80 | (sub & 0x7F))
            sub >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def parse_oid(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.strip().strip(".").split("."))
    except ValueError:
        raise BerError(f"invalid OID {text!r}") from None


def decode_oid(payload: bytes) -> tuple[int, ...]:
    if not payload:
        raise BerError("empty OID")
    subs: list[int] = []
    value = 0
    for byte in payload:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            subs.append(value)
            value = 0
        elif value > 0xFFFFFFFF:
            raise BerError("OID sub-identifier too large")
    if payload[-1] & 0x80:
        raise BerError("truncated OID")
    first = subs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return head + tuple(subs[1:])


def oid_text(payload: bytes) -> str:
    try:
        return ".".join(map(str, decode_oid(payload)))
    except BerError:
        return payload.hex()


def encode_pdu(pdu: int, request_id: int, a: int, b: int, oids: Sequence[bytes]) -> bytes:
    """A request PDU TLV; ``a``/``b`` are error-status/index (GET, GETNEXT) or
    non-repeaters/max-repetitions (GETBULK). ``oids`` are encoded OID contents."""
    null = b"\x05\x00"
    binds = b"".join(tlv(SEQUENCE, tlv(OBJECT_IDENTIFIER, oid) + null) for oid in oids)
    body = encode_integer(request_id) + encode_integer(a) + encode_integer(b)
    return tlv(pdu, body + tlv(SEQUENCE, binds))


def encode_request(
    community: bytes, pdu: int, request_id: int, a: int, b: int, oids: list[bytes]
) -> bytes:
    """An SNMPv2c request (see :func:`encode_pdu` for ``a``/``b``)."""
    message = encode_integer(1) + tlv(OCTET_STRING, community)
    return tlv(SEQUENCE, message + encode_pdu(pdu, request_id, a, b, oids))


def encode_value(tag: int, value: Value) -> bytes:
    """A value TLV (for tests and fake agents)."""
    if value is None:
        return tlv(tag, b"")
    if isinstance(value, bytes):
        return tlv(tag, value)
    if tag == INTEGER:
        return encode_integer(value)
    size = max(1, value.bit_length() // 8 + 1)
    return tlv(tag, value.to_bytes(size, "big"))


def encode_response(
    community: bytes,
    request_id: int,
    varbinds: Sequence[VarBind],
    error_status: int = 0,
    error_index: int = 0,
    pdu: int = RESPONSE,
) -> bytes:
    """An SNMPv2c response (for tests and fake agents)."""
    binds = b"".join(
        tlv(SEQUENCE, tlv(OBJECT_IDENTIFIER, oid) + encode_value(tag, value))
        for oid, tag, value in varbinds
    )
    body = encode_integer(request_id) + encode_integer(error_status)
    body += encode_integer(error_index) + tlv(SEQUENCE, binds)
    message = encode_integer(1) + tlv(OCTET_STRING, community) + tlv(pdu, body)
    return tlv(SEQUENCE, message)


# --- decoding ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    version: int
    community: bytes
    pdu: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]


def _header(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at ``pos``."""
    if pos + 2 > end:
        raise BerError(f"truncated element at byte {pos}")
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or pos + k > end:
            raise BerError(f"bad length at byte {pos - 1}")
        n = int.from_bytes(buf[pos : pos + k], "big")
        pos += k
    if pos + n > end:
        raise BerError(f"length {n} at byte {pos} overruns its container")
    return tag, pos, pos + n


def _integer(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    tag, start, stop = _header(buf, pos, end)
    if tag != INTEGER:
        raise BerError(f"{what}: expected INTEGER, got {tag_name(tag)}")
    if not 0 < stop - start <= 8:
        raise BerError(f"{what}: integer of {stop - start} bytes")
    return int.from_bytes(buf[start:stop], "big", signed=True), stop


def decode_value(tag: int, buf: bytes, start: int, stop: int) -> Value:
    size = stop - start
    if tag == INTEGER:
        if not 0 < size <= 8:
            raise BerError(f"INTEGER of {size} bytes")
        return int.from_bytes(buf[start:stop], "big", signed=True)
    if tag in _BYTES_TAGS:
        if tag == IP_ADDRESS and size != 4:
            raise BerError(f"IpAddress of {size} bytes")
        return buf[start:stop]
    if tag in _UNSIGNED_MAX or tag == COUNTER64:
        if not 0 < size <= (MAX_INT_BYTES if tag == COUNTER64 else 5):
            raise BerError(f"{tag_name(tag)} of {size} bytes")
        if buf[start] & 0x80:
            raise BerError(f"negative {tag_name(tag)}")
        value = int.from_bytes(buf[start:stop], "big")
        if value > _UNSIGNED_MAX.get(tag, 0xFFFFFFFFFFFFFFFF):
            raise BerError(f"{tag_name(tag)} out of range")
        return value
    if tag in _NONE_TAGS:
        if size:
            raise BerError(f"{tag_name(tag)} with content")
        return None
    raise BerError(f"unknown value type 0x{tag:02x}")


@dataclass(frozen=True, slots=True)
class Pdu:
    pdu: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]


PDU_TYPES = frozenset((GET, GETNEXT, RESPONSE, GETBULK, INFORM, TRAP_V2, REPORT))


def decode_pdu(buf: bytes, pos: int, end: int) -> Pdu:
    """Decode the PDU element at ``pos`` (which must fill the rest up to ``end``)."""
    pdu, pos, pdu_end = _header(buf, pos, end)
    if pdu not in PDU_TYPES:
        raise BerError(f"unsupported PDU type 0x{pdu:02x}")
    if pdu_end != end:
        raise BerError("trailing bytes after the PDU")
    request_id, pos = _integer(buf, pos, pdu_end, "request-id")
    error_status, pos = _integer(buf, pos, pdu_end, "error-status")
    error_index, pos = _integer(buf, pos, pdu_end, "error-index")
    tag, pos, list_end = _header(buf, pos, pdu_end)
    if tag != SEQUENCE:
        raise BerError("varbind list: expected SEQUENCE")
    varbinds: list[VarBind] = []
    append = varbinds.append
    while pos < list_end:
        if len(varbinds) >= MAX_VARBINDS:
            raise BerError(f"more than {MAX_VARBINDS} varbinds")
        tag, pos, vb_end = _header(buf, pos, list_end)
        if tag != SEQUENCE:
            raise BerError(f"varbind {len(varbinds)}: expected SEQUENCE")
        tag, ostart, pos = _header(buf, pos, vb_end)
        if tag != OBJECT_IDENTIFIER or ostart == pos:
            raise BerError(f"varbind {len(varbinds)}: expected an OID")
        vtag, vstart, vstop = _header(buf, pos, vb_end)
        if vstop != vb_end:
            raise BerError(f"varbind {len(varbinds)}: trailing bytes")
        append((buf[ostart:pos], vtag, decode_value(vtag, buf, vstart, vstop)))
        pos = vb_end
    return Pdu(pdu, request_id, error_status, error_index, varbinds)


def decode_message(buf: bytes) -> Message:
    """Decode an SNMPv1/v2c message (any PDU but the v1 trap)."""
    end = len(buf)
    tag, pos, stop = _header(buf, 0, end)
    if tag != SEQUENCE or stop != end:
        raise BerError("not an SNMP message")
    version, pos = _integer(buf, pos, end, "version")
    tag, cstart, pos = _header(buf, pos, end)
    if tag != OCTET_STRING:
        raise BerError(f"community: expected OCTET STRING, got {tag_name(tag)}")
    community = buf[cstart:pos]
    p = decode_pdu(buf, pos, end)
    return Message(
        version, community, p.pdu, p.request_id, p.error_status, p.error_index, p.varbinds
    )


# The element readers, for the SNMPv3 header (probes.usm).
read_header = _header
read_integer = _integer
