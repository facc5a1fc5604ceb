"""Hosting requests, their allocations and their audit trail, in the state store.

``<state-dir>/hosting.db`` through :mod:`controller.store` (SQLite: WAL, ``synchronous
FULL``, a busy timeout, mode 0600, versioned migrations; database errors become one
``StoreError`` line), one short-lived connection per operation (safe from any thread),
every change in one write transaction.

Tables: ``requests`` (the request as submitted, its state), ``events`` (every step:
when, who, action, from → to, why, detail), ``allocations`` (every allocation ever made,
kept after a decommission so allocation ids are never reused), ``allocation_claims``
(one row per rack unit, VLAN, /29 block and ToR port a live allocation holds, unique: the
database itself refuses a double allocation, from any controller sharing it).

With ``GOVNET_DATABASE_URL`` the same tables live in PostgreSQL (schema ``govnet_hosting``),
shared by every controller pointed at it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.hosting.errors import UnknownRequest
from controller.hosting.request import HostingRequest, Site
from controller.hosting.states import Action, State
from controller.inventory.model import Hosting
from controller.store import Connection, Row, open_database

CLAIM_BLOCK = 29
"""Address space is claimed in /29 blocks (the smallest prefix a request may ask for)."""

DB_NAME = "hosting.db"
SCHEMA = "hosting"  # controller/store/migrations/hosting/
REQUEST_FIELDS = (
    "tenant",
    "service",
    "site",
    "units",
    "servers",
    "power_kw",
    "vlans",
    "prefix_len",
    "bandwidth_mbps",
    "contact",
    "justification",
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Event:
    at: str
    who: str
    action: str
    from_state: str | None
    to_state: str
    why: str
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "who": self.who,
            "action": self.action,
            "from": self.from_state,
            "to": self.to_state,
            "why": self.why,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RequestRecord:
    id: int
    inventory: str
    request: HostingRequest
    state: State
    created_at: str
    created_by: str
    updated_at: str
    allocations: list[Hosting] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def as_dict(self, with_events: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "state": self.state.value,
            **self.request.as_dict(),
            "inventory": self.inventory,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "updated_at": self.updated_at,
            "allocations": [a.model_dump(mode="json", exclude_none=True) for a in self.allocations],
        }
        if with_events:
            out["events"] = [e.as_dict() for e in self.events]
        return out


class Store:
    """The hosting database under a state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / DB_NAME
        self.database = open_database(self.path, SCHEMA)

    @property
    def shared(self) -> bool:
        """Whether other controllers (other state dirs, other checkouts) use this database."""
        return self.database.backend != "sqlite"

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.database.connect() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: committed at the end, rolled back on any exception."""
        with self.database.transaction() as conn:
            yield conn

    # --- writing (inside a transaction) -----------------------------------------------

    @staticmethod
    def insert(conn: Connection, inventory: str, request: HostingRequest, who: str) -> int:
        at = now()
        values = request.as_dict()
        cur = conn.execute(
            f"INSERT INTO requests (inventory, {', '.join(REQUEST_FIELDS)}, state, created_at, "
            f"created_by, updated_at) VALUES (?, {', '.join('?' for _ in REQUEST_FIELDS)}, "
            "?, ?, ?, ?)",
            (inventory, *(values[f] for f in REQUEST_FIELDS), State.SUBMITTED.value, at, who, at),
        )
        ident = int(cur.lastrowid or 0)
        Store.event(conn, ident, who, Action.SUBMIT, None, State.SUBMITTED, "")
        return ident

    @staticmethod
    def event(
        conn: Connection,
        ident: int,
        who: str,
        action: Action,
        from_state: State | None,
        to_state: State,
        why: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        at = now()
        conn.execute(
            "INSERT INTO events (request_id, at, who, action, from_state, to_state, why, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ident,
                at,
                who,
                action.value,
                from_state.value if from_state else None,
                to_state.value,
                why,
                json.dumps(detail or {}, default=str),
            ),
        )
        conn.execute(
            "UPDATE requests SET state = ?, updated_at = ? WHERE id = ?",
            (to_state.value, at, ident),
        )

    @staticmethod
    def add_allocations(
        conn: Connection, inventory: str, ident: int, allocs: list[Hosting]
    ) -> None:
        at = now()
        conn.executemany(
            "INSERT INTO allocations (inventory, id, number, request_id, datacentre, data, "
            "made_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    inventory,
                    a.id,
                    _number(a.id),
                    ident,
                    a.datacentre,
                    a.model_dump_json(exclude_none=True),
                    at,
                )
                for a in allocs
            ],
        )
        conn.executemany(
            "INSERT INTO allocation_claims (inventory, kind, item, allocation_id, request_id) "
            "VALUES (?, ?, ?, ?, ?)",
            [(inventory, kind, item, a.id, ident) for a in allocs for kind, item in claims(a)],
        )

    @staticmethod
    def free_allocations(conn: Connection, ident: int) -> None:
        conn.execute(
            "UPDATE allocations SET freed_at = ? WHERE request_id = ? AND freed_at IS NULL",
            (now(), ident),
        )
        conn.execute("DELETE FROM allocation_claims WHERE request_id = ?", (ident,))

    @staticmethod
    def live_allocations(conn: Connection, inventory: str) -> list[Hosting]:
        """Every allocation of ``inventory`` not freed, oldest first (from any controller)."""
        return [
            Hosting.model_validate_json(r["data"])
            for r in conn.execute(
                "SELECT data FROM allocations WHERE inventory = ? AND freed_at IS NULL "
                "ORDER BY number",
                (inventory,),
            )
        ]

    # --- reading ----------------------------------------------------------------------

    @staticmethod
    def id_floor(conn: Connection, inventory: str) -> int:
        row = conn.execute(
            "SELECT MAX(number) AS floor FROM allocations WHERE inventory = ?", (inventory,)
        ).fetchone()
        return int(row["floor"] or 0) if row else 0

    @staticmethod
    def row(conn: Connection, ident: int) -> Row:
        row = conn.execute("SELECT * FROM requests WHERE id = ?", (ident,)).fetchone()
        if row is None:
            raise UnknownRequest(f"no hosting request {ident}")
        return row

    @staticmethod
    def record(conn: Connection, row: Row, events: bool = True) -> RequestRecord:
        request = HostingRequest.model_construct(
            **{f: row[f] for f in REQUEST_FIELDS if f != "site"},
            site=Site(row["site"]),
        )
        allocs = [
            Hosting.model_validate_json(r["data"])
            for r in conn.execute(
                "SELECT data FROM allocations WHERE request_id = ? AND freed_at IS NULL "
                "ORDER BY number",
                (row["id"],),
            )
        ]
        history: list[Event] = []
        if events:
            history = [
                Event(
                    e["at"],
                    e["who"],
                    e["action"],
                    e["from_state"],
                    e["to_state"],
                    e["why"],
                    json.loads(e["detail"]),
                )
                for e in conn.execute(
                    "SELECT * FROM events WHERE request_id = ? ORDER BY id", (row["id"],)
                )
            ]
        return RequestRecord(
            int(row["id"]),
            str(row["inventory"]),
            request,
            State(row["state"]),
            str(row["created_at"]),
            str(row["created_by"]),
            str(row["updated_at"]),
            allocs,
            history,
        )

    def get(self, ident: int) -> RequestRecord:
        if not self.database.exists():  # reading never creates the database
            raise UnknownRequest(f"no hosting request {ident}")
        with self.connect() as conn:
            return self.record(conn, self.row(conn, ident))

    def list(
        self, *, tenant: str | None = None, state: State | None = None, limit: int = 1000
    ) -> list[RequestRecord]:
        query = "SELECT * FROM requests"
        clauses, args = [], []
        if tenant is not None:
            clauses.append("tenant = ?")
            args.append(tenant)
        if state is not None:
            clauses.append("state = ?")
            args.append(state.value)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY id DESC LIMIT ?"
        if not self.database.exists():
            return []
        with self.connect() as conn:
            rows = conn.execute(query, (*args, limit)).fetchall()
            return [self.record(conn, r, events=False) for r in rows]

    def ever(self, ident: int, action: Action) -> bool:
        if not self.database.exists():
            return False
        with self.connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM events WHERE request_id = ? AND action = ? LIMIT 1",
                (ident, action.value),
            ).fetchone()
            return row is not None


def claims(alloc: Hosting) -> list[tuple[str, str]]:
    """What ``alloc`` holds: (kind, item) rows no other live allocation may hold."""
    out = [
        ("unit", f"{alloc.datacentre}/{alloc.rack}/{u}")
        for u in range(alloc.first_u, alloc.last_u + 1)
    ]
    if alloc.vlan is not None:
        out.append(("vlan", f"{alloc.datacentre}/{alloc.vlan}"))
    if alloc.prefix is not None:
        block = max(CLAIM_BLOCK, alloc.prefix.prefixlen)
        out += [("net", str(net)) for net in alloc.prefix.subnets(new_prefix=block)]
    out += [("port", port) for port in alloc.tor_ports]
    return out


def _number(ident: str) -> int:
    digits = ident.rpartition("-")[2]
    return int(digits) if digits.isdigit() else 0
