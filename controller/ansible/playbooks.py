"""The playbooks govnet ships (``playbooks/*.yml``): list them and find one by name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from controller.ansible.errors import UnknownPlaybookError
from controller.resources import bundled

PLAYBOOK_DIR = bundled("playbooks")
SUFFIXES = (".yml", ".yaml")


def playbook_dir() -> Path:
    """``$GOVNET_PLAYBOOKS``, else the shipped ``playbooks/`` (package data)."""
    override = os.environ.get("GOVNET_PLAYBOOKS")
    return Path(override) if override else PLAYBOOK_DIR


@dataclass(frozen=True)
class Playbook:
    name: str
    path: Path
    summary: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "path": str(self.path), "summary": self.summary}


def summary_of(path: Path) -> str:
    """The playbook's first comment line (``# what it does``), or ``""``."""
    try:
        with path.open(encoding="utf-8") as handle:
            for raw in handle:
                line = raw.strip()
                if line.startswith("#"):
                    return line.lstrip("#").strip()
                if line and line != "---":
                    return ""
    except OSError:
        return ""
    return ""


def list_playbooks(folder: Path | None = None) -> list[Playbook]:
    base = folder or playbook_dir()
    if not base.is_dir():
        return []
    found = sorted(p for p in base.iterdir() if p.suffix in SUFFIXES and p.is_file())
    return [Playbook(p.stem, p, summary_of(p)) for p in found]


def find_playbook(name: str, folder: Path | None = None) -> Playbook:
    """A playbook by name (``ntp_syslog``, ``ntp_syslog.yml``) or by path."""
    base = folder or playbook_dir()
    candidates: list[Path] = []
    given = Path(name)
    if given.suffix in SUFFIXES and (given.is_absolute() or len(given.parts) > 1):
        candidates.append(given)
    stem = given.name.removesuffix(given.suffix) if given.suffix in SUFFIXES else given.name
    candidates += [base / f"{stem}{suffix}" for suffix in SUFFIXES]
    for path in candidates:
        if path.is_file():
            return Playbook(path.stem, path.resolve(), summary_of(path))
    known = ", ".join(p.name for p in list_playbooks(base)) or "none"
    raise UnknownPlaybookError(f"no playbook {name!r} in {base} (playbooks: {known})")
