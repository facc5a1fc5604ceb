"""The state govnet keeps (hosting workflow, console sessions), behind one small interface.

    from controller.store import open_database

    db = open_database(state_dir / "hosting.db", "hosting")   # migrated to the newest version
    with db.transaction() as tx:                                # BEGIN IMMEDIATE … COMMIT
        tx.execute("INSERT INTO t (a) VALUES (?)", (1,))
    with db.connect() as conn:                                  # reading
        rows = conn.execute("SELECT a FROM t").fetchall()       # rows are mappings

The interface (:class:`Database`, :class:`Connection`, :class:`Cursor`) is what callers
see; SQL is written with ``?`` placeholders and portable types so that a PostgreSQL
backend can follow behind the same interface. Today's backend is SQLite
(:mod:`controller.store.sqlite`, the only module that imports sqlite3): WAL, a busy
timeout, files created mode 0600, every engine error translated into
:class:`StoreError`. Schemas are versioned migrations beside this package
(``migrations/<schema>/NNNN_name.sql``), applied in order and recorded in the database.
"""

from __future__ import annotations

from pathlib import Path

from controller.store.base import Connection, Cursor, Database, Row, StoreError
from controller.store.migrations import Migration, migrations_of

__all__ = [
    "Connection",
    "Cursor",
    "Database",
    "Migration",
    "Row",
    "StoreError",
    "migrations_of",
    "open_database",
]


def open_database(path: Path, schema: str, durable: bool = True) -> Database:
    """The database file at ``path`` holding ``schema`` (created and migrated on first use).

    ``durable=False`` is for state that may lose its last changes in a power cut (console
    sessions: people sign in again), not a workflow's record."""
    from controller.store.sqlite import SqliteDatabase

    return SqliteDatabase(path, migrations_of(schema), durable)
