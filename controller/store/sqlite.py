"""The SQLite backend — the only module that imports sqlite3.

One short-lived connection per operation (safe from any thread and process), WAL mode
(readers never wait for a writer), ``synchronous FULL`` (a committed step survives a
power cut; ``durable=False``: NORMAL), a busy timeout (``GOVNET_STORE_TIMEOUT`` seconds,
default 60) before a writer gives up on a lock, foreign keys on. The file is created
mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the same mode) and an older,
wider mode is narrowed. Every sqlite3 error — at connect, in a statement, at COMMIT —
becomes one :class:`StoreError` line naming the file and what to do.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.store.base import ConflictError, Connection, StoreError, store_timeout
from controller.store.migrations import Migration

MODE = 0o600
_migrated: set[tuple[str, int]] = set()
_migrating = threading.Lock()


def _dict_row(cursor: sqlite3.Cursor, row: Sequence[Any]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def explain(path: Path, exc: sqlite3.Error, timeout: float) -> str:
    """One line for a user: which file, what went wrong, what to do."""
    text = str(exc)
    name = getattr(exc, "sqlite_errorname", "")  # e.g. SQLITE_IOERR_WRITE
    lowered = f"{text} {name}".lower()
    if "locked" in lowered or "busy" in lowered:
        return (
            f"{path}: the database is locked by another govnet process (waited {timeout:g} s); "
            "try again when it has finished"
        )
    if "full" in lowered:
        return f"{path}: the disk is full ({text}); free some space and try again"
    if "readonly" in lowered or "read-only" in lowered:
        return (
            f"{path}: the database is read-only ({text}): check that its file system is "
            "mounted read-write and the file's mode"
        )
    if "not a database" in lowered or "malformed" in lowered:
        return f"{path}: not a readable govnet database ({text}): restore it from a backup"
    if "disk i/o" in lowered or "ioerr" in lowered:
        return (
            f"{path}: cannot write to the disk ({name or text}): the disk may be full or "
            "failing; free some space and check the file system"
        )
    if "unable to open" in lowered:
        return f"{path}: cannot open the database ({text})"
    return f"{path}: database error: {text}"


def _split(script: str) -> list[str]:
    """The statements of a migration, one by one (so they run inside one transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise StoreError(f"an incomplete SQL statement in a migration: {current[:60]!r}")
    return statements


class SqliteDatabase:
    """A SQLite file holding one schema, migrated on first use in this process."""

    def __init__(self, path: Path, migrations: Sequence[Migration], durable: bool = True) -> None:
        self.path = path
        self.migrations = tuple(migrations)
        # FULL: a commit survives a power cut; NORMAL (WAL): it survives a crash of the
        # process, and the database stays consistent, but the last commits may be lost.
        self._synchronous = "FULL" if durable else "NORMAL"
        # An idle connection held while this object lives: closing the last connection
        # to a WAL database checkpoints and fsyncs it (≈15 ms a write); with this one
        # open, short-lived connections close cheaply (≈1 ms a write, measured).
        self._keeper: sqlite3.Connection | None = None
        self._keeper_lock = threading.Lock()

    backend = "sqlite"

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def newest(self) -> int:
        return len(self.migrations)

    def lock(self, conn: Connection, name: str) -> None:
        """Nothing to take: ``BEGIN IMMEDIATE`` already made this the file's only writer."""

    def exists(self) -> bool:
        return self.path.exists()

    def _create(self) -> int:
        """Create the file 0600 (or narrow an existing one's mode); its inode.

        The file is opened here only when it does not exist yet: closing a descriptor of a
        file SQLite has open in this process would drop SQLite's POSIX locks on it."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path.parent}: cannot create the state dir: {exc}") from exc
        try:
            if not self.path.exists():
                with contextlib.suppress(FileExistsError):  # made by another just now
                    os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE))
            info = self.path.stat()
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create: {exc.strerror or exc}") from exc
        if stat.S_IMODE(info.st_mode) & 0o077:
            try:
                for path in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                    if path.exists():
                        os.chmod(path, MODE)
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot set its mode to 0600: {exc}") from exc
        return info.st_ino

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        inode = self._create()
        timeout = store_timeout()
        try:
            conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(explain(self.path, exc, timeout)) from exc
        with closing(conn):
            try:
                conn.row_factory = _dict_row
                conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute(f"PRAGMA synchronous = {self._synchronous}")
                key = (str(self.path.resolve()), inode)
                if key not in _migrated:
                    with _migrating:
                        conn.execute("PRAGMA journal_mode = WAL")
                        self._migrate(conn)
                        _migrated.add(key)
                self._keep()
                yield conn
            except sqlite3.IntegrityError as exc:
                if "UNIQUE" in str(exc):
                    raise ConflictError(f"{self.path}: {exc}") from exc
                raise StoreError(explain(self.path, exc, timeout)) from exc
            except sqlite3.Error as exc:
                raise StoreError(explain(self.path, exc, timeout)) from exc

    def _keep(self) -> None:
        if self._keeper is not None:
            return
        with self._keeper_lock:
            if self._keeper is None:
                keeper = sqlite3.connect(self.path, check_same_thread=False)
                keeper.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()
                self._keeper = keeper

    def close(self) -> None:
        """Close the idle connection (it also closes when this object is collected)."""
        with self._keeper_lock:
            if self._keeper is not None:
                self._keeper.close()
                self._keeper = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def version(self) -> int:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT MAX(version) AS version FROM schema_migrations WHERE schema = ?",
                (self._schema(),),
            ).fetchone()
            return int(row["version"] or 0) if row else 0

    def applied(self) -> int:
        if not self.path.exists():
            return 0
        timeout = store_timeout()
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise StoreError(explain(self.path, exc, timeout)) from exc
        with closing(conn):
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                known = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    ("schema_migrations",),
                ).fetchone()
                if known is None:
                    return 0
                row = conn.execute(
                    "SELECT MAX(version) FROM schema_migrations WHERE schema = ?",
                    (self._schema(),),
                ).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(explain(self.path, exc, timeout)) from exc
        return int(row[0] or 0) if row else 0

    def _schema(self) -> str:
        return self.migrations[0].schema if self.migrations else ""

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (schema TEXT NOT NULL, "
            "version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, "
            "PRIMARY KEY (schema, version))"
        )
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT MAX(version) AS version FROM schema_migrations WHERE schema = ?",
                (self._schema(),),
            ).fetchone()
            have = int(row["version"] or 0) if row else 0
            newest = len(self.migrations)
            if have > newest:
                raise StoreError(
                    f"{self.path}: schema {self._schema()!r} is at version {have}, newer than "
                    f"this govnet knows ({newest}): upgrade govnet"
                )
            for migration in self.migrations[have:]:
                for statement in _split(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (schema, version, name, applied_at) "
                    "VALUES (?, ?, ?, ?)",
                    (
                        migration.schema,
                        migration.version,
                        migration.name,
                        datetime.now(UTC).isoformat(timespec="seconds"),
                    ),
                )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
