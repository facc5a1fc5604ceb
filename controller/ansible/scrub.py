"""Keep secret values off the disk of a run.

ansible-runner records the whole job environment (which holds the password variables the
inventory's lookups read) in ``artifacts/<ident>/command``; we mask it as soon as it is
written, and at the end replace every secret value left in any file of the run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from controller.masking import MASK

SECRET_NAME = re.compile(r"pass|secret|token|key|auth|priv|community|credential", re.IGNORECASE)


def secret_env_names(env: dict[str, str], refs: frozenset[str]) -> set[str]:
    named = {ref.partition(":")[2] for ref in refs if ref.startswith("env:")}
    return named | {k for k in env if SECRET_NAME.search(k)}


def mask_command_artifact(path: Path, names: set[str], values: set[str]) -> None:
    """ansible-runner writes the whole job environment to ``artifacts/<ident>/command``."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    env = record.get("env")
    if not isinstance(env, dict):
        return
    for key, value in env.items():
        if key in names or (isinstance(value, str) and value in values):
            env[key] = MASK
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)


def scrub_tree(root: Path, values: set[str]) -> list[Path]:
    """Replace every secret value (also JSON-escaped) in every file under ``root``."""
    needles: set[bytes] = set()
    for value in values:
        if len(value) >= 3:
            needles.add(value.encode())
            needles.add(json.dumps(value)[1:-1].encode())
    changed: list[Path] = []
    if not needles:
        return changed
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        new = data
        for needle in needles:
            new = new.replace(needle, MASK.encode())
        if new != data:
            path.write_bytes(new)
            changed.append(path)
    return changed
