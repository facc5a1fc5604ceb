"""The state govnet keeps (hosting workflow, console sessions), behind one small interface.

    from controller.store import open_database

    db = open_database(state_dir / "hosting.db", "hosting")   # migrated to the newest version
    with db.transaction() as tx:                                # BEGIN IMMEDIATE … COMMIT
        tx.execute("INSERT INTO t (a) VALUES (?)", (1,))
    with db.connect() as conn:                                  # reading
        rows = conn.execute("SELECT a FROM t").fetchall()       # rows are mappings

The interface (:class:`Database`, :class:`Connection`, :class:`Cursor`) is what callers
see; SQL is written once, for SQLite, with ``?`` placeholders and portable types. Two
backends:

- SQLite (the default; :mod:`controller.store.sqlite`, the only module that imports
  sqlite3): one file per store in the state dir — WAL, a busy timeout, files created
  mode 0600.
- PostgreSQL when ``GOVNET_DATABASE_URL`` is set (:mod:`controller.store.postgres`, the
  only module that imports psycopg): one schema per store in one database, shared by
  every controller pointed at it; the SQL is translated there.

Every engine error is translated into :class:`StoreError`. Schemas are versioned
migrations beside this package (``migrations/<schema>/NNNN_name.sql``), applied in order
and recorded in the database, the same files for both backends.
"""

from __future__ import annotations

import os
from pathlib import Path

from controller.store.base import (
    ConflictError,
    Connection,
    Cursor,
    Database,
    Row,
    StoreError,
    store_timeout,
)
from controller.store.migrations import Migration, migrations_of

URL_VARIABLE = "GOVNET_DATABASE_URL"

__all__ = [
    "URL_VARIABLE",
    "ConflictError",
    "Connection",
    "Cursor",
    "Database",
    "Migration",
    "Row",
    "StoreError",
    "database_url",
    "migrations_of",
    "open_database",
]


def database_url() -> str | None:
    """``GOVNET_DATABASE_URL`` when set (then every store is in that PostgreSQL database)."""
    return os.environ.get(URL_VARIABLE, "").strip() or None


def open_database(path: Path, schema: str, durable: bool = True) -> Database:
    """The store ``schema``: the SQLite file at ``path``, or — with ``GOVNET_DATABASE_URL``
    set — its schema in that PostgreSQL database (created and migrated on first use).

    ``durable=False`` is for state that may lose its last changes in a power cut (console
    sessions: people sign in again), not a workflow's record (PostgreSQL: always durable)."""
    url = database_url()
    if url is not None:
        from controller.store.postgres import open_postgres

        return open_postgres(url, migrations_of(schema), store_timeout())
    from controller.store.sqlite import SqliteDatabase

    return SqliteDatabase(path, migrations_of(schema), durable)
