"""The git revision of an inventory (git is its source of truth): what a change's impact
was computed from. The only module of controller/change that runs a program."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

INVENTORY_SUFFIXES = (".yaml", ".yml")


def inventory_digest(path: Path) -> str:
    """``sha256:<hex>`` of the inventory's content: every YAML file (a folder is read
    recursively, as the loader does), by relative path and bytes. Two inventories with
    the same digest are the same inventory, committed or not."""
    files = (
        sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in INVENTORY_SUFFIXES)
        if path.is_dir()
        else [path]
    )
    digest = hashlib.sha256()
    for file in files:
        name = file.relative_to(path).as_posix() if path.is_dir() else file.name
        body = file.read_bytes()
        digest.update(f"{name}\0{len(body)}\0".encode())
        digest.update(body)
    return f"sha256:{digest.hexdigest()}"


def inventory_revision(path: Path) -> str:
    """``<commit>`` of the inventory's repository, ``+dirty`` when the inventory has
    uncommitted edits; empty when it is not in a git repository."""
    folder = path if path.is_dir() else path.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return ""
    dirty = git("status", "--porcelain", "--", str(path.resolve()))
    return commit + ("+dirty" if dirty else "")
