"""The store interface: what the hosting workflow and the console's sessions rely on."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from controller.errors import GovnetError

Row = Mapping[str, Any]
Params = Sequence[Any]
DEFAULT_TIMEOUT = 60.0


class StoreError(GovnetError):
    """The state database cannot be opened, read or written (locked, full, read-only…)."""


class ConflictError(StoreError):
    """A row breaks a unique constraint (another process wrote the same key first)."""


def store_timeout() -> float:
    """How long a writer waits for another's lock: ``GOVNET_STORE_TIMEOUT`` seconds (60)."""
    raw = os.environ.get("GOVNET_STORE_TIMEOUT", "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise StoreError(f"GOVNET_STORE_TIMEOUT={raw[:20]!r}: expected seconds") from None
    if not 0 <= value <= 3600:
        raise StoreError(f"GOVNET_STORE_TIMEOUT={raw[:20]!r}: expected 0 to 3600 seconds")
    return value


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def lastrowid(self) -> int | None: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> list[Row]: ...

    def __iter__(self) -> Iterator[Row]: ...


class Connection(Protocol):
    """One connection: statements with ``?`` placeholders, rows as mappings."""

    def execute(self, sql: str, params: Params = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> Cursor: ...


class Database(Protocol):
    """A database holding one schema, migrated to its newest version on first use."""

    @property
    def backend(self) -> str:
        """``sqlite`` (a file in one state dir) or ``postgresql`` (shared by controllers)."""
        ...

    @property
    def location(self) -> str:
        """Where the data is, fit to print (a file, or a server and database, no password)."""
        ...

    @property
    def newest(self) -> int:
        """The newest migration this govnet knows for the schema."""
        ...

    def exists(self) -> bool:
        """Whether the database was ever created (reading never creates it)."""
        ...

    def connect(self) -> AbstractContextManager[Connection]:
        """A short-lived connection (autocommit: each statement on its own)."""
        ...

    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        ...

    def version(self) -> int:
        """The newest migration applied (after migrating: the newest known)."""
        ...

    def applied(self) -> int:
        """The newest migration applied so far, without migrating or creating anything
        (0: the store was never created)."""
        ...

    def lock(self, conn: Connection, name: str) -> None:
        """Hold the lock ``name`` until the transaction ``conn`` ends, across every process
        using this database (PostgreSQL: an advisory lock; SQLite: a write transaction
        already excludes every other writer of the file)."""
        ...
