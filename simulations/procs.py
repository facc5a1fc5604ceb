"""Processes of lab namespaces: find them, check them, end them — by PID only."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from simulations.netns import netns_path

PROC = Path("/proc")


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        stat = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()
    return bool(state) and state[0] not in ("Z", "X")


def read_pidfile(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def netns_ids(namespaces: Iterable[str]) -> set[tuple[int, int]]:
    """The (device, inode) identity of each named namespace that still exists."""
    return {ident for ns in namespaces if (ident := _inode(netns_path(ns))) is not None}


def pids_in_netns_ids(ids: set[tuple[int, int]]) -> list[int]:
    """Live PIDs in namespaces known by identity — also after their name was deleted."""
    if not ids:
        return []
    me = os.getpid()
    return [
        int(entry.name)
        for entry in PROC.iterdir()
        if entry.name.isdigit()
        and int(entry.name) != me
        and _inode(entry / "ns" / "net") in ids
        and pid_alive(int(entry.name))
    ]


def pids_in_netns(namespaces: Iterable[str]) -> dict[str, list[int]]:
    """Live PIDs whose network namespace is one of ``namespaces`` (like ``ip netns pids``)."""
    wanted: dict[tuple[int, int], str] = {}
    for ns in namespaces:
        ident = _inode(netns_path(ns))
        if ident is not None:
            wanted[ident] = ns
    found: dict[str, list[int]] = {ns: [] for ns in wanted.values()}
    if not wanted:
        return found
    me = os.getpid()
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        ident = _inode(entry / "ns" / "net")
        if ident in wanted and pid_alive(int(entry.name)):
            found[wanted[ident]].append(int(entry.name))
    return found


def terminate(pids: Iterable[int], grace: float = 3.0, poll: float = 0.05) -> list[int]:
    """SIGTERM ``pids``, wait up to ``grace`` s, SIGKILL survivors, wait again (bounded).

    Returns the PIDs still alive at the end (should be empty)."""
    targets = sorted({p for p in pids if p > 1 and p != os.getpid()})
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        alive = [p for p in targets if pid_alive(p)]
        if not alive:
            return []
        for pid in alive:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
            except PermissionError:
                continue
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(pid_alive(p) for p in alive):
            time.sleep(poll)
    return [p for p in targets if pid_alive(p)]


def wait_for_pidfile(path: Path, timeout: float = 5.0, poll: float = 0.02) -> int | None:
    """Wait (bounded) until ``path`` names a live PID."""
    deadline = time.monotonic() + timeout
    while True:
        pid = read_pidfile(path)
        if pid is not None and pid_alive(pid):
            return pid
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def rss_kib(pids: Iterable[int]) -> int:
    """Sum of VmRSS (KiB) of ``pids`` that are alive."""
    total = 0
    for pid in pids:
        try:
            for line in (PROC / str(pid) / "status").read_text(encoding="ascii").splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except (OSError, ValueError):
            continue
    return total


def pss_kib(pids: Iterable[int]) -> int:
    """Sum of proportional set size (KiB): shared pages split among their users."""
    total = 0
    for pid in pids:
        try:
            text = (PROC / str(pid) / "smaps_rollup").read_text(encoding="ascii")
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
                break
    return total
