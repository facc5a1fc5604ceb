"""`govnet store info|migrate` on the default backend: SQLite files in the state dir."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.store import migrations_of

pytestmark = pytest.mark.backends("sqlite")

runner = CliRunner()


def test_store_info_creates_nothing_and_migrate_makes_every_store_private(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    info = runner.invoke(app, ["store", "info", "--state-dir", str(state), "--json"])
    assert info.exit_code == 0, info.output
    shown = json.loads(info.output)
    assert shown["backend"] == "sqlite"
    assert [(s["store"], s["location"], s["version"]) for s in shown["stores"]] == [
        ("hosting", str(state / "hosting.db"), 0),
        ("changes", str(state / "changes.db"), 0),
        ("sessions", str(state / "soc/sessions.db"), 0),
    ]
    assert not state.exists()

    migrated = runner.invoke(app, ["store", "migrate", "--state-dir", str(state), "--json"])
    assert migrated.exit_code == 0, migrated.output
    stores = json.loads(migrated.output)["stores"]
    assert [(s["version"], s["state"]) for s in stores] == [
        (len(migrations_of(s["store"])), "current") for s in stores
    ]
    for name in ("hosting.db", "changes.db", "soc/sessions.db"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name

    table = runner.invoke(app, ["store", "info", "--state-dir", str(state)])
    assert table.exit_code == 0 and "State store: sqlite" in table.output
    assert "2/2" in table.output and "current" in table.output
