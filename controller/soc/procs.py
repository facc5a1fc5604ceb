"""Start a daemon, remember it in a pid file, and stop only that process.

A daemon is known by its PID, its start time (``/proc/PID/stat`` field 22, fixed at fork)
and the program it runs (``/proc/PID/exe``, fixed at exec), recorded only once the exec is
confirmed: ``subprocess.Popen`` returns after the child's close-on-exec error pipe closed,
and ``start`` then waits (bounded) until ``/proc/PID/exe`` is the binary. A recycled PID
has another start time, so it is never mistaken for ours; ``stop`` signals a process only
when the identity still matches. No pkill, no killall, no process names.

The command line is *not* part of the identity: right after exec the kernel shows an
empty ``/proc/PID/cmdline`` until the new program's arguments are set up, so comparing it
misjudged a healthy daemon as exited on a loaded machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from controller.io import atomic_write_text
from controller.soc.errors import SocError

EXEC_TIMEOUT = 10.0
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int
    argv: tuple[str, ...]
    log: str
    exe: str = ""  # /proc/PID/exe once the exec was confirmed ("" in old pid files)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "argv": list(self.argv)}, indent=2) + "\n"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: split after its last ')'
    return raw[raw.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def exe_of(pid: int) -> str | None:
    """The program a process runs (``/proc/PID/exe``); None when it is gone."""
    try:
        target = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    return target.removesuffix(" (deleted)")  # the package was upgraded under it


def expected_exe(argv0: str) -> str:
    """What ``/proc/PID/exe`` shows once ``argv0`` was exec'd (PATH looked up, links resolved)."""
    found = shutil.which(argv0) if os.sep not in argv0 else argv0
    return os.path.realpath(found or argv0)


def is_running(record: ProcessRecord) -> bool:
    """True when the PID is alive (not a zombie) and is still the process we started:
    same start time and, where recorded, same program."""
    fields = _stat_fields(record.pid)
    if not fields or fields[0] in ("Z", "X") or int(fields[19]) != record.start_ticks:
        return False
    if not record.exe:
        return True
    exe = exe_of(record.pid)
    # unreadable exe (a kernel quirk, never ours to guess) counts as "still ours"
    return exe is None or exe == record.exe


def read_record(path: Path) -> ProcessRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ProcessRecord(
            name=str(data["name"]),
            pid=int(data["pid"]),
            start_ticks=int(data["start_ticks"]),
            argv=tuple(str(a) for a in data["argv"]),
            log=str(data["log"]),
            exe=str(data.get("exe", "")),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SocError(f"{path}: unreadable pid file ({type(exc).__name__}); remove it") from exc


def _netns_entry(netns: str) -> Callable[[], None]:
    """A ``preexec_fn`` moving the child into ``/run/netns/<netns>`` before its exec."""
    path = NETNS_DIR / netns
    if "/" in netns or not path.exists():
        raise SocError(f"network namespace {netns!r} does not exist (is the lab up?)")

    def enter() -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)

    return enter


def start(
    name: str,
    argv: list[str],
    pid_file: Path,
    log_file: Path,
    cwd: Path,
    exec_timeout: float = EXEC_TIMEOUT,
    netns: str | None = None,
) -> ProcessRecord:
    """Start ``argv`` in its own session (so a Ctrl-C of the caller does not reach it),
    output to ``log_file`` — inside the lab namespace ``netns`` if given; once the exec
    is confirmed, write the pid file. Whatever goes wrong after the fork, the child is
    stopped again before the error is raised."""
    preexec = _netns_entry(netns) if netns else None
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if log_file.exists():
        log_file.replace(log_file.with_suffix(log_file.suffix + ".1"))
    with open(log_file, "wb") as log:
        try:
            # Popen returns only after the exec succeeded (its error pipe is close-on-exec)
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
                preexec_fn=preexec,
            )
        except subprocess.SubprocessError as exc:  # the preexec_fn (setns) failed
            raise SocError(f"cannot start {name} in {netns}: {exc}") from exc
        except OSError as exc:
            raise SocError(f"cannot start {name} ({argv[0]}): {exc.strerror or exc}") from exc
    try:
        record = _confirm(name, proc, argv, str(log_file), exec_timeout)
        atomic_write_text(pid_file, record.to_json())
    except BaseException:
        _kill_child(proc)
        pid_file.unlink(missing_ok=True)
        raise
    return record


def _confirm(
    name: str, proc: subprocess.Popen[bytes], argv: list[str], log: str, timeout: float
) -> ProcessRecord:
    """The identity of a started child, once ``/proc/PID/exe`` is the program (bounded)."""
    want = expected_exe(argv[0])
    deadline = time.monotonic() + timeout
    while True:
        ticks = start_ticks(proc.pid)
        exe = exe_of(proc.pid)
        if ticks is not None and exe == want:
            return ProcessRecord(name, proc.pid, ticks, tuple(argv), log, exe)
        if proc.poll() is not None:
            detail = log_tail(None, Path(log))
            raise SocError(
                f"{name} exited at start (status {proc.returncode})"
                + (f": {detail}" if detail else "")
            )
        if time.monotonic() >= deadline:
            raise SocError(f"{name}: {want} was not running after {timeout:.0f} s (exe {exe})")
        time.sleep(0.01)


def _kill_child(proc: subprocess.Popen[bytes]) -> None:
    """Stop a child we just started (TERM, then KILL), and reap it; bounded."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child (no zombie left behind)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop(record: ProcessRecord, grace: float = 10.0) -> bool:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL. False if it was not running."""
    if not is_running(record):
        _reap(record.pid)
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(record.pid)
            if not is_running(record):
                return True
            time.sleep(0.05)
    raise SocError(f"{record.name} (pid {record.pid}) did not stop")


def log_tail(record: ProcessRecord | None, path: Path | None = None, lines: int = 3) -> str:
    """The last lines of a component's log, for error messages."""
    target = Path(record.log) if record else path
    if target is None:
        return ""
    try:
        text = target.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = [line.strip() for line in text.strip().splitlines()[-lines:]]
    return " | ".join(line[:300] for line in tail if line)
