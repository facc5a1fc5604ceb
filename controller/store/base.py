"""The store interface: what the hosting workflow and the console's sessions rely on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from controller.errors import GovnetError

Row = Mapping[str, Any]
Params = Sequence[Any]


class StoreError(GovnetError):
    """The state database cannot be opened, read or written (locked, full, read-only…)."""


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
    def location(self) -> str: ...

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
        """The newest migration applied."""
        ...
