"""The store interface behaves the same on both backends (every test runs on SQLite and
on a real PostgreSQL, as every test in tests/store/ does unless it says otherwise):
migrations, rows, ids, transactions, unique keys, writer locks."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path

import pytest

from controller.hosting.errors import HostingError
from controller.hosting.request import parse_request
from controller.hosting.store import Store
from controller.inventory.model import Hosting
from controller.store import ConflictError, Database, StoreError, migrations_of, open_database
from tests.hosting.conftest import LAB_INVENTORY, Workspace, copy_inventory, request_values

TITLE_ROW = (
    "INSERT INTO changes (title, reason, author, window_start, window_end, elements, impact,"
    " inventory, revision, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def change(title: str) -> tuple[str, ...]:
    return (title, "r", "erin", "s", "e", "[]", "{}", "inv", "rev", "planned", "now")


@pytest.mark.parametrize("schema", ["hosting", "changes", "sessions"])
def test_migrations_are_applied_once_in_order_and_recorded(
    backend: str, tmp_path: Path, schema: str
) -> None:
    db = open_database(tmp_path / f"{schema}.db", schema)
    assert db.backend == backend
    assert not db.exists()  # nothing made until first used
    assert db.version() == db.newest == len(migrations_of(schema)) >= 1
    assert db.exists()
    with db.connect() as conn:
        applied = conn.execute(
            "SELECT schema, version, name FROM schema_migrations ORDER BY version"
        ).fetchall()
    assert [tuple(r.values()) for r in applied] == [
        (schema, m.version, m.name) for m in migrations_of(schema)
    ]
    # another process (a new database object) applies nothing again
    assert open_database(tmp_path / f"{schema}.db", schema).version() == db.newest


def test_rows_are_mappings_ids_come_back_and_values_keep_their_size(tmp_path: Path) -> None:
    db = open_database(tmp_path / "changes.db", "changes")
    with db.transaction() as tx:
        first = tx.execute(TITLE_ROW, change("upgrade 100% of the core")).lastrowid
        second = tx.execute(TITLE_ROW, change("what? a question mark")).lastrowid
        assert tx.execute("UPDATE changes SET state = 'x' WHERE id = ?", (first,)).rowcount == 1
    assert (first, second) == (1, 2)
    with db.connect() as conn:
        # a '?' and a '%' inside a quoted string are text, not placeholders
        rows = conn.execute(
            "SELECT id, title FROM changes WHERE title LIKE '%?%' OR title = ? ORDER BY id",
            ("upgrade 100% of the core",),
        ).fetchall()
        assert [dict(r) for r in rows] == [
            {"id": 1, "title": "upgrade 100% of the core"},
            {"id": 2, "title": "what? a question mark"},
        ]
        assert conn.execute("SELECT * FROM changes WHERE id = ?", (99,)).fetchone() is None
        assert conn.execute("UPDATE changes SET state = ? WHERE id = 99", ("x",)).fetchone() is None
    hosting = open_database(tmp_path / "hosting.db", "hosting")
    big = 2**62  # SQLite's INTEGER is 64 bits: so is PostgreSQL's column
    with hosting.transaction() as tx:
        ident = tx.execute(
            "INSERT INTO requests (inventory, tenant, service, site, units, servers, power_kw, "
            "vlans, prefix_len, bandwidth_mbps, contact, justification, state, created_at, "
            "created_by, updated_at) VALUES (?, 'MoH', 's', 'ndc', ?, 1, ?, 1, 28, ?, 'c', 'j', "
            "'submitted', 'now', 'erin', 'now')",
            ("inv", big, 0.1 + 0.2, 1e-7),
        ).lastrowid
    with hosting.connect() as conn:
        row = conn.execute("SELECT units, power_kw, bandwidth_mbps FROM requests").fetchone()
    assert ident == 1 and row is not None
    assert (row["units"], row["power_kw"], row["bandwidth_mbps"]) == (big, 0.1 + 0.2, 1e-7)


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    db = open_database(tmp_path / "changes.db", "changes")
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute(TITLE_ROW, change("half done"))
        raise RuntimeError("the step after the insert failed")
    with db.connect() as conn:
        assert conn.execute("SELECT COUNT(*) AS n FROM changes").fetchone() == {"n": 0}


def test_a_duplicate_key_is_a_conflict_and_insert_or_ignore_skips_it(tmp_path: Path) -> None:
    db = open_database(tmp_path / "changes.db", "changes")
    with db.transaction() as tx:
        ident = tx.execute(TITLE_ROW, change("silenced")).lastrowid
        tx.execute("INSERT INTO change_silences (change_id, silence_id) VALUES (?, 'a')", (ident,))
    with pytest.raises(ConflictError), db.transaction() as tx:
        tx.execute("INSERT INTO change_silences (change_id, silence_id) VALUES (?, 'a')", (ident,))
    with db.transaction() as tx:
        tx.executemany(
            "INSERT OR IGNORE INTO change_silences (change_id, silence_id) VALUES (?, ?)",
            [(ident, "a"), (ident, "b")],
        )
    with db.connect() as conn:
        rows = conn.execute("SELECT silence_id FROM change_silences ORDER BY silence_id")
        assert [r["silence_id"] for r in rows] == ["a", "b"]


def test_a_writer_waits_for_another_then_gives_up_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = open_database(tmp_path / "changes.db", "changes")
    db.version()
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.transaction() as tx:
            tx.execute(TITLE_ROW, change("long"))
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        monkeypatch.setenv("GOVNET_STORE_TIMEOUT", "0.3")
        other = open_database(tmp_path / "changes.db", "changes")
        with pytest.raises(StoreError) as caught, other.transaction() as tx:
            tx.execute(TITLE_ROW, change("blocked"))
    finally:
        release.set()
        holder.join(30)
    message = str(caught.value)
    assert "locked by another govnet process (waited 0.3 s)" in message
    assert "\n" not in message
    with db.connect() as conn:
        titles = [r["title"] for r in conn.execute("SELECT title FROM changes")]
    assert titles == ["long"]


def test_a_database_from_a_newer_govnet_is_refused(tmp_path: Path) -> None:
    db = open_database(tmp_path / "sessions.db", "sessions")
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO schema_migrations (schema, version, name, applied_at) "
            "VALUES ('sessions', 99, '0099_future.sql', 'now')"
        )
    fresh = _forget_migrated(open_database(tmp_path / "sessions.db", "sessions"))
    with pytest.raises(StoreError, match="version 99, newer than this govnet knows"):
        fresh.version()


def _forget_migrated(db: Database) -> Database:
    """As a new process would: forget that this process already migrated the store."""
    from controller.store import postgres, sqlite

    postgres._migrated.clear()
    sqlite._migrated.clear()
    return db


def test_the_database_refuses_a_second_holder_of_a_unit_vlan_block_or_port(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.transaction() as conn:
        ident = store.insert(conn, "inv", parse_request(request_values()), "erin")
    held = Hosting.model_validate(
        {
            "id": "h-0100",
            "tenant": "MoH",
            "service": "HMIS",
            "datacentre": "NDC",
            "rack": "A01",
            "first_u": 5,
            "units": 2,
            "power_kw": 0.5,
            "vlan": 2000,
            "prefix": "10.100.0.64/28",
            "tor_ports": ["ndc-tor1:swp5"],
        }
    )
    apart = {"first_u": 20, "vlan": 2001, "prefix": ipaddress.ip_network("10.100.9.0/28")}
    with store.transaction() as conn:
        store.add_allocations(conn, "inv", ident, [held])
    clashes = {
        "one rack unit": {**apart, "first_u": 6, "tor_ports": []},
        "the VLAN": {**apart, "vlan": 2000, "tor_ports": []},
        "an overlapping prefix": {
            **apart,
            "prefix": ipaddress.ip_network("10.100.0.0/25"),
            "tor_ports": [],
        },
        "a ToR port": {**apart, "tor_ports": ["ndc-tor1:swp5"]},
    }
    for what, change_ in clashes.items():
        clash = held.model_copy(update={"id": "h-0101", **change_})
        with pytest.raises(ConflictError), store.transaction() as conn:
            store.add_allocations(conn, "inv", ident, [clash])
        with store.transaction() as conn:  # another network's inventory holds it freely
            store.add_allocations(conn, f"other {what}", ident, [clash])
    with store.transaction() as conn:  # freed, the unit is anybody's
        store.free_allocations(conn, ident)
        store.add_allocations(
            conn, "inv", ident, [held.model_copy(update={"id": "h-0102", "first_u": 6})]
        )


def test_an_approval_refused_by_a_claim_leaves_hosting_yaml_as_it_was(tmp_path: Path) -> None:
    """What the planner could not know (another controller's claim without its allocation)
    is refused by the database: one line, nothing allocated, the file put back."""
    ws = Workspace(copy_inventory(LAB_INVENTORY, tmp_path / "inventory"), tmp_path / "state")
    svc = ws.service()
    ident = svc.submit(request_values(), "erin").id
    before = ws.hosting_yaml.read_bytes()
    with svc.store.transaction() as conn:
        conn.execute(
            "INSERT INTO allocation_claims (inventory, kind, item, allocation_id, request_id) "
            "VALUES (?, 'vlan', 'NDC/2000', 'h-0999', ?)",
            (svc.key, ident),
        )
    with pytest.raises(HostingError, match="another controller holds part of the planned"):
        svc.approve(ident, "erin")
    assert ws.hosting_yaml.read_bytes() == before
    record = svc.get(ident)
    assert record.state.value == "submitted" and record.allocations == []


def test_a_store_test_here_runs_on_each_backend_without_asking(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """No ``backend`` argument, no marker: the test still runs once on each backend, and
    the store it opens is that backend's (tests/store/conftest.py)."""
    assert request.node.callspec.params["backend"] in {"sqlite", "postgresql"}
    db = open_database(tmp_path / "changes.db", "changes")
    assert db.backend == request.node.callspec.params["backend"]
