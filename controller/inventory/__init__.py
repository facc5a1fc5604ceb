"""The inventory: YAML files → a validated, typed model of the national network.

Pipeline (pure functions, no I/O but reading the files):
``loader.load_documents`` (YAML with line marks, merged) →
``build.build_inventory`` (structure, per item) →
``checks.check_inventory`` (cross references, addressing, capacity) →
:class:`~controller.inventory.model.Inventory`.
"""

from controller.inventory.api import load_inventory, validate_inventory
from controller.inventory.model import Inventory

__all__ = ["Inventory", "load_inventory", "validate_inventory"]
