"""Load and validate an inventory: the entry points the rest of govnet calls."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

from controller.errors import InventoryError, Problem
from controller.inventory.build import build_inventory
from controller.inventory.checks import check_inventory
from controller.inventory.loader import load_documents
from controller.inventory.model import Inventory


@dataclass(frozen=True)
class Validation:
    """The outcome of validating an inventory: the model (if usable) and every problem."""

    inventory: Inventory | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_inventory(path: Path) -> Validation:
    """Every problem of the inventory at ``path`` (a file or folder), sorted by place."""
    # Building the model allocates hundreds of thousands of small objects and no
    # cycles: the cyclic collector would rescan the growing heap again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _validate(path)
    finally:
        if collecting:
            gc.enable()


def _validate(path: Path) -> Validation:
    raw, problems = load_documents(path)
    if not raw:
        return Validation(None, sorted(problems))
    built, build_problems = build_inventory(raw)
    problems += build_problems
    problems += check_inventory(built)
    return Validation(built.inventory, sorted(set(problems)))


def load_inventory(path: Path) -> Inventory:
    """The validated inventory at ``path``; raises :class:`InventoryError` on any problem."""
    result = validate_inventory(path)
    if result.problems or result.inventory is None:
        raise InventoryError(result.problems)
    return result.inventory
