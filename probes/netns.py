"""Move the calling thread into a named network namespace (``/run/netns/NAME``).

Only the polling thread does this, after the HTTP listener was opened in the root
namespace: every socket and fping process made afterwards by that thread lives in the
lab, while /metrics stays on the root namespace's loopback.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from controller.errors import UsageError

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def netns_file(name: str) -> Path:
    if not name or "/" in name or name in (".", ".."):
        raise UsageError(f"--netns {name!r}: not a network namespace name")
    path = NETNS_DIR / name
    if not path.exists():
        raise UsageError(f"--netns {name}: no such network namespace (see `ip netns list`)")
    return path


def enter(name: str) -> None:
    """setns(CLONE_NEWNET) for the calling thread; UsageError in one line on failure."""
    path = netns_file(name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise UsageError(f"--netns {name}: cannot open {path}: {exc.strerror}") from exc
    try:
        setns = getattr(os, "setns", None)  # Python >= 3.12
        if setns is not None:
            try:
                setns(fd, CLONE_NEWNET)
            except OSError as exc:
                raise UsageError(f"--netns {name}: setns failed: {exc.strerror}") from exc
        elif _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise UsageError(f"--netns {name}: setns failed: {os.strerror(err)} (needs root)")
    finally:
        os.close(fd)
