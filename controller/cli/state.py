"""Options shared by every command (set by the root callback)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_INVENTORY = Path("inventory/cambodia")


@dataclass
class State:
    inventory: Path = DEFAULT_INVENTORY
    debug: bool = False


def state(ctx: typer.Context) -> State:
    """The shared options, whether or not the root callback ran (e.g. in tests of a sub-app)."""
    root = ctx.find_root()
    if isinstance(root.obj, State):
        return root.obj
    env = os.environ.get("GOVNET_INVENTORY")
    root.obj = State(inventory=Path(env) if env else DEFAULT_INVENTORY)
    return root.obj


def inventory_path(ctx: typer.Context, override: Path | None) -> Path:
    return override if override is not None else state(ctx).inventory


InventoryOpt = Annotated[
    Path | None,
    typer.Option("--inventory", "-i", help="Inventory file or folder (overrides the global -i)."),
]
"""The per-command -i option every sub-app takes."""

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
"""The --json option of every command that prints a table."""
