"""Backups of running configurations (a directory with history) and the audit log.

Backups: ``<state>/backups/<device>/<UTC timestamp>.conf``, secrets masked,
written atomically; the newest is the last by name. Audit: one JSON object per
line in ``<state>/audit.log``, appended under an exclusive lock.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.io import atomic_write_text

_SECRET = re.compile(
    r"^(?P<head>.*?\b(?:password|secret|community|key-string|authentication-key|cipher|"
    r"auth-password|priv-password)\b\s+(?:[0-9]\s+)?)(?P<value>\S+)(?P<tail>.*)$",
    re.IGNORECASE,
)
MASK = "<masked>"


def mask_secrets(text: str) -> str:
    """The configuration with every password, secret, community and key replaced."""
    lines = []
    for line in text.splitlines():
        match = _SECRET.match(line)
        lines.append(f"{match['head']}{MASK}{match['tail']}" if match else line)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass(frozen=True)
class BackupStore:
    root: Path

    def save(self, device: str, running: str) -> Path:
        path = self.root / device / f"{timestamp()}.conf"
        atomic_write_text(path, mask_secrets(running))
        return path

    def history(self, device: str) -> list[Path]:
        folder = self.root / device
        return sorted(folder.glob("*.conf")) if folder.exists() else []

    def latest(self, device: str) -> Path | None:
        found = self.history(device)
        return found[-1] if found else None


def operator() -> str:
    """Who is acting: the sudo user behind root, else the login name."""
    return os.environ.get("SUDO_USER") or os.environ.get("USER") or getpass.getuser()


@dataclass(frozen=True)
class AuditLog:
    path: Path

    def append(self, event: str, **fields: Any) -> None:
        record = {"time": datetime.now(UTC).isoformat(), "who": operator(), "event": event}
        record.update(fields)
        line = json.dumps(record, default=str, sort_keys=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(mask_secrets(line))
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
