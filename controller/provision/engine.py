"""Plan and apply across devices: bounded parallel SSH, verify, roll back on failure.

Apply runs in phases so a link is verified only once both its ends are changed:
prepare (connect, back up, plan) → journal the change (``link recover`` finishes it
after a crash) → take a baseline → arm the device's own confirm timer
(:mod:`controller.provision.confirm`) → push (configure; save unless armed) → verify
everything the change touched (until ``confirm_timeout``) → confirm (and save) on
success → restore the backup on every device of a failed link, or whose push failed,
or that the controller lost contact with. An armed device undoes the change by itself
when it is not confirmed, so a change that cuts the controller off is undone too.
Per-device failure is data (a :class:`DeviceResult`), never an exception that stops
the others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from controller import masking
from controller.errors import GovnetError
from controller.inventory.model import Inventory, Platform, Role
from controller.provision import confirm, ipsec
from controller.provision.errors import ConnectError, ProvisionError, one_line
from controller.provision.hostkeys import HostKeyStore
from controller.provision.journal import UNFINISHED, Change, DeviceEntry, Journal, digest
from controller.provision.plan import (
    DevicePlan,
    DeviceSpec,
    keep_of,
    links_to_verify,
    may_fail_later,
    plan_device,
    settle_seconds,
)
from controller.provision.store import AuditLog, BackupStore
from controller.provision.transport import (
    ExecSession,
    NetmikoSession,
    Session,
    SocketFactory,
    Target,
    connect,
    connect_shell,
    plain_socket,
)
from controller.provision.tree import commands, parse
from controller.provision.verify import (
    Baseline,
    Keep,
    LinkCheck,
    Nms,
    Pinger,
    take_baseline,
    verify_change,
)
from controller.render.intent import ROUTER_ROLES
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


CHECKPOINT_ENV = "GOVNET_TEST_CHECKPOINT"
"""Tests only: the apply step (``before-push``, ``between-devices``, ``verifying``) at
which the engine prints ``govnet-checkpoint: <step>`` on stderr and waits (at most a
minute), so a test can kill it at exactly that moment."""


def ipsec_note(plan: DevicePlan) -> str:
    """What a change does to a tunnel end's ``swanctl.conf``, for its result line."""
    if plan.ipsec is None or not plan.ipsec.changed:
        return ""
    changed = plan.ipsec.changed_connections
    return f"swanctl.conf: {len(changed)} connection(s) changed" + (
        f" ({', '.join(changed)})" if changed else ""
    )


def checkpoint(step: str, stop: threading.Event) -> None:
    """At ``step``, when the test hook asks for it: say so and wait until ``stop``."""
    if os.environ.get(CHECKPOINT_ENV) != step:
        return
    os.write(2, f"govnet-checkpoint: {step} pid {os.getpid()}\n".encode())
    stop.wait(60.0)


class _Stop(BaseException):
    """Raised by the signal handler in the main thread to unwind an apply."""


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
    shell_user: str | None = None
    """FRR: the node's shell login (same secret) for the on-node confirm timer; without
    it FRR changes are rolled back from the controller only."""
    journal_context: dict[str, str] = field(default_factory=dict)
    """How this run reached its devices, kept in the journal for ``link recover``."""
    gate: Gate | None = None
    """Asked before the push and after verification (the probe gate): any problem it
    reports rolls every changed device back."""
    rehearse: bool = False
    """A rehearsal (in a lab twin): push, verify and gate as for real, then restore every
    changed device; verified and restored devices end ``rehearsed``."""


class Gate(Protocol):
    def before(self) -> None: ...

    def after(self) -> list[str]:
        """Problems that fail the change (empty: it passes)."""
        ...


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
    steps: list[tuple[float, str]] = field(default_factory=list)
    """The device's steps as the progress showed them: (seconds since the run began, step)."""

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
            "steps": [{"at": round(at, 3), "step": step} for at, step in self.steps],
        }


class Interrupted(ProvisionError):
    """SIGINT or SIGTERM stopped an apply; what was pushed has been restored."""

    exit_code = 130

    def __init__(self, message: str, results: list[DeviceResult]) -> None:
        super().__init__(message)
        self.results = results


@dataclass
class _Work:
    spec: DeviceSpec
    started: float
    session: NetmikoSession | None = None
    plan: DevicePlan | None = None
    result: DeviceResult | None = None
    backup: str = ""
    armed: confirm.Armed | None = None
    shell: Future[ExecSession] | None = None
    """The node's shell login, opened while the baseline is taken (arming needs it)."""
    ipsec_shell: ExecSession | None = None
    """A router with tunnels: the shell login its ``swanctl.conf`` is read and written over."""
    ipsec_backup: str | None = None
    """Its ``swanctl.conf`` before the change (None: it had none)."""
    ipsec_managed: bool = False
    """govnet manages the router's ``swanctl.conf`` (it ends tunnels)."""


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
        self._show = progress
        self._began = time.monotonic()
        self._steps: dict[str, list[tuple[float, str]]] = {}
        self._steps_lock = threading.Lock()
        self.hostkeys = HostKeyStore(options.state_dir / "known_hosts")
        self.backups = BackupStore(options.state_dir / "backups")
        self.audit = AuditLog(options.state_dir / "audit.log")
        self.journal = Journal(options.state_dir)
        self.change: Change | None = None
        self.baseline: Baseline | None = None
        self._interrupted = ""
        self._pushed_one = threading.Event()
        self._stopping = threading.Event()

    # ----------------------------------------------------------------- helpers

    def progress(self, device: str, step: str) -> None:
        """Show a device's step, and keep it with its time for the device's result."""
        with self._steps_lock:
            self._steps.setdefault(device, []).append((time.monotonic() - self._began, step))
        self._show(device, step)

    def _with_steps(self, result: DeviceResult) -> DeviceResult:
        with self._steps_lock:
            result.steps = list(self._steps.get(result.device, []))
        return result

    def _parallel(self, func: Callable[[_Work], T], items: list[_Work]) -> list[T]:
        """``func`` over ``items`` in at most ``workers`` threads. When the caller is
        interrupted, work not started is cancelled and work under way is waited for."""
        if not items:
            return []
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.options.workers, len(items))))
        try:
            futures = [pool.submit(func, item) for item in items]
            return [future.result() for future in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

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
        """A session to the device's network CLI."""
        return connect(
            self.target(spec),
            self.hostkeys,
            trust_on_first_use=self.options.trust_on_first_use,
            open_socket=self.options.open_socket,
            timeout=self.options.connect_timeout,
        )

    def _login_shell(self, spec: DeviceSpec) -> ExecSession:
        """A login to the node's shell as ``--shell-user`` (same secret as its CLI)."""
        user = self.options.shell_user
        if not user:
            raise ProvisionError(
                f"{spec.device.name}: no shell user to log in as: give --shell-user"
            )
        return connect_shell(
            dataclasses.replace(self.target(spec), device_type="linux", username=user),
            self.hostkeys,
            trust_on_first_use=self.options.trust_on_first_use,
            open_socket=self.options.open_socket,
            timeout=self.options.connect_timeout,
        )

    def _prepare(self, work: _Work, with_ipsec: bool = True) -> None:
        """Connect, read the running config (and a tunnel end's ``swanctl.conf`` unless
        ``with_ipsec`` is False) and plan the device."""
        name = work.spec.device.name
        try:
            self.progress(name, "connecting")
            work.session = self._connect(work.spec)
            self.progress(name, "reading running config")
            running = work.session.show(work.spec.dialect.show_running)
            work.ipsec_managed = with_ipsec and work.spec.ipsec is not None
            ipsec_running = self._read_ipsec(work) if work.ipsec_managed else None
            work.plan = plan_device(work.spec, running, ipsec_running)
        except Exception as exc:  # per-device failure is data: the others go on
            work.result = DeviceResult(
                name, "failed", failure(name, exc), seconds=time.monotonic() - work.started
            )
            self.progress(name, "failed")

    def _ipsec_shell(self, work: _Work) -> ExecSession:
        """The shell login a router's ``swanctl.conf`` goes through (opened once, and
        again after the on-node timer that shared it closed it)."""
        if work.ipsec_shell is not None and work.ipsec_shell.closed:
            work.ipsec_shell = None
        if work.ipsec_shell is None:
            if not self.options.shell_user:
                raise ProvisionError(
                    f"{work.spec.device.name}: ends IPsec tunnels; its swanctl.conf is read "
                    "and written over the node's shell login: give --shell-user"
                )
            work.ipsec_shell = self._login_shell(work.spec)
        return work.ipsec_shell

    def _read_ipsec(self, work: _Work) -> str | None:
        self.progress(work.spec.device.name, "reading swanctl.conf")
        return ipsec.read(work.spec.device.name, self._ipsec_shell(work))

    def _close(self, works: list[_Work]) -> None:
        """Log out of every device, in parallel: netmiko's logout is a round trip each
        (0.9 s for 78 routers one after the other)."""
        self._parallel(self._close_one, works)

    def _close_one(self, work: _Work) -> None:
        if work.ipsec_shell is not None:
            work.ipsec_shell.close()
            work.ipsec_shell = None
        if work.shell is not None:  # opened for an arming that never came
            with contextlib.suppress(Exception):  # a failed login has nothing to close
                work.shell.result().close()
            work.shell = None
        if work.armed is not None:
            confirm.release(work.armed)
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
                    ipsec_note(work.plan),
                    work.plan.commands,
                    work.plan.diff,
                    seconds=time.monotonic() - work.started,
                )
                self.progress(work.spec.device.name, status)
            assert work.result is not None
            results.append(self._with_steps(work.result))
        return results

    def read_running(self) -> dict[str, str | GovnetError]:
        """Each device's running configuration, or why it could not be read."""
        works = [_Work(spec, time.monotonic()) for spec in self.specs]
        try:
            self._parallel(lambda work: self._prepare(work, with_ipsec=False), works)
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
        """Back up, journal, push, verify, and restore what failed; a result per device.

        Refused while an earlier change's journal is open (see :meth:`recover`). SIGINT
        and SIGTERM stop the change: what was pushed is restored, every device is
        audited, the journal is closed, then :class:`Interrupted` is raised.
        """
        with self.journal.exclusive("apply"):
            self.journal.refuse_if_open()
            with self._interruptible():
                return self._apply()

    def _apply(self) -> list[DeviceResult]:
        works = [_Work(spec, time.monotonic()) for spec in self.specs]
        change: Change | None = None
        changed: list[_Work] = []
        shells = ThreadPoolExecutor(max_workers=max(1, self.options.workers))
        try:
            try:
                self._parallel(self._prepare, works)
                changed = [w for w in works if w.result is None and w.plan and w.plan.changed]
                for work in works:
                    if work.result is None and work.plan is not None and not work.plan.changed:
                        work.result = DeviceResult(
                            work.spec.device.name,
                            "unchanged",
                            seconds=time.monotonic() - work.started,
                        )
                        self.progress(work.spec.device.name, "unchanged")
                if changed:
                    self._open_shells(changed, shells)
                    for work in changed:
                        self.progress(work.spec.device.name, "taking a baseline")
                    self.baseline = take_baseline(self._sessions(works), self._nms())
                    if self.options.gate is not None:
                        for work in changed:
                            self.progress(work.spec.device.name, "probing before the change")
                        self.options.gate.before()
                    change = self._open_change(changed)
                    checkpoint("before-push", self._stopping)
                    self._parallel(self._arm, changed)  # the device's own undo timer
                    self._parallel(self._push, [w for w in changed if w.result is None])
                    pushed = [w for w in changed if w.result is None]
                    failed_devices = {w.spec.device.name for w in changed if w.result is not None}
                    failed_devices |= self._verify(pushed, works)
                    failed_devices |= self._verify_ipsec(pushed, failed_devices)
                    failed_devices |= self._gate(pushed, failed_devices)
                    rehearsed = set()
                    if self.options.rehearse:  # keep nothing: restore what verified too
                        rehearsed = {w.spec.device.name for w in pushed} - failed_devices
                        failed_devices |= rehearsed
                    confirmed = self._parallel(
                        self._confirm,
                        [w for w in pushed if w.armed and w.spec.device.name not in failed_devices],
                    )
                    failed_devices |= self._with_peers({n for n in confirmed if n}, pushed)
                    for work in pushed:
                        name = work.spec.device.name
                        if name not in failed_devices:
                            self.journal.set_phase(change, name, "verified")
                    to_restore = [w for w in changed if w.spec.device.name in failed_devices]
                    self._parallel(self._restore, to_restore)
                    for work in to_restore:
                        result = work.result
                        rehearsal = work.spec.device.name in rehearsed
                        if rehearsal and result is not None and result.status == "rolled-back":
                            result.status = "rehearsed"
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
            except _Stop:
                self._after_interrupt(works, changed, change)
        finally:
            self._close(works)
            shells.shutdown(wait=True, cancel_futures=True)
        results = []
        for work in works:
            assert work.result is not None
            if work.result.status == "applied" and not work.result.message and work.plan:
                work.result.message = ipsec_note(work.plan)
            if not work.result.seconds:
                work.result.seconds = time.monotonic() - work.started
            results.append(self._with_steps(work.result))
            self.audit.append(
                "apply",
                change=change.id if change else "",
                device=work.result.device,
                status=work.result.status,
                message=work.result.message,
                commands=work.result.commands,
                diff=work.result.diff,
            )
        if change is not None:
            self._close_change(change)
        if self._interrupted:
            restored = sorted(r.device for r in results if r.status == "rolled-back")
            failed = sorted(
                r.device for r in results if r.status == "failed" and "RESTORE FAILED" in r.message
            )
            what = f"restored {', '.join(restored)}" if restored else "nothing had been pushed"
            if failed:
                what += f"; could NOT restore {', '.join(failed)}"
            raise Interrupted(f"apply interrupted by {self._interrupted}: {what}", results)
        return results

    def _open_change(self, changed: list[_Work]) -> Change:
        """Journal the change (and back up) before anything is pushed."""
        entries = {}
        for work in changed:
            assert work.plan is not None
            name = work.spec.device.name
            saved = self.backups.save(name, work.plan.running)
            entries[name] = DeviceEntry(
                work.spec.platform.value,
                str(self.backups.restorable(saved).absolute()),
                digest(work.plan.running),
                [masking.mask_text(c) for c in work.plan.commands],
            )
            self._ipsec_backup(entries[name], work.plan)
            work.backup = work.plan.running
            work.ipsec_backup = work.plan.ipsec.running if work.plan.ipsec else None
        change = self.journal.open(entries, self.options.journal_context)
        self.change = change
        log.info("change %s journalled in %s", change.id, self.journal.path(change))
        return change

    def _ipsec_backup(self, entry: DeviceEntry, plan: DevicePlan) -> None:
        """Journal a router's ``swanctl.conf`` before the change, kept like its
        configuration: masked to read, unmasked (0600) to restore."""
        if plan.ipsec is None:
            return
        entry.ipsec_managed = True
        if plan.ipsec.running is not None:
            saved = self.backups.save(plan.name, plan.ipsec.running, ".swanctl.conf")
            entry.ipsec_pre_file = str(self.backups.restorable(saved).absolute())
            entry.ipsec_pre_sha256 = digest(plan.ipsec.running)

    def _close_change(self, change: Change) -> None:
        """Close the journal unless a device is left changed and unverified (then recover
        must finish it)."""
        stuck = sorted(n for n, e in change.devices.items() if e.phase in UNFINISHED - {"planned"})
        if stuck:
            log.warning("change %s left open: %s not restored", change.id, ", ".join(stuck))
            return
        outcomes = {e.phase for e in change.devices.values()}
        outcome = "interrupted" if self._interrupted else "applied"
        if "restored" in outcomes:
            outcome = "interrupted" if self._interrupted else "rolled back"
        self.journal.close(change, outcome)

    def _after_interrupt(
        self, works: list[_Work], changed: list[_Work], change: Change | None
    ) -> None:
        """Restore every device whose push started and did not verify; say so per device."""
        why = f"interrupted by {self._interrupted}"
        log.warning("apply %s: restoring what was pushed", why)
        to_restore = []
        for work in changed:
            name = work.spec.device.name
            phase = change.devices[name].phase if change else "planned"
            if phase in {"pushing", "pushed", "failed"}:
                work.result = work.result or DeviceResult(
                    name,
                    "rolled-back",
                    why,
                    work.plan.commands if work.plan else [],
                    work.plan.diff if work.plan else "",
                )
                to_restore.append(work)
            elif phase == "verified" and work.result is None:
                work.result = DeviceResult(
                    name,
                    "applied",
                    f"verified before being {why}",
                    work.plan.commands if work.plan else [],
                    work.plan.diff if work.plan else "",
                )
        self._parallel(self._restore, to_restore)
        for work in works:
            if work.result is None:
                work.result = DeviceResult(
                    work.spec.device.name, "failed", f"{why} before its push: unchanged"
                )
                if work.armed is not None:
                    self._disarm(work)

    def _disarm(self, work: _Work) -> None:
        """End the timer of a device armed but never pushed: left counting, it would
        undo whatever the next change does there."""
        armed, work.armed = work.armed, None
        assert armed is not None and work.result is not None
        name = work.spec.device.name
        try:
            if work.session is None:
                raise ProvisionError("no session")
            confirm.disarm(armed, work.session)
            if self.change is not None:
                self.journal.set_timer(self.change, name, {})
        except Exception as exc:  # per-device failure is data: the others go on
            work.result.message += (
                f"; its armed timer could not be ended ({failure(name, exc)}): it restores "
                "the config it saved before the change when it expires"
            )

    @contextmanager
    def _interruptible(self) -> Iterator[None]:
        """SIGINT/SIGTERM raise :class:`_Stop` once (in the main thread); later ones are
        ignored so the restore they caused is not cut short."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            del frame
            if self._interrupted:
                log.warning("%s ignored: restoring", signal.Signals(signum).name)
                return
            self._interrupted = signal.Signals(signum).name
            self._stopping.set()
            raise _Stop(self._interrupted)

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    # ----------------------------------------------------------------- recover

    def recover(self, change: Change) -> list[DeviceResult]:
        """Finish a change an apply left open (SIGKILL, crash): restore each device that
        had not verified to its pre-change config (checked byte for byte), confirm the
        ones that had, and close the journal once every device is settled. Running it
        again does nothing more: settled devices are only reported."""
        with self.journal.exclusive("recover"):
            self.change = change
            by_name = {spec.device.name: spec for spec in self.specs}
            works = [_Work(by_name[n], time.monotonic()) for n in change.devices if n in by_name]
            try:
                self._parallel(self._recover_one, works)
            finally:
                self._close(works)
            results = [w.result for w in works if w.result is not None]
            for name in sorted(set(change.devices) - set(by_name)):
                results.append(
                    DeviceResult(name, "failed", f"{name}: not in the inventory or lab given")
                )
            for result in results:
                self.audit.append(
                    "recover",
                    change=change.id,
                    device=result.device,
                    status=result.status,
                    message=result.message,
                    commands=change.devices[result.device].commands,
                )
            if all(e.phase in {"restored", "confirmed"} for e in change.devices.values()):
                self.journal.close(change, "recovered")
            return results

    def _recover_one(self, work: _Work) -> None:
        assert self.change is not None
        name = work.spec.device.name
        entry = self.change.devices[name]
        if entry.phase in {"verified", "confirmed"}:
            # the change had verified, so its device's timer was confirmed: keep it
            self.journal.set_phase(self.change, name, "confirmed")
            work.result = DeviceResult(
                name,
                "confirmed",
                "the change had verified before the interruption: kept",
                entry.commands,
            )
            return
        if entry.phase == "restored":
            work.result = DeviceResult(name, "restored", "already restored")
            return
        try:
            work.backup = entry.pre()
            work.ipsec_backup = entry.ipsec_pre()
            mechanism = confirm.MECHANISMS.get(work.spec.platform)
            armed = confirm.from_journal(mechanism, entry.timer) if mechanism else None
            self.progress(name, "connecting")
            work.session = self._connect(work.spec)
            if armed is not None:  # still counting: it would undo whatever comes next
                work.armed = self._reattach(work, armed)
            current = work.session.show(work.spec.dialect.show_running)
            ipsec_now = self._read_ipsec(work) if entry.ipsec_managed else None
        except GovnetError as exc:
            work.result = DeviceResult(name, "failed", f"cannot recover yet: {exc}")
            return
        work.ipsec_managed = entry.ipsec_managed
        untouched = not entry.ipsec_managed or ipsec_now == work.ipsec_backup
        if current == work.backup and untouched and work.armed is None:
            self.journal.set_phase(self.change, name, "restored", "untouched by the change")
            work.result = DeviceResult(
                name, "restored", "running config is byte-identical to before the change"
            )
            return
        work.result = DeviceResult(name, "rolled-back", "", entry.commands)
        self._restore(work)  # an armed device undoes it now, which also ends its timer
        if work.result.status == "rolled-back":
            work.result.status = "restored"

    def _reattach(self, work: _Work, armed: confirm.Armed) -> confirm.Armed:
        """The killed apply's armed timer, with the shell login its steps need (none
        reachable: contact is lost, and the device's timer undoes the change)."""
        if confirm.needs_shell(armed.mechanism):
            try:
                armed.shell = self._login_shell(work.spec)
            except ConnectError:
                armed.lost = True
        return armed

    # ----------------------------------------------------------------- confirm hook

    def _open_shells(self, changed: list[_Work], pool: ThreadPoolExecutor) -> None:
        """Start the shell logins arming will need, so they overlap the baseline (a
        tunnel end arms over the shell login its ``swanctl.conf`` was read through)."""
        for work in changed:
            mechanism = confirm.MECHANISMS.get(work.spec.platform)
            wanted = mechanism and confirm.needs_shell(mechanism) and self.options.shell_user
            if wanted and work.ipsec_shell is None:
                work.shell = pool.submit(self._login_shell, work.spec)

    def _shell_for(self, work: _Work) -> ExecSession:
        """The shell login opened during the baseline, the tunnel end's IPsec shell, or a
        new one; raises ConnectError."""
        opened, work.shell = work.shell, None
        if opened is not None:
            return opened.result()
        if work.ipsec_shell is not None and not work.ipsec_shell.closed:
            return work.ipsec_shell  # one SSH login fewer on the node
        return self._login_shell(work.spec)

    def _arm(self, work: _Work) -> None:
        """Arm the device's own undo before the push; no push when arming fails."""
        mechanism = confirm.MECHANISMS.get(work.spec.platform)
        if mechanism is None or (confirm.needs_shell(mechanism) and not self.options.shell_user):
            return
        name = work.spec.device.name
        assert work.session is not None and work.plan is not None
        try:
            self.progress(name, f"arming {mechanism.name}")
            work.armed = confirm.arm(
                mechanism,
                work.session,
                lambda: self._shell_for(work),
                self.options.confirm_timeout,
            )
            assert self.change is not None
            self.journal.set_timer(self.change, name, confirm.journal_record(work.armed))
        except Exception as exc:  # per-device failure is data: the others go on
            work.result = DeviceResult(
                name,
                "failed",
                f"not changed: could not arm {mechanism.name}: {failure(name, exc)}",
                work.plan.commands,
                work.plan.diff,
            )
            self.progress(name, "arm failed")

    def _confirm(self, work: _Work) -> str:
        """Confirm (and save) a verified change; the device's name when it was not."""
        name = work.spec.device.name
        assert work.armed is not None and work.session is not None and work.plan is not None
        checks = work.result.checks if work.result else []
        try:
            self.progress(name, "confirming")
            confirm.confirm(work.armed, work.session)
        except Exception as exc:  # per-device failure is data: the device undoes it
            work.result = DeviceResult(
                name,
                "rolled-back",
                f"not confirmed ({failure(name, exc)}): the device undoes the change by itself",
                work.plan.commands,
                work.plan.diff,
                checks,
            )
            return name
        work.armed = None
        if self.change is not None:
            self.journal.set_timer(self.change, name, {})  # confirmed: no timer is left
        try:
            work.session.save()
        except Exception as exc:  # per-device failure is data: the others go on
            work.result = DeviceResult(
                name,
                "failed",
                f"confirmed but not saved: {failure(name, exc)}",
                work.plan.commands,
                work.plan.diff,
                checks,
            )
        return ""

    def _with_peers(self, names: set[str], pushed: list[_Work]) -> set[str]:
        """``names`` and the changed devices across their changed links (already
        confirmed ones are then restored from here: a link is changed at both ends or
        at neither)."""
        plans = {w.spec.device.name: w.plan for w in pushed if w.plan is not None}
        mine = {n: p for n, p in plans.items() if n in names}
        out = set(names)
        for link in links_to_verify(self.inv, mine, self.options.lab_nodes) if mine else []:
            out |= {link.a_device, link.b_device} & set(plans)
        return out

    def _undo_armed(self, work: _Work) -> str:
        """Let an armed device undo the change: now, or — without contact — by its own
        timer (then reconnect). How it went; the caller checks the result either way."""
        armed = work.armed
        assert armed is not None
        work.armed = None
        try:
            if work.session is None:
                raise ConnectError("no session")
            confirm.cancel(armed, work.session)
            return "undone on the device"
        except ConnectError as exc:
            log.info("%s: %s; waiting for its timer", work.spec.device.name, exc)
        except Exception as exc:  # it answered but could not undo: restore from here
            return f"the device's undo failed ({failure(work.spec.device.name, exc)})"
        self.progress(work.spec.device.name, "waiting for the device to undo")
        confirm.wait_until_undone(armed)
        if work.session is not None:
            work.session.close()
            work.session = None
        deadline = time.monotonic() + confirm.RECONNECT_WINDOW
        while work.session is None:
            try:
                work.session = self._connect(work.spec)
            except ConnectError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(1.0)
        return "undone by the device itself (confirm timer, no contact)"

    # ----------------------------------------------------------------- push

    def _push(self, work: _Work) -> None:
        name = work.spec.device.name
        assert work.session is not None and work.plan is not None and self.change is not None
        if self._interrupted:
            return
        if self._pushed_one.is_set():
            checkpoint("between-devices", self._stopping)
            if self._interrupted:
                return
        self.journal.set_phase(self.change, name, "pushing")
        armed = work.armed
        try:
            self.progress(name, f"pushing {len(work.plan.commands)} commands")
            if armed is None:
                work.session.configure(work.plan.commands)
                work.session.save()
            else:  # saved once confirmed; past the device's timer there is no point waiting
                wait = max(5.0, armed.expires - time.monotonic())
                work.session.configure(work.plan.commands + armed.after_push, armed.enter, wait)
                armed.pushed()
            if work.plan.ipsec is not None and work.plan.ipsec.changed:
                self._push_ipsec(work, work.plan.ipsec)
            record = confirm.journal_record(armed) if armed and armed.starts_at_push else None
            self.journal.set_phase(self.change, name, "pushed", timer=record)
        except Exception as exc:  # per-device failure is data: the others go on
            message = failure(name, exc)
            status = "failed"
            if armed is not None and isinstance(exc, ConnectError):
                armed.lost = True  # the change is in; the device's timer takes it out
                status = "rolled-back"
            work.result = DeviceResult(name, status, message, work.plan.commands, work.plan.diff)
            self.journal.set_phase(self.change, name, "failed", message)
            self.progress(name, "push failed")
        finally:
            self._pushed_one.set()

    def _push_ipsec(self, work: _Work, plan: ipsec.IpsecPlan) -> None:
        """Write and load the new ``swanctl.conf``, then restart the connections it
        changed. An armed FRR timer is told first, so it also restores the old file."""
        name = work.spec.device.name
        shell = self._ipsec_shell(work)
        self.progress(name, f"loading swanctl.conf ({len(plan.changed_connections)} changed)")
        if work.armed is not None:
            starts = ipsec.initiators(plan.running)
            changed = {c: c in starts for c in plan.changed_connections}
            confirm.track_ipsec(work.armed, shell, changed)
        ipsec.write(name, shell, plan.wanted)
        ipsec.restart(name, shell, plan)

    def _verify_ipsec(self, pushed: list[_Work], failed: set[str]) -> set[str]:
        """Routers whose tunnels did not all come up under the new ``swanctl.conf`` in
        time (every connection of the file: IKE SA established, child SA installed)."""
        todo = [
            w
            for w in pushed
            if w.plan is not None
            and w.plan.ipsec_changed
            and w.spec.device.name not in failed
            and w.result is not None
            and w.result.status == "applied"
        ]
        if not todo:
            return set()
        deadline = self._verify_deadline(pushed, time.monotonic())

        def check(work: _Work) -> str:
            assert work.plan is not None and work.plan.ipsec is not None
            assert work.result is not None
            name = work.spec.device.name
            self.progress(name, "verifying IPsec tunnels")
            names = set(ipsec.connections(work.plan.ipsec.wanted))
            try:
                checks = ipsec.wait_established(name, self._ipsec_shell(work), names, deadline)
            except Exception as exc:  # no answer is a failed check
                checks = [f"FAILED: IPsec: {failure(name, exc)}"]
            work.result.checks += checks
            problems = [c.removeprefix("FAILED: ") for c in checks if c.startswith("FAILED")]
            if not problems:
                return ""
            work.result.status = "rolled-back"
            work.result.message = "verification failed: " + "; ".join(problems)
            return name

        return {n for n in self._parallel(check, todo) if n}

    def _sessions(self, works: list[_Work]) -> dict[str, tuple[Platform, Session]]:
        return {
            w.spec.device.name: (w.spec.platform, w.session)
            for w in works
            if w.session is not None and (w.result is None or w.result.status == "unchanged")
        }

    def _nms(self) -> Nms | None:
        """The NMS that checks every router loopback (a lab node, pinged from inside it)."""
        pinger, present = self.options.pinger, self.options.lab_nodes
        nms = next(
            (
                d.name
                for d in self.inv.devices
                if d.role is Role.NMS and (present is None or d.name in present)
            ),
            None,
        )
        if pinger is None or nms is None:
            return None
        loopbacks = {
            str(d.loopback): d.name
            for d in self.inv.devices
            if d.role in ROUTER_ROLES and d.loopback and (present is None or d.name in present)
        }
        return Nms(nms, lambda addresses: pinger.many(nms, addresses), loopbacks)

    def _verify_deadline(self, pushed: list[_Work], now: float) -> float:
        """``--confirm-timeout`` from ``now``, and early enough to leave the armed devices
        time to be confirmed."""
        deadline = now + self.options.confirm_timeout
        expiries = [w.armed.expires for w in pushed if w.armed is not None]
        if expiries:
            deadline = min(deadline, min(expiries) - confirm.RESERVE)
        return deadline

    def _verify(self, pushed: list[_Work], works: list[_Work]) -> set[str]:
        """Names of changed devices whose change did not verify in time: the changed ends
        of a touched link that failed, a changed device worse than before, and — when an
        unchanged device or the NMS is worse than before — every changed device."""
        assert self.baseline is not None
        plans = {w.spec.device.name: w.plan for w in pushed if w.plan is not None}
        if not plans:
            return set()
        links = links_to_verify(self.inv, plans, self.options.lab_nodes)
        for name in plans:
            self.progress(name, f"verifying ({len(links)} link(s) touched)")
        checkpoint("verifying", self._stopping)
        sessions = self._sessions(works)
        keep = {
            w.spec.device.name: keep_of(w.spec, w.plan.running)
            for w in works
            if w.plan is not None and w.spec.device.name in sessions
        }
        allowance = sum(keep[name].route_allowance for name in plans if name in keep)
        keep = {name: Keep(k.interfaces, k.bgp_peers, allowance) for name, k in keep.items()}
        now = time.monotonic()
        deadline = self._verify_deadline(pushed, now)
        risky = {
            w.spec.device.name
            for w in pushed
            if w.plan is not None and may_fail_later(w.spec, w.plan.running)
        }
        settle = settle_seconds(self.inv, risky, self.options.confirm_timeout / 2)
        verdict = verify_change(
            links,
            sessions,
            self.baseline,
            keep,
            self.options.pinger,
            self._nms(),
            deadline,
            settle_until=now + settle,
        )
        failed: set[str] = set()
        by_device: dict[str, list[str]] = {name: [] for name in plans}

        def note(names: set[str], check: LinkCheck) -> None:
            for name in names & set(plans):
                by_device[name] += [f"ok: {c}" for c in check.passed]
                by_device[name] += [f"FAILED: {c}" for c in check.failed]

        for link, check in zip(links, verdict.links, strict=True):
            ends = {link.a_device, link.b_device}
            note(ends, check)
            if not check.ok:
                failed |= ends & set(plans)
        for device, check in verdict.devices.items():
            note({device} if device in plans else set(plans), check)
            if not check.ok:
                failed |= {device} if device in plans else set(plans)
        note(set(plans), verdict.nms)
        if not verdict.nms.ok:
            failed |= set(plans)
        for work in pushed:
            name = work.spec.device.name
            if name in failed and work.result is None and work.plan is not None:
                problems = [
                    c.removeprefix("FAILED: ") for c in by_device[name] if c.startswith("FAILED")
                ]
                work.result = DeviceResult(
                    name,
                    "rolled-back",
                    "verification failed: " + "; ".join(dict.fromkeys(problems)),
                    work.plan.commands,
                    work.plan.diff,
                    by_device[name],
                )
            elif work.result is None and work.plan is not None:
                work.result = DeviceResult(
                    name, "applied", "", work.plan.commands, work.plan.diff, by_device.get(name, [])
                )
        return failed

    def _gate(self, pushed: list[_Work], failed: set[str]) -> set[str]:
        """Every changed device when the gate finds a problem after a verified push. A
        rehearsal probes even when verification failed (it reports what the change did)."""
        gate = self.options.gate
        verified = [w for w in pushed if w.spec.device.name not in failed]
        if gate is None or not pushed or not (verified or self.options.rehearse):
            return set()
        for work in pushed:
            self.progress(work.spec.device.name, "probe gate: one probe cycle")
        try:
            problems = gate.after()
        except Exception as exc:  # no verdict is a failed gate: the change is undone
            problems = [f"probe gate: no verdict: {failure('probes', exc)}"]
        if not problems:
            for work in verified:
                if work.result is not None:
                    work.result.checks.append("ok: probe gate: every site up before is up")
            return set()
        for work in verified:
            assert work.plan is not None
            checks = (work.result.checks if work.result else []) + [
                f"FAILED: {p}" for p in problems
            ]
            work.result = DeviceResult(
                work.spec.device.name,
                "rolled-back",
                "; ".join(problems),
                work.plan.commands,
                work.plan.diff,
                checks,
            )
        return {w.spec.device.name for w in pushed}

    def _restore_ipsec(self, work: _Work) -> bool:
        """Put the ``swanctl.conf`` from before the change back (unless the device's own
        timer already did) and restart the connections that differ; whether the file is
        now byte-identical to it."""
        name = work.spec.device.name
        try:
            now = ipsec.read(name, self._ipsec_shell(work))
        except ConnectError:  # the login from before the change may not have survived it
            if work.ipsec_shell is not None:
                work.ipsec_shell.close()
                work.ipsec_shell = None
            now = ipsec.read(name, self._ipsec_shell(work))
        shell = self._ipsec_shell(work)
        if now != work.ipsec_backup:
            back = ipsec.plan_ipsec(name, now, work.ipsec_backup or "")
            ipsec.write(name, shell, work.ipsec_backup)
            ipsec.restart(name, shell, back)
            now = ipsec.read(name, shell)
        return now == work.ipsec_backup

    def _restore(self, work: _Work) -> None:
        name = work.spec.device.name
        backup = work.backup
        self.progress(name, "restoring backup")
        result = work.result or DeviceResult(name, "rolled-back")
        result.status = "rolled-back" if result.status != "failed" else "failed"
        saved = work.armed is None  # an armed change was never saved
        try:
            if work.armed is not None:
                undone = self._undo_armed(work)
                result.message = f"{result.message}; {undone}" if result.message else undone
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
            if undo or saved:
                work.session.save()
            after = work.session.show(dialect.show_running)
            same = after == backup
            if work.ipsec_managed:
                same = self._restore_ipsec(work) and same
            note = "config restored byte-for-byte" if same else "config restored (text differs!)"
            result.message = f"{result.message}; {note}" if result.message else note
            if not same:
                result.status = "failed"
        except Exception as exc:  # per-device failure is data: the others go on
            result.status = "failed"
            result.message = f"{result.message}; RESTORE FAILED: {failure(name, exc)}"
        result.seconds = time.monotonic() - work.started
        work.result = result
        if self.change is not None:
            restored = result.status == "rolled-back"
            self.journal.set_phase(
                self.change, name, "restored" if restored else "failed", result.message
            )
        self.progress(name, result.status)
