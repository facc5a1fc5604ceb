"""Options shared by every command (set by the root callback)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
