"""`govnet store …`: where govnet keeps its state, and at which schema versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from controller.cli import output
from controller.cli.provisioning import StateOpt
from controller.cli.state import JsonOpt
from controller.hosting.store import DB_NAME as HOSTING_DB
from controller.store import Database, database_url, open_database

app = typer.Typer(
    help="The state store: SQLite files in the state dir (default), or one PostgreSQL "
    "database shared by controllers (GOVNET_DATABASE_URL).",
    no_args_is_help=True,
)

STORES = (
    ("hosting", HOSTING_DB, "hosting requests, their allocations and steps"),
    ("changes", "changes.db", "change records"),
    ("sessions", "soc/sessions.db", "SOC console sessions"),
)
"""Every store: its schema, its SQLite file under the state dir, what it holds."""


def _databases(state_dir: Path) -> list[tuple[str, str, Database]]:
    return [
        (schema, what, open_database(state_dir / name, schema, durable=schema != "sessions"))
        for schema, name, what in STORES
    ]


def _row(schema: str, what: str, db: Database, version: int) -> dict[str, Any]:
    return {
        "store": schema,
        "holds": what,
        "backend": db.backend,
        "location": db.location,
        "version": version,
        "newest": db.newest,
        "state": "not created"
        if version == 0
        else "current"
        if version == db.newest
        else ("newer than this govnet" if version > db.newest else "migrates on first use"),
    }


def _print(rows: list[dict[str, Any]], json_out: bool) -> None:
    backend = "postgresql" if database_url() else "sqlite"
    if json_out:
        output.print_json({"backend": backend, "stores": rows})
        return
    output.console.print(
        output.table(
            f"State store: {backend}",
            ["Store", "Holds", "Location", "Version", "State"],
            [
                (r["store"], r["holds"], r["location"], f"{r['version']}/{r['newest']}", r["state"])
                for r in rows
            ],
        )
    )


@app.command()
def info(state_dir: StateOpt = Path(".govnet"), json_out: JsonOpt = False) -> None:
    """Which backend holds each store (hosting, change records, console sessions), where
    (a password is never shown) and its schema version: applied / known to this govnet.
    Only reads: creates and migrates nothing."""
    rows = [_row(schema, what, db, db.applied()) for schema, what, db in _databases(state_dir)]
    _print(rows, json_out)


@app.command()
def migrate(state_dir: StateOpt = Path(".govnet"), json_out: JsonOpt = False) -> None:
    """Create every store and apply the migrations it lacks, now (each store also migrates
    itself on first use; this does it ahead, e.g. right after an upgrade)."""
    rows = [_row(schema, what, db, db.version()) for schema, what, db in _databases(state_dir)]
    _print(rows, json_out)
