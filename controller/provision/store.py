"""Backups of running configurations (a directory with history) and the audit log.

Backups: ``<state>/backups/<device>/<UTC timestamp>.conf`` is the human-readable copy,
secrets masked; ``<state>/restore/<device>/<UTC timestamp>.conf`` is the restorable copy,
unmasked, mode 0600 in directories of mode 0700 — the only place a secret is written.
Both are written atomically; the newest is the last by name. Audit: one JSON object per
line in ``<state>/audit.log``, every field value masked, appended under an exclusive lock.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.io import atomic_write_text
from controller.masking import mask_data, mask_text

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def mask_secrets(text: str) -> str:
    """The configuration with every known secret value and every password, secret,
    community and key a platform pattern finds replaced (see :mod:`controller.masking`)."""
    return mask_text(text)


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass(frozen=True)
class BackupStore:
    root: Path
    """``<state>/backups``: the masked, human-readable copies."""

    @property
    def restore_root(self) -> Path:
        """``<state>/restore``: the unmasked copies a rollback can push back."""
        return self.root.parent / "restore"

    def save(self, device: str, running: str, suffix: str = ".conf") -> Path:
        """Keep ``running`` twice: masked to read, unmasked (0600, private dir) to restore.
        Returns the masked copy's path. (``suffix``: ``.swanctl.conf`` for a router's
        IPsec file, kept beside its configuration.)"""
        name = f"{timestamp()}{suffix}"
        private = self._private_dir(device)
        atomic_write_text(private / name, running)
        (private / name).chmod(PRIVATE_FILE)
        path = self.root / device / name
        atomic_write_text(path, mask_secrets(running))
        return path

    def _private_dir(self, device: str) -> Path:
        folder = self.restore_root / device
        for part in (self.restore_root, folder):
            part.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            part.chmod(PRIVATE_DIR)
        return folder

    def history(self, device: str) -> list[Path]:
        folder = self.root / device
        if not folder.exists():
            return []
        return sorted(p for p in folder.glob("*.conf") if not p.name.endswith(".swanctl.conf"))

    def latest(self, device: str) -> Path | None:
        found = self.history(device)
        return found[-1] if found else None

    def restorable(self, backup: Path) -> Path:
        """The unmasked copy behind a masked backup of :meth:`history`."""
        return self.restore_root / backup.parent.name / backup.name


def operator() -> str:
    """Who is acting: the sudo user behind root, else the login name."""
    return os.environ.get("SUDO_USER") or os.environ.get("USER") or getpass.getuser()


@dataclass(frozen=True)
class AuditLog:
    path: Path

    def append(self, event: str, **fields: Any) -> None:
        record: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(),
            "who": operator(),
            "event": event,
        }
        record.update(fields)
        # mask field values, not the serialised line: the record stays one valid JSON line
        plain = json.loads(json.dumps(record, default=str))
        line = json.dumps(mask_data(plain), sort_keys=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
