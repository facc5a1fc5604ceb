"""The change journal: what an apply is doing, on disk before anything is pushed.

``link apply`` writes one JSON file per change, ``<state>/changes/<id>.json`` (mode
0600), rewritten atomically at every step: the devices, where their pre-change running
configs are kept (the unmasked restorable copies under ``<state>/restore/``, 0600, with
their SHA-256 — the journal itself holds no secret), the commands (masked), and each
device's phase (``planned`` → ``pushing`` → ``pushed`` → ``verified`` |
``restored`` | ``failed``) with its armed undo timer, if any. Every outcome closes
it. A journal left open — the controller was killed with SIGKILL, crashed, or lost
power — blocks the next apply until ``govnet link recover`` has put each of its devices
back (ending any timer still counting) or confirmed the ones that had verified, and
closed it.

Only one apply or recover runs per state dir at a time (an exclusive lock held for
the whole change), so an open journal whose lock is free is known to be abandoned.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.errors import GovnetError
from controller.io import atomic_write_text, exclusive_lock
from controller.provision.store import operator

PHASES = ("planned", "pushing", "pushed", "verified", "restored", "confirmed", "failed")
UNFINISHED = frozenset({"planned", "pushing", "pushed", "failed"})
"""Phases recover must act on (restore); ``verified`` devices are confirmed instead."""


class JournalError(GovnetError):
    """A change journal is open, busy or unreadable."""


class OpenChangeError(JournalError):
    """An earlier change was interrupted and is not recovered yet."""

    exit_code = 4


@dataclass
class DeviceEntry:
    platform: str
    pre_file: str
    """The restorable (unmasked, 0600) copy of the running configuration before the change."""
    pre_sha256: str
    commands: list[str]
    """The commands pushed, secrets masked."""
    phase: str = "planned"
    note: str = ""
    timer: dict[str, str] = field(default_factory=dict)
    """The device's own undo timer while armed (:func:`confirm.journal_record`): what
    ``recover`` needs to confirm or cancel it, so it cannot undo a later change."""
    ipsec_managed: bool = False
    """The change also manages the router's ``swanctl.conf`` (it ends tunnels)."""
    ipsec_pre_file: str = ""
    """The restorable copy of that file before the change ("": the router had none)."""
    ipsec_pre_sha256: str = ""

    def pre(self) -> str:
        """The pre-change running config, checked against its recorded digest."""
        return _checked(self.pre_file, self.pre_sha256)

    def ipsec_pre(self) -> str | None:
        """The pre-change ``swanctl.conf`` (None: there was none), checked the same way."""
        if not self.ipsec_pre_file:
            return None
        return _checked(self.ipsec_pre_file, self.ipsec_pre_sha256)


def _checked(path: str, sha256: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise JournalError(f"pre-change config {path} is unreadable: {exc}") from exc
    if digest(text) != sha256:
        raise JournalError(f"pre-change config {path} was altered (SHA-256 differs)")
    return text


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Change:
    id: str
    author: str
    started: str
    devices: dict[str, DeviceEntry]
    context: dict[str, str] = field(default_factory=dict)
    """How the change reached its devices (inventory, lab, netns, state dir)."""
    state: str = "open"
    closed: str = ""
    outcome: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author": self.author,
            "started": self.started,
            "state": self.state,
            "closed": self.closed,
            "outcome": self.outcome,
            "context": self.context,
            "devices": {
                name: {
                    "platform": e.platform,
                    "phase": e.phase,
                    "note": e.note,
                    "commands": e.commands,
                    "pre_file": e.pre_file,
                    "pre_sha256": e.pre_sha256,
                    "timer": e.timer,
                    **(
                        {
                            "ipsec": {
                                "pre_file": e.ipsec_pre_file,
                                "pre_sha256": e.ipsec_pre_sha256,
                            }
                        }
                        if e.ipsec_managed
                        else {}
                    ),
                }
                for name, e in self.devices.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(
            id=str(data["id"]),
            author=str(data["author"]),
            started=str(data["started"]),
            state=str(data.get("state", "open")),
            closed=str(data.get("closed", "")),
            outcome=str(data.get("outcome", "")),
            context={str(k): str(v) for k, v in dict(data.get("context", {})).items()},
            devices={
                str(name): DeviceEntry(
                    str(e["platform"]),
                    str(e["pre_file"]),
                    str(e["pre_sha256"]),
                    [str(c) for c in e["commands"]],
                    str(e.get("phase", "planned")),
                    str(e.get("note", "")),
                    {str(k): str(v) for k, v in dict(e.get("timer") or {}).items()},
                    "ipsec" in e,
                    str(dict(e.get("ipsec") or {}).get("pre_file", "")),
                    str(dict(e.get("ipsec") or {}).get("pre_sha256", "")),
                )
                for name, e in dict(data["devices"]).items()
            },
        )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def new_id() -> str:
    """A sortable, unique change id: UTC time and a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


class Journal:
    """The journal files of one state dir (thread-safe writes of one change)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.root = state_dir / "changes"
        self._mutex = threading.Lock()

    def path(self, change: Change | str) -> Path:
        ident = change if isinstance(change, str) else change.id
        return self.root / f"{ident}.json"

    @contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """Hold the state dir's change lock: one apply or recover at a time."""

        def busy() -> Exception:
            return JournalError(
                f"another apply or recover is running on state dir {self.state_dir} "
                f"(it holds {self.root / '.lock'}); {what} refused"
            )

        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        with exclusive_lock(self.root / ".lock", 0.0, busy):
            yield

    def write(self, change: Change) -> None:
        """Atomically replace the change's file (0600)."""
        with self._mutex:
            text = json.dumps(change.as_dict(), indent=1) + "\n"
            path = self.path(change)
            atomic_write_text(path, text)
            os.chmod(path, 0o600)

    def open(
        self, devices: dict[str, DeviceEntry], context: dict[str, str] | None = None
    ) -> Change:
        change = Change(new_id(), operator(), _now(), devices, dict(context or {}))
        self.write(change)
        return change

    def set_phase(
        self,
        change: Change,
        device: str,
        phase: str,
        note: str = "",
        timer: dict[str, str] | None = None,
    ) -> None:
        """Record the device's phase (and, when given, its armed timer's new record)."""
        assert phase in PHASES, phase
        with self._mutex:
            entry = change.devices[device]
            entry.phase = phase
            if note:
                entry.note = note
            if timer is not None:
                entry.timer = dict(timer)
        self.write(change)

    def set_timer(self, change: Change, device: str, timer: dict[str, str]) -> None:
        """Record the device's armed undo timer (an empty dict: none is left)."""
        with self._mutex:
            change.devices[device].timer = dict(timer)
        self.write(change)

    def close(self, change: Change, outcome: str) -> None:
        change.state = "closed"
        change.closed = _now()
        change.outcome = outcome
        self.write(change)

    def load(self, path: Path) -> Change:
        try:
            return Change.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"{path}: unreadable change journal: {exc}") from exc

    def open_changes(self) -> list[tuple[Path, Change]]:
        """Changes not closed, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.glob("*.json")):
            change = self.load(path)
            if change.state != "closed":
                found.append((path, change))
        return found

    def refuse_if_open(self) -> None:
        """Raise :class:`OpenChangeError` naming the journal and the command to run."""
        pending = self.open_changes()
        if not pending:
            return
        path, change = pending[0]
        devices = ", ".join(sorted(change.devices))
        raise OpenChangeError(
            f"change {change.id} by {change.author} ({devices}) was interrupted and is "
            f"still open in {path}; run `{recover_command(change)}` first"
        )


def recover_command(change: Change) -> str:
    """The command that recovers ``change``, as the user would type it."""
    words = ["govnet", "link", "recover"]
    for option in ("state_dir", "inventory", "lab", "netns"):
        value = change.context.get(option)
        if value:
            words += [f"--{option.replace('_', '-')}", value]
    if change.context.get("production") == "true":
        words.append("--production")
    return " ".join(words)
