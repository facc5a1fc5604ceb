"""The lab state file: every namespace, veth, process, route and file ``up`` made.

Written early and updated as resources are created, so ``down`` can clean up after a
crash. Stored as JSON in ``<lab-dir>/govnet-lab-state.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulations.errors import LabError

STATE_VERSION = 1


@dataclass
class ProcessRecord:
    node: str
    name: str
    pid: int
    netns: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProcessRecord:
        return cls(str(d["node"]), str(d["name"]), int(d["pid"]), str(d["netns"]))


@dataclass
class FaultRecord:
    """One applied fault; ``undo`` holds what ``clear`` needs to revert it."""

    kind: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    undo: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaultRecord:
        return cls(
            str(d["kind"]), str(d["target"]), dict(d.get("params") or {}), dict(d.get("undo") or {})
        )


@dataclass
class LabState:
    lab: str
    topology: str
    owner_pid: int
    complete: bool = False
    namespaces: list[str] = field(default_factory=list)
    veths: list[str] = field(default_factory=list)
    bridges: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)
    faults: list[FaultRecord] = field(default_factory=list)
    relays: dict[str, dict[str, Any]] = field(default_factory=dict)
    route_metric: int = -1
    started_at: float = 0.0
    up_seconds: float = 0.0
    version: int = STATE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabState:
        return cls(
            lab=str(d["lab"]),
            topology=str(d.get("topology", "")),
            owner_pid=int(d.get("owner_pid", 0)),
            complete=bool(d.get("complete", False)),
            namespaces=list(d.get("namespaces") or []),
            veths=list(d.get("veths") or []),
            bridges=list(d.get("bridges") or []),
            routes=list(d.get("routes") or []),
            paths=list(d.get("paths") or []),
            processes=[ProcessRecord.from_dict(p) for p in d.get("processes") or []],
            faults=[FaultRecord.from_dict(f) for f in d.get("faults") or []],
            relays={str(k): dict(v) for k, v in (d.get("relays") or {}).items()},
            route_metric=int(d.get("route_metric", 0)),  # states before metrics used 0
            started_at=float(d.get("started_at", 0.0)),
            up_seconds=float(d.get("up_seconds", 0.0)),
            version=int(d.get("version", STATE_VERSION)),
        )

    def add_unique(self, attr: str, *values: str) -> None:
        items: list[str] = getattr(self, attr)
        for value in values:
            if value not in items:
                items.append(value)


def load_state(path: Path) -> LabState | None:
    """The state at ``path``, or None if there is none (a corrupt file is an error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabError(f"{path}: cannot read lab state: {exc.strerror}") from exc
    try:
        return LabState.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise LabError(f"{path}: corrupt lab state ({exc}); run 'down' to sweep by name") from exc


def save_state(path: Path, state: LabState) -> None:
    """Atomically write the state file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json(), encoding="utf-8")
    os.replace(tmp, path)
