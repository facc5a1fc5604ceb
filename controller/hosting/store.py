"""Hosting requests, their allocations and their audit trail in SQLite.

``<state-dir>/hosting.db`` in WAL mode (readers never wait for a writer), ``synchronous
FULL`` (a recorded step survives a power cut), one short-lived connection per operation
(safe from any thread), every change in a ``BEGIN IMMEDIATE`` transaction.

Tables: ``requests`` (the request as submitted, its state), ``events`` (every step:
when, who, action, from → to, why, detail), ``allocations`` (every allocation ever made,
kept after a decommission so allocation ids are never reused).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.hosting.errors import HostingError, UnknownRequest
from controller.hosting.request import HostingRequest, Site
from controller.hosting.states import Action, State
from controller.inventory.model import Hosting

DB_NAME = "hosting.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    inventory TEXT NOT NULL,
    tenant TEXT NOT NULL,
    service TEXT NOT NULL,
    site TEXT NOT NULL,
    units INTEGER NOT NULL,
    servers INTEGER NOT NULL,
    power_kw REAL NOT NULL,
    vlans INTEGER NOT NULL,
    prefix_len INTEGER NOT NULL,
    bandwidth_mbps REAL NOT NULL,
    contact TEXT NOT NULL,
    justification TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_tenant ON requests (tenant);
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    why TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_request ON events (request_id);
CREATE TABLE IF NOT EXISTS allocations (
    inventory TEXT NOT NULL,
    id TEXT NOT NULL,
    number INTEGER NOT NULL,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    datacentre TEXT NOT NULL,
    data TEXT NOT NULL,
    made_at TEXT NOT NULL,
    freed_at TEXT,
    PRIMARY KEY (inventory, id)
);
CREATE INDEX IF NOT EXISTS allocations_request ON allocations (request_id);
"""
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


_ready: set[str] = set()
_ready_guard = threading.Lock()


class Store:
    """The hosting database under a state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / DB_NAME

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HostingError(f"{self.path.parent}: cannot create the state dir: {exc}") from exc
        try:
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise HostingError(f"{self.path}: cannot open: {exc}") from exc
        with closing(conn):
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            key = str(self.path.resolve())
            if key not in _ready:
                with _ready_guard:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.executescript(SCHEMA)
                    _ready.add(key)
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception)."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- writing (inside a transaction) -----------------------------------------------

    @staticmethod
    def insert(conn: sqlite3.Connection, inventory: str, request: HostingRequest, who: str) -> int:
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
        conn: sqlite3.Connection,
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
        conn: sqlite3.Connection, inventory: str, ident: int, allocs: list[Hosting]
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

    @staticmethod
    def free_allocations(conn: sqlite3.Connection, ident: int) -> None:
        conn.execute(
            "UPDATE allocations SET freed_at = ? WHERE request_id = ? AND freed_at IS NULL",
            (now(), ident),
        )

    # --- reading ----------------------------------------------------------------------

    @staticmethod
    def id_floor(conn: sqlite3.Connection, inventory: str) -> int:
        row = conn.execute(
            "SELECT MAX(number) FROM allocations WHERE inventory = ?", (inventory,)
        ).fetchone()
        return int(row[0] or 0)

    @staticmethod
    def row(conn: sqlite3.Connection, ident: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM requests WHERE id = ?", (ident,)).fetchone()
        if row is None:
            raise UnknownRequest(f"no hosting request {ident}")
        return row

    @staticmethod
    def record(conn: sqlite3.Connection, row: sqlite3.Row, events: bool = True) -> RequestRecord:
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
        if not self.path.exists():  # reading never creates the database
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
        if not self.path.exists():
            return []
        with self.connect() as conn:
            rows = conn.execute(query, (*args, limit)).fetchall()
            return [self.record(conn, r, events=False) for r in rows]

    def ever(self, ident: int, action: Action) -> bool:
        if not self.path.exists():
            return False
        with self.connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM events WHERE request_id = ? AND action = ? LIMIT 1",
                (ident, action.value),
            ).fetchone()
            return row is not None


def _number(ident: str) -> int:
    digits = ident.rpartition("-")[2]
    return int(digits) if digits.isdigit() else 0
