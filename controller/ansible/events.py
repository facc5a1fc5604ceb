"""ansible-runner events → per-host results (pure: no I/O, unit-tested with event dicts).

Per-host failure is data: a failed or unreachable host is a :class:`HostResult`, the
run goes on for the others. Counts follow Ansible's recap (``ok`` includes changed tasks);
the final ``playbook_on_stats`` event is authoritative when it arrives.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE = 300
STARTED = "started"
OK = "ok"
CHANGED = "changed"
FAILED = "failed"
UNREACHABLE = "unreachable"
SKIPPED = "skipped"
IGNORED = "ignored"


@dataclass(frozen=True)
class TaskEvent:
    """What a progress display shows: a task on a host, and how it went."""

    host: str
    task: str
    status: str
    message: str = ""


@dataclass
class HostResult:
    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    ignored: int = 0
    messages: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    """Tasks that changed something (in check mode: would have)."""
    diffs: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.unreachable:
            return UNREACHABLE
        if self.failed:
            return FAILED
        if self.changed:
            return CHANGED
        return OK

    @property
    def bad(self) -> bool:
        return bool(self.failed or self.unreachable)

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "status": self.status,
            "ok": self.ok,
            "changed": self.changed,
            "failed": self.failed,
            "unreachable": self.unreachable,
            "skipped": self.skipped,
            "ignored": self.ignored,
            "messages": self.messages,
            "changes": self.changes,
            "diffs": self.diffs,
        }


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= MAX_MESSAGE else one[: MAX_MESSAGE - 1] + "…"


def failure_message(task: str, res: Mapping[str, Any]) -> str:
    """One line: the task and why it failed (``msg``, then the first stderr line)."""
    if res.get("censored"):
        return f"{task}: failed (output hidden by no_log)"
    parts = [str(res.get("msg") or "failed")]
    stderr = str(res.get("stderr") or "").strip()
    if stderr:
        parts.append(stderr.splitlines()[0])
    elif str(res.get("stdout") or "").strip().startswith("%"):
        parts.append(str(res["stdout"]).strip().splitlines()[0])
    return _short(f"{task}: " + ": ".join(parts))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"


def render_diff(diff: Any, host: str) -> str:
    """Ansible's ``diff`` result (a dict or a list of them) as unified diff text."""
    items = diff if isinstance(diff, list) else [diff]
    chunks: list[str] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        if item.get("prepared"):
            chunks.append(str(item["prepared"]).rstrip("\n") + "\n")
            continue
        if "before" not in item and "after" not in item:
            continue
        before, after = _text(item.get("before", "")), _text(item.get("after", ""))
        if before == after:
            continue
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"{host}: {item.get('before_header', 'before')}",
            f"{host}: {item.get('after_header', 'after')}",
        )
        chunks.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return "".join(chunks)


class Aggregator:
    """Feed it every ansible-runner event; it keeps the per-host results."""

    def __init__(self, hosts: Iterable[str] = ()) -> None:
        self.hosts: dict[str, HostResult] = {h: HostResult(h) for h in hosts}
        self.errors: list[str] = []
        self.stats_seen = False

    def host(self, name: str) -> HostResult:
        if name not in self.hosts:
            self.hosts[name] = HostResult(name)
        return self.hosts[name]

    def feed(self, event: Mapping[str, Any]) -> TaskEvent | None:
        kind = str(event.get("event", ""))
        data: Mapping[str, Any] = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self._stats(data)
            return None
        if kind == "error":
            text = str(event.get("stdout") or "").strip()
            if text:
                self.errors.append(_short(text))
            return None
        host = data.get("host")
        if not host or not kind.startswith("runner_on_"):
            return None
        task = str(data.get("task") or data.get("task_action") or "?").strip()
        res: Mapping[str, Any] = data.get("res") or {}
        result = self.host(str(host))
        if kind == "runner_on_start":
            return TaskEvent(result.host, task, STARTED)
        if kind == "runner_on_ok":
            return self._ok(result, task, data, res)
        if kind == "runner_on_failed":
            if data.get("ignore_errors"):
                result.ignored += 1
                return TaskEvent(result.host, task, IGNORED)
            result.failed += 1
            message = failure_message(task, res)
            result.messages.append(message)
            return TaskEvent(result.host, task, FAILED, message)
        if kind == "runner_on_unreachable":
            result.unreachable += 1
            message = _short(f"{task}: {res.get('msg') or 'unreachable'}")
            result.messages.append(message)
            return TaskEvent(result.host, task, UNREACHABLE, message)
        if kind == "runner_on_skipped":
            result.skipped += 1
            return TaskEvent(result.host, task, SKIPPED)
        return None

    def _ok(
        self, result: HostResult, task: str, data: Mapping[str, Any], res: Mapping[str, Any]
    ) -> TaskEvent:
        result.ok += 1
        if not res.get("changed"):
            return TaskEvent(result.host, task, OK)
        result.changed += 1
        result.changes.append(task)
        if res.get("diff"):
            text = render_diff(res["diff"], result.host)
            if text:
                result.diffs.append(text)
        elif str(data.get("task_action", "")).endswith("debug") and res.get("msg"):
            msg = res["msg"]
            lines = msg if isinstance(msg, list) else [msg]
            result.diffs.append(f"{result.host}: {task}\n" + "".join(f"{x}\n" for x in lines))
        return TaskEvent(result.host, task, CHANGED)

    def _stats(self, data: Mapping[str, Any]) -> None:
        self.stats_seen = True
        columns = {
            "ok": "ok",
            "changed": "changed",
            "failures": "failed",
            "dark": "unreachable",
            "skipped": "skipped",
            "ignored": "ignored",
        }
        processed = set(data.get("processed") or {})
        for key in columns:
            processed |= set(data.get(key) or {})
        for host in processed:  # a host missing under a key has 0 there
            result = self.host(str(host))
            for key, attr in columns.items():
                setattr(result, attr, int((data.get(key) or {}).get(host, 0)))

    def results(self) -> list[HostResult]:
        return [self.hosts[name] for name in sorted(self.hosts)]
