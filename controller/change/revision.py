"""The git revision of an inventory (git is its source of truth): what a change's impact
was computed from. The only module of controller/change that runs a program."""

from __future__ import annotations

import subprocess
from pathlib import Path


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
