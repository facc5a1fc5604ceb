"""Run a playbook with ansible-runner: one kept private data dir per run, events streamed
to a progress callback, per-host results returned as data, each run in the audit log.

``<state-dir>/ansible/runs/<UTC timestamp>-<playbook>/`` holds ``inventory/hosts.yml``,
``project/<playbook>.yml`` (the copy that ran), ``env/`` (extravars, envvars, cmdline —
no secrets) and ``artifacts/run/`` (events, stdout, rc). Passwords reach Ansible only as
``lookup('env', …)`` of the controller's environment; ansible-runner records that
environment in ``artifacts/run/command``, so secret values are masked there as soon as it
is written, and every file of the run is scrubbed of them at the end.

In a lab, ansible-runner is called from a thread inside the lab's management namespace
(:func:`simulations.netns.in_netns`): ansible-playbook and every ssh it starts inherit the
namespace, so no lab address is ever contacted from the root namespace.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.ansible.errors import PlaybookError
from controller.ansible.events import Aggregator, HostResult, TaskEvent
from controller.ansible.inventory import addresses
from controller.ansible.playbooks import Playbook
from controller.ansible.preflight import Refusal, check_host_keys
from controller.ansible.scrub import mask_command_artifact, scrub_tree, secret_env_names
from controller.provision.hostkeys import HostKeyStore
from controller.provision.store import AuditLog, timestamp
from controller.provision.transport import SocketFactory, plain_socket
from controller.secrets import resolve_secret

log = logging.getLogger(__name__)
IDENT = "run"
ProgressFn = Callable[[TaskEvent], None]


def no_progress(event: TaskEvent) -> None:
    del event


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs (no secret values: references only)."""

    playbook: Playbook
    inventory: dict[str, Any]
    extravars: dict[str, Any] = field(default_factory=dict)
    check: bool = False
    state_dir: Path = Path(".govnet")
    netns: str | None = None
    lab: str | None = None
    trust_on_first_use: bool = False
    forks: int = 10
    timeout: float = 900.0
    secret_refs: frozenset[str] = frozenset()

    @property
    def hosts(self) -> list[str]:
        return sorted(self.inventory["all"]["hosts"])


@dataclass
class PlaybookRun:
    playbook: str
    check: bool
    run_dir: Path
    status: str
    """successful | failed | timeout | canceled (ansible-runner); refused: no host passed
    the host-key check; error | interrupted: the run itself broke (re-raised)"""
    rc: int | None
    seconds: float
    hosts: list[HostResult]
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status != "successful" or any(h.bad for h in self.hosts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "mode": "check" if self.check else "run",
            "status": self.status,
            "failed": self.failed,
            "rc": self.rc,
            "seconds": round(self.seconds, 3),
            "run_dir": str(self.run_dir),
            "hosts": [h.as_dict() for h in self.hosts],
            "errors": self.errors,
        }


# --------------------------------------------------------------------------- the runner seam


@dataclass(frozen=True)
class RunnerCall:
    """The arguments of one ``ansible_runner.run`` (tests pass a fake runner instead)."""

    private_data_dir: Path
    playbook: str
    inventory: Path
    extravars: dict[str, Any]
    envvars: dict[str, str]
    cmdline: str
    forks: int
    timeout: int
    limit: str
    event_handler: Callable[[dict[str, Any]], bool]
    status_handler: Callable[[dict[str, Any], Any], None]
    cancel_callback: Callable[[], bool]


@dataclass(frozen=True)
class RunnerOutcome:
    status: str
    rc: int | None


RunnerFn = Callable[[RunnerCall], RunnerOutcome]
HostKeyCheck = Callable[[dict[str, str]], dict[str, Refusal]]
"""Host → address in; hosts that must not be contacted (and why) out."""


def ansible_runner_fn(call: RunnerCall) -> RunnerOutcome:
    """The real thing: ``ansible_runner.run`` (ansible-playbook under pexpect)."""
    import ansible_runner
    from ansible_runner.exceptions import AnsibleRunnerException

    try:
        result = ansible_runner.run(
            private_data_dir=str(call.private_data_dir),
            ident=IDENT,
            playbook=call.playbook,
            inventory=str(call.inventory),
            limit=call.limit,  # extravars, envvars and cmdline: read from env/ (written by us)
            forks=call.forks,
            timeout=call.timeout,
            event_handler=call.event_handler,
            status_handler=call.status_handler,
            cancel_callback=call.cancel_callback,
            quiet=True,
        )
    except (AnsibleRunnerException, OSError) as exc:
        raise PlaybookError(f"ansible-runner failed: {exc}") from exc
    return RunnerOutcome(str(result.status), result.rc)


def search_path() -> str:
    """PATH for ansible-playbook: this Python's bin directory (the venv, where ansible-core
    is installed; also where ssh finds ``ansible`` as its askpass helper) comes first."""
    here = Path(sys.executable).parent
    current = os.environ.get("PATH", os.defpath)
    if not (here / "ansible-playbook").is_file():
        if shutil.which("ansible-playbook", path=current) is None:
            raise PlaybookError("ansible-playbook not found (ansible-core is a govnet dependency)")
        return current
    return f"{here}{os.pathsep}{current}"


def socket_factory(netns: str | None) -> SocketFactory:
    """TCP connections from ``netns`` (the lab's management namespace), else from here."""
    if netns is None:
        return plain_socket
    from simulations.netns import netns_connect

    def in_lab(host: str, port: int, timeout: float) -> socket.socket:
        return netns_connect(netns, (host, port), timeout)

    return in_lab


# --------------------------------------------------------------------------- one run


def prepare_run_dir(spec: RunSpec) -> Path:
    """The private data dir: inventory, the playbook copy, a local temp dir."""
    run_dir = spec.state_dir.resolve() / "ansible" / "runs" / f"{timestamp()}-{spec.playbook.name}"
    (run_dir / "inventory").mkdir(parents=True)
    (run_dir / "project").mkdir()
    (run_dir / "tmp").mkdir()
    run_dir.chmod(0o700)
    (run_dir / "inventory" / "hosts.yml").write_text(
        yaml.safe_dump(spec.inventory, sort_keys=False), encoding="utf-8"
    )
    shutil.copy2(spec.playbook.path, run_dir / "project" / spec.playbook.path.name)
    return run_dir


def write_env_files(
    run_dir: Path, extravars: dict[str, Any], envvars: dict[str, str], cmdline: str
) -> None:
    """``env/extravars``, ``env/envvars``, ``env/cmdline``: what ansible-runner reads, kept
    as the record of the run. Nothing secret goes here."""
    env = run_dir / "env"
    env.mkdir(exist_ok=True)
    (env / "extravars").write_text(json.dumps(extravars, indent=2) + "\n", encoding="utf-8")
    (env / "envvars").write_text(json.dumps(envvars, indent=2) + "\n", encoding="utf-8")
    (env / "cmdline").write_text(cmdline, encoding="utf-8")


def ansible_env(run_dir: Path, known_hosts: Path) -> dict[str, str]:
    """Settings for ansible-playbook (written to ``env/envvars``: nothing secret)."""
    ssh_args = [
        "-o ControlMaster=no",  # ControlPersist leaves ssh processes behind for 60 s
        "-o ControlPersist=no",
        f"-o UserKnownHostsFile={shlex.quote(str(known_hosts))}",
        "-o GlobalKnownHostsFile=/dev/null",
        "-o StrictHostKeyChecking=yes",
    ]
    return {
        "ANSIBLE_SSH_ARGS": " ".join(ssh_args),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCAL_TEMP": str(run_dir / "tmp"),
        "ANSIBLE_INVENTORY_ENABLED": "yaml",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_TIMEOUT": "10",
        "PATH": search_path(),
    }


def run_playbook(
    spec: RunSpec,
    progress: ProgressFn = no_progress,
    *,
    runner: RunnerFn = ansible_runner_fn,
    check_keys: HostKeyCheck | None = None,
) -> PlaybookRun:
    """Check host keys, run the playbook, return per-host results; audit the run.

    A failed or unreachable host is data in the result. A run that failed without any
    host result (syntax error, ansible crash) raises :class:`PlaybookError` after auditing.
    """
    started = time.monotonic()
    secrets = {
        resolve_secret(ref, f"{spec.playbook.name}: login password") for ref in spec.secret_refs
    }
    run_dir = prepare_run_dir(spec)
    known_hosts = spec.state_dir.resolve() / "known_hosts"
    if check_keys is None:
        store = HostKeyStore(known_hosts)

        def check_keys(hosts: dict[str, str]) -> dict[str, Refusal]:
            return check_host_keys(
                hosts,
                store,
                trust_on_first_use=spec.trust_on_first_use,
                open_socket=socket_factory(spec.netns),
            )

    refused = check_keys(addresses(spec.inventory))
    targets = [h for h in spec.hosts if h not in refused]
    aggregator = Aggregator(spec.hosts)
    for refusal in refused.values():
        _refuse(aggregator, refusal, progress)
    status: str = "refused"
    rc: int | None = None
    try:
        if targets:
            context = _Context(run_dir, known_hosts, aggregator, progress, secrets)
            status, rc = _run(spec, context, targets, runner)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "error"
        raise
    finally:  # audited and scrubbed whatever happened
        scrub_tree(run_dir, secrets)
        run = PlaybookRun(
            spec.playbook.name,
            spec.check,
            run_dir,
            status,
            rc,
            time.monotonic() - started,
            aggregator.results(),
            aggregator.errors,
        )
        _audit(spec, run)
    touched = [h for h in run.hosts if h.ok or h.failed or h.skipped or h.unreachable]
    if status not in ("successful", "refused") and not touched:
        detail = run.errors[0] if run.errors else _stdout_tail(run_dir)
        raise PlaybookError(
            f"ansible-playbook {status} (rc {rc}) before reaching any host: {detail} "
            f"(see {run_dir}/artifacts/{IDENT}/stdout)"
        )
    return run


def _refuse(aggregator: Aggregator, refusal: Refusal, progress: ProgressFn) -> None:
    result = aggregator.host(refusal.host)
    result.unreachable += 1
    result.messages.append(refusal.message)
    progress(TaskEvent(refusal.host, "host key", "unreachable", refusal.message))


@dataclass(frozen=True)
class _Context:
    run_dir: Path
    known_hosts: Path
    aggregator: Aggregator
    progress: ProgressFn
    secrets: set[str]


def _run(
    spec: RunSpec, ctx: _Context, targets: list[str], runner: RunnerFn
) -> tuple[str, int | None]:
    run_dir, aggregator, progress, secrets = ctx.run_dir, ctx.aggregator, ctx.progress, ctx.secrets
    envvars = ansible_env(run_dir, ctx.known_hosts)
    names = secret_env_names(dict(os.environ), spec.secret_refs)
    command_file = run_dir / "artifacts" / IDENT / "command"
    cancel = threading.Event()
    lock = threading.Lock()
    cmdline = "--check --diff" if spec.check else "--diff"
    write_env_files(run_dir, spec.extravars, envvars, cmdline)

    def on_event(event: dict[str, Any]) -> bool:
        with lock:
            update = aggregator.feed(event)
        if update is not None:
            progress(update)
        return True  # keep the event in artifacts/run/job_events

    def on_status(data: dict[str, Any], runner_config: Any = None) -> None:
        del runner_config
        if data.get("status") == "running":  # `command` (with the environment) now exists
            mask_command_artifact(command_file, names, secrets)

    call = RunnerCall(
        private_data_dir=run_dir,
        playbook=spec.playbook.path.name,
        inventory=run_dir / "inventory" / "hosts.yml",
        extravars=dict(spec.extravars),
        envvars=envvars,
        cmdline=cmdline,
        forks=max(1, min(spec.forks, len(targets))),
        timeout=int(spec.timeout),
        limit=",".join(targets),
        event_handler=on_event,
        status_handler=on_status,
        cancel_callback=cancel.is_set,
    )
    log.debug("%s: %d host(s), artifacts in %s", spec.playbook.name, len(targets), run_dir)
    try:
        if spec.netns is None:
            outcome = runner(call)
        else:
            from simulations.netns import in_netns

            outcome = in_netns(spec.netns, lambda: runner(call), timeout=spec.timeout + 60)
    except KeyboardInterrupt:
        cancel.set()  # ansible-runner stops ansible-playbook at its next poll
        raise
    finally:
        mask_command_artifact(command_file, names, secrets)
    log.debug("%s: ansible-runner %s (rc %s)", spec.playbook.name, outcome.status, outcome.rc)
    return outcome.status, outcome.rc


def _stdout_tail(run_dir: Path) -> str:
    path = run_dir / "artifacts" / IDENT / "stdout"
    try:
        lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    except OSError:
        return "no output"
    return " / ".join(lines[-3:])[:400] or "no output"


def _audit(spec: RunSpec, run: PlaybookRun) -> None:
    AuditLog(spec.state_dir / "audit.log").append(
        "playbook",
        playbook=run.playbook,
        mode="check" if run.check else "run",
        lab=spec.lab,
        hosts=spec.hosts,
        status=run.status,
        failed=run.failed,
        rc=run.rc,
        seconds=round(run.seconds, 3),
        run_dir=str(run.run_dir),
        results={
            h.host: {
                "status": h.status,
                "ok": h.ok,
                "changed": h.changed,
                "failed": h.failed,
                "unreachable": h.unreachable,
            }
            for h in run.hosts
        },
    )
