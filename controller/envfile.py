"""Read ``NAME=value`` env files (lab defaults), with located errors."""

from __future__ import annotations

import re
from pathlib import Path

from controller.errors import UsageError

_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read env file: {exc.strerror}") from exc
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise UsageError(f"{path}:{number}: expected NAME=value, got {line[:40]!r}")
        values[match.group(1)] = match.group(2).strip().strip('"').strip("'")
    return values
