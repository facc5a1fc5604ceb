"""Plan and apply across devices: bounded parallel SSH, verify, roll back on failure.

Apply runs in phases so a link is verified only once both its ends are changed:
prepare (connect, back up, plan) → push (configure, save) → verify the links the
change touched (until ``confirm_timeout``) → restore the backup on every device of
a failed link, or whose push failed, or that the controller lost contact with
(commit-confirm semantics on platforms that lack it). Per-device failure is data
(a :class:`DeviceResult`), never an exception that stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from controller.errors import GovnetError
from controller.inventory.model import Inventory
from controller.provision.errors import ProvisionError, one_line
from controller.provision.hostkeys import HostKeyStore
from controller.provision.plan import DevicePlan, DeviceSpec, links_to_verify, plan_device
from controller.provision.store import AuditLog, BackupStore
from controller.provision.transport import (
    NetmikoSession,
    SocketFactory,
    Target,
    connect,
    plain_socket,
)
from controller.provision.tree import commands, parse
from controller.provision.verify import Pinger, verify_links
from controller.secrets import resolve_secret

log = logging.getLogger(__name__)
T = TypeVar("T")
Progress = Callable[[str, str], None]


def no_progress(device: str, step: str) -> None:
    del device, step


def failure(device: str, exc: Exception) -> str:
    """One line for a device's failure: a GovnetError says it already; anything else (a
    bug, or a library error the adapter did not know) is named, its traceback logged."""
    if isinstance(exc, GovnetError):
        return str(exc)
    log.debug("%s: unexpected error", device, exc_info=exc)
    return f"{device}: unexpected error: {one_line(exc)} (--debug shows the traceback)"


@dataclass
class Options:
    workers: int = 8
    confirm_timeout: float = 30.0
    trust_on_first_use: bool = False
    state_dir: Path = Path(".govnet")
    open_socket: SocketFactory = plain_socket
    pinger: Pinger | None = None
    connect_timeout: float = 10.0
    lab_nodes: frozenset[str] | None = None
    """In a lab: the nodes that exist there (links to anything else are not verified)."""


@dataclass
class DeviceResult:
    device: str
    status: str
    """unchanged | changes | applied | rolled-back | failed"""
    message: str = ""
    commands: list[str] = field(default_factory=list)
    diff: str = ""
    checks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status in {"failed", "rolled-back"}

    def as_dict(self) -> dict[str, object]:
        return {
            "device": self.device,
            "status": self.status,
            "failed": self.failed,
            "message": self.message,
            "commands": self.commands,
            "diff": self.diff,
            "checks": self.checks,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Work:
    spec: DeviceSpec
    started: float
    session: NetmikoSession | None = None
    plan: DevicePlan | None = None
    result: DeviceResult | None = None


class Engine:
    def __init__(
        self,
        inv: Inventory,
        specs: list[DeviceSpec],
        options: Options,
        progress: Progress = no_progress,
    ) -> None:
        self.inv = inv
        self.specs = specs
        self.options = options
        self.progress = progress
        self.hostkeys = HostKeyStore(options.state_dir / "known_hosts")
        self.backups = BackupStore(options.state_dir / "backups")
        self.audit = AuditLog(options.state_dir / "audit.log")

    # ----------------------------------------------------------------- helpers

    def _parallel(self, func: Callable[[_Work], T], items: list[_Work]) -> list[T]:
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(self.options.workers, len(items)))) as pool:
            return list(pool.map(func, items))

    def target(self, spec: DeviceSpec) -> Target:
        device = spec.device
        name = self.inv.resolved(device, "ssh_credential")
        cred = self.inv.credentials.ssh.get(name) if name else None
        if cred is None:
            raise ProvisionError(f"{device.name}: no SSH credential (ssh_credential)")
        where = f"credentials.ssh.{name}"
        password = resolve_secret(cred.password, f"{where}.password") if cred.password else None
        key_file = None
        if cred.key_file:
            key_file = (
                cred.key_file.removeprefix("file:")
                if cred.key_file.startswith("file:")
                else resolve_secret(cred.key_file, f"{where}.key_file")
            )
        return Target(
            device.name,
            str(device.mgmt),
            spec.device_type,
            spec.dialect,
            cred.username,
            password,
            key_file,
        )

    def _connect(self, spec: DeviceSpec) -> NetmikoSession:
        return connect(
            self.target(spec),
            self.hostkeys,
            trust_on_first_use=self.options.trust_on_first_use,
            open_socket=self.options.open_socket,
            timeout=self.options.connect_timeout,
        )

    def _prepare(self, work: _Work) -> None:
        name = work.spec.device.name
        try:
            self.progress(name, "connecting")
            work.session = self._connect(work.spec)
            self.progress(name, "reading running config")
            running = work.session.show(work.spec.dialect.show_running)
            work.plan = plan_device(work.spec, running)
        except Exception as exc:  # per-device failure is data: the others go on
            work.result = DeviceResult(
                name, "failed", failure(name, exc), seconds=time.monotonic() - work.started
            )
            self.progress(name, "failed")

    def _close(self, works: list[_Work]) -> None:
        for work in works:
            if work.session is not None:
                work.session.close()
                work.session = None

    # ----------------------------------------------------------------- plan

    def plan(self) -> list[DeviceResult]:
        """What would change on each device; nothing is changed anywhere."""
        works = [_Work(spec, time.monotonic()) for spec in self.specs]
        try:
            self._parallel(self._prepare, works)
        finally:
            self._close(works)
        results = []
        for work in works:
            if work.result is None and work.plan is not None:
                status = "changes" if work.plan.changed else "unchanged"
                work.result = DeviceResult(
                    work.spec.device.name,
                    status,
                    "",
                    work.plan.commands,
                    work.plan.diff,
                    seconds=time.monotonic() - work.started,
                )
                self.progress(work.spec.device.name, status)
            assert work.result is not None
            results.append(work.result)
        return results

    def read_running(self) -> dict[str, str | GovnetError]:
        """Each device's running configuration, or why it could not be read."""
        works = [_Work(spec, time.monotonic()) for spec in self.specs]
        try:
            self._parallel(self._prepare, works)
        finally:
            self._close(works)
        out: dict[str, str | GovnetError] = {}
        for work in works:
            name = work.spec.device.name
            if work.plan is not None:
                out[name] = work.plan.running
                self.progress(name, "read")
            else:
                out[name] = GovnetError(work.result.message if work.result else "unreadable")
        return out

    # ----------------------------------------------------------------- apply

    def apply(self) -> list[DeviceResult]:
        """Back up, push, verify, and restore what failed; a result per device."""
        works = [_Work(spec, time.monotonic()) for spec in self.specs]
        backups: dict[str, str] = {}
        try:
            self._parallel(self._prepare, works)
            changed = [w for w in works if w.result is None and w.plan and w.plan.changed]
            for work in works:
                if work.result is None and work.plan is not None and not work.plan.changed:
                    work.result = DeviceResult(
                        work.spec.device.name, "unchanged", seconds=time.monotonic() - work.started
                    )
                    self.progress(work.spec.device.name, "unchanged")
            for work in changed:
                assert work.plan is not None
                backups[work.spec.device.name] = work.plan.running
                self.backups.save(work.spec.device.name, work.plan.running)
            self._parallel(self._push, changed)
            pushed = [w for w in changed if w.result is None]
            failed_devices = {w.spec.device.name for w in changed if w.result is not None}
            failed_devices |= self._verify(pushed, works)
            to_restore = [w for w in changed if w.spec.device.name in failed_devices]
            self._parallel(lambda w: self._restore(w, backups[w.spec.device.name]), to_restore)
            for work in pushed:
                if work.result is None:
                    work.result = DeviceResult(
                        work.spec.device.name,
                        "applied",
                        "",
                        work.plan.commands if work.plan else [],
                        work.plan.diff if work.plan else "",
                        seconds=time.monotonic() - work.started,
                    )
                    self.progress(work.spec.device.name, "applied")
        finally:
            self._close(works)
        results = []
        for work in works:
            assert work.result is not None
            if not work.result.seconds:
                work.result.seconds = time.monotonic() - work.started
            results.append(work.result)
            self.audit.append(
                "apply",
                device=work.result.device,
                status=work.result.status,
                message=work.result.message,
                commands=work.result.commands,
                diff=work.result.diff,
            )
        return results

    def _push(self, work: _Work) -> None:
        name = work.spec.device.name
        assert work.session is not None and work.plan is not None
        try:
            self.progress(name, f"pushing {len(work.plan.commands)} commands")
            work.session.configure(work.plan.commands)
            work.session.save()
        except Exception as exc:  # per-device failure is data: the others go on
            work.result = DeviceResult(
                name, "failed", failure(name, exc), work.plan.commands, work.plan.diff
            )
            self.progress(name, "push failed")

    def _verify(self, pushed: list[_Work], works: list[_Work]) -> set[str]:
        """Names of changed devices on a link that did not verify in time."""
        plans = {w.spec.device.name: w.plan for w in pushed if w.plan is not None}
        links = links_to_verify(self.inv, plans, self.options.lab_nodes)
        if not links:
            return set()
        for name in plans:
            self.progress(name, f"verifying {len(links)} link(s)")
        sessions = {
            w.spec.device.name: (w.spec.platform, w.session)
            for w in works
            if w.session is not None and w.result is None
        }
        deadline = time.monotonic() + self.options.confirm_timeout
        try:
            checks = verify_links(links, sessions, self.options.pinger, deadline)
        except ProvisionError as exc:
            log.warning("verification lost contact: %s", exc)
            return set(plans)
        failed: set[str] = set()
        by_device: dict[str, list[str]] = {name: [] for name in plans}
        for link, check in zip(links, checks, strict=True):
            ends = {link.a_device, link.b_device}
            for name in ends & set(plans):
                by_device[name] += [f"ok: {c}" for c in check.passed]
                by_device[name] += [f"FAILED: {c}" for c in check.failed]
            if not check.ok:
                failed |= ends & set(plans)
        for work in pushed:
            name = work.spec.device.name
            if name in failed and work.result is None and work.plan is not None:
                problems = [
                    c.removeprefix("FAILED: ") for c in by_device[name] if c.startswith("FAILED")
                ]
                work.result = DeviceResult(
                    name,
                    "rolled-back",
                    "verification failed: " + "; ".join(problems),
                    work.plan.commands,
                    work.plan.diff,
                    by_device[name],
                )
            elif work.result is None and work.plan is not None:
                work.result = DeviceResult(
                    name, "applied", "", work.plan.commands, work.plan.diff, by_device.get(name, [])
                )
        return failed

    def _restore(self, work: _Work, backup: str) -> None:
        name = work.spec.device.name
        self.progress(name, "restoring backup")
        result = work.result or DeviceResult(name, "rolled-back")
        result.status = "rolled-back" if result.status != "failed" else "failed"
        try:
            if work.session is None:
                work.session = self._connect(work.spec)
            dialect = work.spec.dialect
            try:
                current = work.session.show(dialect.show_running)
            except ProvisionError:
                work.session.close()
                work.session = self._connect(work.spec)
                current = work.session.show(dialect.show_running)
            undo = commands(parse(current, dialect), parse(backup, dialect), dialect)
            work.session.configure(undo)
            work.session.save()
            after = work.session.show(dialect.show_running)
            same = after == backup
            note = "config restored byte-for-byte" if same else "config restored (text differs!)"
            result.message = f"{result.message}; {note}" if result.message else note
            if not same:
                result.status = "failed"
        except Exception as exc:  # per-device failure is data: the others go on
            result.status = "failed"
            result.message = f"{result.message}; RESTORE FAILED: {failure(name, exc)}"
        result.seconds = time.monotonic() - work.started
        work.result = result
        self.progress(name, result.status)
