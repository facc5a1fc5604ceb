"""The state store's SQLite backend: versioned migrations, file modes, and database
errors after connect (locked, damaged, disk full, read-only) as one line on the CLI."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from controller.hosting.store import Store
from controller.store import StoreError, migrations_of, open_database
from tests.conftest import require
from tests.hosting.conftest import (
    GOVNET,
    LAB_INVENTORY,
    REQUEST_OPTIONS,
    Workspace,
    copy_inventory,
    govnet,
    request_values,
)
from tests.store.conftest import importers_of, one_line_error

pytestmark = pytest.mark.backends("sqlite")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(copy_inventory(LAB_INVENTORY, tmp_path / "inventory"), tmp_path / "state")


def test_a_hosting_database_of_version_1_is_upgraded_in_place_keeping_its_rows(
    ws: Workspace,
) -> None:
    """A state dir made before the allocation claims (hosting version 1) opens as before."""
    ws.state.mkdir()
    path = ws.state / "hosting.db"
    first = migrations_of("hosting")[0]
    with sqlite3.connect(path) as conn:
        conn.executescript(first.sql)
        conn.execute(
            "CREATE TABLE schema_migrations (schema TEXT NOT NULL, version INTEGER NOT NULL, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (schema, version))"
        )
        conn.execute(
            "INSERT INTO schema_migrations VALUES ('hosting', 1, ?, 'then')", (first.name,)
        )
        conn.execute(
            "INSERT INTO requests (inventory, tenant, service, site, units, servers, power_kw, "
            "vlans, prefix_len, bandwidth_mbps, contact, justification, state, created_at, "
            "created_by, updated_at) VALUES (?, 'MoH', 'HMIS', 'ndc', 2, 1, 0.5, 1, 28, 1000, "
            "'Dara', 'old', 'submitted', 'then', 'erin', 'then')",
            (str(ws.inventory.resolve()),),
        )
    conn.close()
    svc = ws.service()
    assert [r.request.justification for r in svc.list()] == ["old"]
    assert svc.store.database.version() == len(migrations_of("hosting")) == 2
    record = svc.approve(1, "erin")  # and the old request is approved, its claims recorded
    with sqlite3.connect(path) as conn:
        kinds = {k for (k,) in conn.execute("SELECT kind FROM allocation_claims")}
        applied = conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
    conn.close()
    assert record.allocations and kinds == {"unit", "vlan", "net"}  # the lab has no ToR ports
    assert applied == [(1, "0001_initial.sql"), (2, "0002_claims.sql")]


def test_a_database_from_a_newer_govnet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (schema TEXT NOT NULL, version INTEGER NOT NULL, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (schema, version))"
        )
        conn.execute("INSERT INTO schema_migrations VALUES ('sessions', 99, 'x.sql', 'now')")
    with pytest.raises(StoreError, match="version 99, newer than this govnet knows"):
        open_database(path, "sessions").version()


def test_the_hosting_database_and_its_wal_files_are_private(ws: Workspace) -> None:
    ws.service().submit(
        request_values(
            contact="Dara Chan, dara@moh.gov.kh",
            justification="HMIS reporting servers for the provinces",
        ),
        "erin",
    )
    db = ws.state / "hosting.db"
    with sqlite3.connect(db) as reader:  # holds the -wal and -shm files open
        reader.execute("SELECT COUNT(*) FROM requests").fetchone()
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert path.exists(), path
            assert mode(path) == 0o600, (path, oct(mode(path)))


def test_an_older_world_readable_database_is_narrowed_to_0600(tmp_path: Path) -> None:
    (tmp_path / "hosting.db").touch(mode=0o644)
    os.chmod(tmp_path / "hosting.db", 0o644)
    Store(tmp_path).list()  # reading an existing database
    assert mode(tmp_path / "hosting.db") == 0o600


def test_a_locked_database_is_one_line_and_a_non_zero_exit(ws: Workspace) -> None:
    assert ws.cli("request", *REQUEST_OPTIONS).returncode == 0
    holder = sqlite3.connect(ws.state / "hosting.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        result = govnet(
            "hosting",
            "request",
            "-i",
            str(ws.inventory),
            "--state-dir",
            str(ws.state),
            *REQUEST_OPTIONS,
            env={"GOVNET_STORE_TIMEOUT": "0.3"},
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_line_error(result, "hosting.db", "locked by another govnet process", "waited 0.3 s")


def test_a_damaged_database_is_one_line_and_a_non_zero_exit(ws: Workspace) -> None:
    ws.state.mkdir()
    (ws.state / "hosting.db").write_bytes(b"this is not SQLite at all " * 200)
    one_line_error(ws.cli("list"), "hosting.db", "not a readable govnet database")
    one_line_error(
        ws.cli("request", *REQUEST_OPTIONS), "hosting.db", "not a readable govnet database"
    )


def test_a_full_disk_and_a_read_only_file_system_are_one_line_each(ws: Workspace) -> None:
    """In a private mount namespace (unshare -m): the state dir on a 512 KiB tmpfs is
    filled, then remounted read-only; nothing of it is visible outside the test."""
    require(os.geteuid() == 0 and shutil.which("unshare") is not None, "root and unshare")
    ws.state.mkdir()
    python, code = GOVNET[0], GOVNET[2]
    (ws.state.parent / "govnet.py").write_text(code, encoding="utf-8")
    cli = (
        f"{python} {ws.state.parent / 'govnet.py'} hosting request -i {ws.inventory} "
        f"--state-dir {ws.state} {' '.join(repr(a) for a in REQUEST_OPTIONS)}"
    )
    script = "\n".join(
        [
            "set -u",
            f"mount -t tmpfs -o size=512k,mode=0700 govnet-test {ws.state} || exit 90",
            f"{cli} >/dev/null 2>&1 || exit 91",  # the database is made while there is room
            f"dd if=/dev/zero of={ws.state}/filler bs=4k >/dev/null 2>&1",  # until full
            f"{cli} 2>&1 >/dev/null | sed 's/^/full: /'",
            f"mount -o remount,ro {ws.state} || exit 92",
            f"{cli} 2>&1 >/dev/null | sed 's/^/ro: /'",
            f"umount {ws.state}",
        ]
    )
    result = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    lines = result.stdout.strip().splitlines()
    full = [line for line in lines if line.startswith("full: ")]
    readonly = [line for line in lines if line.startswith("ro: ")]
    assert len(full) == 1 and len(readonly) == 1, lines  # one line each, no traceback
    assert "hosting.db" in full[0] and "full" in full[0], full
    assert "hosting.db" in readonly[0] and "read-only" in readonly[0].lower(), readonly


def test_only_the_sqlite_backend_imports_sqlite3() -> None:
    assert importers_of("sqlite3") == ["controller/store/sqlite.py"]
