"""What govnet polls over SNMP, and the pure walk that turns GETBULK replies into data.

One GETBULK per round: the system group as two non-repeaters (GETNEXT of sysUpTime and
sysName yields their ``.0`` instances) and the IF-MIB columns as repeaters: eleven with
ifXTable's 64-bit counters (:data:`HC_COLUMNS`), or — for an agent without ifXTable —
ifTable's 32-bit octet counters and ifSpeed (:data:`C32_COLUMNS`), which the poller
extends across wraps (:mod:`probes.counters`).
Further rounds continue only the columns that have not left their subtree. The walk is
transport-agnostic: the lean v2c client and the pysnmp v3 adapter both feed it
``(oid, tag, value)`` varbinds.

Every reply is checked: types per column, index form, strictly increasing OIDs, row and
round counts. Anything wrong raises :class:`WalkError` with a short reason, and the
target is reported down with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from probes.ber import (
    COUNTER32,
    COUNTER64,
    END_OF_MIB_VIEW,
    GAUGE32,
    INTEGER,
    OCTET_STRING,
    TIMETICKS,
    Value,
    VarBind,
    encode_oid,
    oid_text,
    tag_name,
)
from probes.model import Interface

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)


@dataclass(frozen=True)
class Column:
    name: str
    oid: tuple[int, ...]
    tag: int
    required: bool = True

    @property
    def prefix(self) -> bytes:
        return encode_oid(self.oid)


_IF_TABLE: tuple[Column, ...] = (
    Column("ifDescr", (*IF_ENTRY, 2), OCTET_STRING),
    Column("ifAdminStatus", (*IF_ENTRY, 7), INTEGER),
    Column("ifOperStatus", (*IF_ENTRY, 8), INTEGER),
    Column("ifInDiscards", (*IF_ENTRY, 13), COUNTER32),
    Column("ifInErrors", (*IF_ENTRY, 14), COUNTER32),
    Column("ifOutDiscards", (*IF_ENTRY, 19), COUNTER32),
    Column("ifOutErrors", (*IF_ENTRY, 20), COUNTER32),
)
IFX_COLUMNS: tuple[Column, ...] = (
    Column("ifName", (*IFX_ENTRY, 1), OCTET_STRING),
    Column("ifHCInOctets", (*IFX_ENTRY, 6), COUNTER64),
    Column("ifHCOutOctets", (*IFX_ENTRY, 10), COUNTER64),
    Column("ifHighSpeed", (*IFX_ENTRY, 15), GAUGE32),
)
HC_COLUMNS: tuple[Column, ...] = _IF_TABLE + IFX_COLUMNS
C32_COLUMNS: tuple[Column, ...] = (
    *_IF_TABLE,
    Column("ifSpeed", (*IF_ENTRY, 5), GAUGE32),
    Column("ifInOctets", (*IF_ENTRY, 10), COUNTER32),
    Column("ifOutOctets", (*IF_ENTRY, 16), COUNTER32),
)
COLUMNS = HC_COLUMNS  # what a walk asks by default (and what bench/probes.py's peer polls)
_IFX_NAMES = frozenset(c.name for c in IFX_COLUMNS)
_SYS_UPTIME_0 = encode_oid((*SYS_UPTIME, 0))
_SYS_NAME_0 = encode_oid((*SYS_NAME, 0))
NON_REPEATERS = (encode_oid(SYS_UPTIME), encode_oid(SYS_NAME))
MAX_NAME = 128


class WalkError(Exception):
    """A reply that cannot be trusted; the message is the reason shown for the target."""


class NoIfXTable(WalkError):
    """ifTable answered but ifXTable is absent: walk again with :data:`C32_COLUMNS`."""


@dataclass(frozen=True)
class Request:
    non_repeaters: int
    max_repetitions: int
    oids: list[bytes]


@dataclass(frozen=True)
class Limits:
    max_rows: int = 4096  # interfaces per device
    max_rounds: int = 64  # GETBULK requests per target per cycle


def _index(oid: bytes, prefix: bytes) -> int:
    """The single ifIndex sub-identifier after ``prefix`` (WalkError otherwise)."""
    rest = oid[len(prefix) :]
    value = 0
    for i, byte in enumerate(rest):
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            if i != len(rest) - 1:
                raise WalkError(f"{oid_text(oid)}: index is not a single ifIndex")
            if value < 1 or value > 0x7FFFFFFF:
                raise WalkError(f"{oid_text(oid)}: ifIndex out of range")
            return value
        if i >= 4:
            break
    raise WalkError(f"{oid_text(oid)}: bad index")


def _text(value: bytes) -> str:
    text = value[: MAX_NAME * 4].decode("utf-8", "replace")
    return "".join(ch for ch in text if ch.isprintable())[:MAX_NAME]


class Walk:
    """One target's walk for one cycle: ``request()`` → send → ``feed(varbinds)`` until
    ``done``, then ``result()``."""

    def __init__(
        self,
        max_repetitions: int = 12,
        limits: Limits | None = None,
        columns: tuple[Column, ...] = HC_COLUMNS,
    ) -> None:
        self.max_repetitions = max(1, min(max_repetitions, 64))
        self.limits = limits or Limits()
        self.spec = columns
        self._prefixes = tuple(c.prefix for c in columns)
        self._index = {c.name: i for i, c in enumerate(columns)}
        self.rounds = 0
        self.rounds_before = 0  # requests an earlier walk of this cycle spent (no ifXTable)
        self.values = 0
        self.uptime_ticks: int | None = None
        self.sys_name: str | None = None
        self.cells: list[dict[int, Value]] = [{} for _ in columns]
        self._last: dict[int, bytes] = {i: c.prefix for i, c in enumerate(columns)}
        self._last_index: dict[int, int] = {}
        self._request: Request | None = None
        self._columns: list[int] = []

    @property
    def done(self) -> bool:
        return self.rounds > 0 and not self._last

    def request(self) -> Request:
        if self.done:
            raise WalkError("walk already finished")
        if self.rounds >= self.limits.max_rounds:
            raise WalkError(f"walk did not finish within {self.limits.max_rounds} requests")
        self._columns = sorted(self._last)
        oids = [self._last[i] for i in self._columns]
        if self.rounds == 0:
            self._request = Request(2, self.max_repetitions, [*NON_REPEATERS, *oids])
        else:
            self._request = Request(0, self.max_repetitions, oids)
        return self._request

    def feed(self, varbinds: list[VarBind]) -> None:
        request = self._request
        if request is None:
            raise WalkError("reply without a request")
        self._request = None
        self.rounds += 1
        nr = request.non_repeaters
        width = len(self._columns)
        if len(varbinds) > nr + width * request.max_repetitions:
            raise WalkError(f"reply has {len(varbinds)} varbinds, more than requested")
        if nr:
            if len(varbinds) < nr:
                raise WalkError("reply lacks the system group")
            self._system(varbinds[0], varbinds[1])
        progressed = False
        finished: set[int] = set()
        last = self._last
        cells = self.cells
        max_rows = self.limits.max_rows
        for j in range(nr, len(varbinds)):
            col = self._columns[(j - nr) % width]
            if col in finished:
                continue
            oid, tag, value = varbinds[j]
            prefix = self._prefixes[col]
            if tag == END_OF_MIB_VIEW or not oid.startswith(prefix) or len(oid) == len(prefix):
                finished.add(col)
                continue
            column = self.spec[col]
            if tag != column.tag:
                raise WalkError(
                    f"{column.name}: expected {tag_name(column.tag)}, got {tag_name(tag)}"
                )
            row = cells[col]
            index = _index(oid, prefix)
            if index <= self._last_index.get(col, 0):
                raise WalkError(f"{oid_text(oid)}: OIDs not increasing")
            self._last_index[col] = index
            if len(row) >= max_rows:
                raise WalkError(f"{column.name}: more than {max_rows} rows")
            row[index] = value
            last[col] = oid
            progressed = True
            self.values += 1
        for col in finished:
            del last[col]
        if last and not progressed and not finished:
            raise WalkError("reply made no progress")

    def _system(self, uptime: VarBind, name: VarBind) -> None:
        oid, tag, value = uptime
        if oid != _SYS_UPTIME_0:
            raise WalkError("sysUpTime.0 missing")
        if tag != TIMETICKS or not isinstance(value, int):
            raise WalkError(f"sysUpTime: expected TimeTicks, got {tag_name(tag)}")
        oid, tag, value = name
        if oid != _SYS_NAME_0:
            raise WalkError("sysName.0 missing")
        if tag != OCTET_STRING or not isinstance(value, bytes):
            raise WalkError(f"sysName: expected OCTET STRING, got {tag_name(tag)}")
        self.uptime_ticks = value_int(uptime[2])
        self.sys_name = _text(value)
        self.values += 2

    def interfaces(self) -> tuple[Interface, ...]:
        """The interface rows, checked: a required column with no rows at all, while
        others have rows, means the agent hid or lost it."""
        indices = sorted(set().union(*(row.keys() for row in self.cells)))
        if not indices:
            return ()
        empty = {c.name for c, row in zip(self.spec, self.cells, strict=True) if not row}
        if {c.name for c in self.spec} >= _IFX_NAMES and empty >= _IFX_NAMES:
            raise NoIfXTable("no ifXTable")
        for column in self.spec:
            if column.required and column.name in empty:
                raise WalkError(f"missing column {column.name}")
        return tuple(self._row(i) for i in indices)

    def _row(self, index: int) -> Interface:
        def cell(name: str) -> Value:
            at = self._index.get(name)
            return None if at is None else self.cells[at].get(index)

        oper, admin = cell("ifOperStatus"), cell("ifAdminStatus")
        if isinstance(oper, int) and not 1 <= oper <= 7:
            raise WalkError(f"ifOperStatus.{index}: {oper} is not a status")
        if isinstance(admin, int) and not 1 <= admin <= 3:
            raise WalkError(f"ifAdminStatus.{index}: {admin} is not a status")
        raw_name = cell("ifName") or cell("ifDescr")
        name = _text(raw_name) if isinstance(raw_name, bytes) else ""
        high_speed, speed = cell("ifHighSpeed"), cell("ifSpeed")
        hc = "ifHCInOctets" in self._index
        return Interface(
            index=index,
            name=name or f"if{index}",
            oper_up=None if oper is None else oper == 1,
            admin_up=None if admin is None else admin == 1,
            in_octets=value_int(cell("ifHCInOctets" if hc else "ifInOctets")),
            out_octets=value_int(cell("ifHCOutOctets" if hc else "ifOutOctets")),
            octet_bits=64 if hc else 32,
            in_errors=value_int(cell("ifInErrors")),
            out_errors=value_int(cell("ifOutErrors")),
            in_discards=value_int(cell("ifInDiscards")),
            out_discards=value_int(cell("ifOutDiscards")),
            speed_bps=high_speed * 1_000_000
            if isinstance(high_speed, int)
            else speed
            if isinstance(speed, int)
            else None,
        )


def value_int(value: Value) -> int | None:
    return value if isinstance(value, int) else None
