"""Start a daemon, remember it in a pid file, and stop only that process.

A pid file holds the PID *and* the process start time (``/proc/PID/stat`` field 22)
and the command line, so a recycled PID is never mistaken for ours: ``stop`` signals a
process only when all three still match. No pkill, no killall, no process names.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from controller.io import atomic_write_text
from controller.soc.errors import SocError


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int
    argv: tuple[str, ...]
    log: str

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


def _cmdline(pid: int) -> tuple[str, ...] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def is_running(record: ProcessRecord) -> bool:
    """True when the PID is alive (not a zombie) and is still the process we started."""
    fields = _stat_fields(record.pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return int(fields[19]) == record.start_ticks and _cmdline(record.pid) == record.argv


def read_record(path: Path) -> ProcessRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ProcessRecord(
            name=str(data["name"]),
            pid=int(data["pid"]),
            start_ticks=int(data["start_ticks"]),
            argv=tuple(str(a) for a in data["argv"]),
            log=str(data["log"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SocError(f"{path}: unreadable pid file ({type(exc).__name__}); remove it") from exc


def start(name: str, argv: list[str], pid_file: Path, log_file: Path, cwd: Path) -> ProcessRecord:
    """Start ``argv`` in its own session (so a Ctrl-C of the caller does not reach it),
    output to ``log_file``; write the pid file at once."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if log_file.exists():
        log_file.replace(log_file.with_suffix(log_file.suffix + ".1"))
    with open(log_file, "wb") as log:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise SocError(f"cannot start {name} ({argv[0]}): {exc.strerror or exc}") from exc
    ticks = None
    for _ in range(100):  # /proc entry appears with the fork; bounded anyway
        ticks = start_ticks(proc.pid)
        if ticks is not None:
            break
        time.sleep(0.01)
    record = ProcessRecord(name, proc.pid, ticks or 0, tuple(argv), str(log_file))
    atomic_write_text(pid_file, record.to_json())
    return record


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
