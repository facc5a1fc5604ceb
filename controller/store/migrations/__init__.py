"""Versioned schema migrations: ``<schema>/NNNN_name.sql``, applied in number order.

A migration is never edited once released; a change to a schema is a new file with the
next number. Each file is plain SQL (portable where it can be: ``INTEGER``, ``TEXT``,
``REAL``) and runs in one transaction with the record of its version.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

from controller.store.base import StoreError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    schema: str
    version: int
    name: str
    sql: str


@functools.cache
def migrations_of(schema: str) -> tuple[Migration, ...]:
    """The migrations of ``schema``, oldest first (numbered 1, 2, … without gaps)."""
    folder = resources.files(__package__).joinpath(schema)
    if not folder.is_dir():
        raise StoreError(f"no migrations for the schema {schema!r}")
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(
                Migration(schema, int(match.group(1)), entry.name, entry.read_text("utf-8"))
            )
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations of {schema!r} are not numbered 1, 2, …: {found}")
    return tuple(found)
