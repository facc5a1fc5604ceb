"""Run code and open sockets inside a named network namespace.

``in_netns`` runs a callable in a dedicated thread that joins the namespace with
``setns(CLONE_NEWNET)``; the calling thread never changes namespace. A socket keeps the
namespace it was created in, so sockets opened this way can be used from any thread:
that is how govnet clients (netmiko, pysnmp) reach the lab from the management namespace
without any lab address ever existing in the root namespace.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from simulations.errors import CommandError, LabError

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)


def netns_path(ns: str) -> Path:
    if not ns or "/" in ns or ns in (".", ".."):
        raise LabError(f"invalid network namespace name {ns!r}")
    return NETNS_DIR / ns


def netns_exists(ns: str) -> bool:
    return netns_path(ns).exists()


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python >= 3.12
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def in_netns(ns: str, func: Callable[[], T], timeout: float = 60.0) -> T:
    """Call ``func()`` in a fresh thread inside namespace ``ns`` and return its result.

    The worker thread enters ``ns``, runs ``func``, then returns to its original
    namespace before it ends. Exceptions from ``func`` propagate to the caller.
    """
    path = netns_path(ns)
    result: list[T] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        except OSError as exc:
            errors.append(LabError(f"cannot open own network namespace: {exc.strerror}"))
            return
        try:
            target = os.open(path, os.O_RDONLY)
        except OSError as exc:
            os.close(own)
            errors.append(LabError(f"network namespace {ns!r} does not exist ({exc.strerror})"))
            return
        try:
            _setns(target)
            try:
                result.append(func())
            finally:
                _setns(own)
        except BaseException as exc:
            errors.append(exc)
        finally:
            os.close(target)
            os.close(own)

    thread = threading.Thread(target=worker, name=f"netns-{ns}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise LabError(f"operation in namespace {ns!r} did not finish within {timeout:.0f}s")
    if errors:
        raise errors[0]
    return result[0]


def netns_socket(
    ns: str, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM, proto: int = 0
) -> socket.socket:
    """A socket created inside ``ns`` (usable from any thread afterwards)."""
    return in_netns(ns, lambda: socket.socket(family, type, proto))


def netns_connect(ns: str, address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    """A TCP connection opened from inside ``ns`` (e.g. ``sock=`` for netmiko/paramiko)."""
    return in_netns(ns, lambda: socket.create_connection(address, timeout=timeout), timeout + 5)


def write_sysctl(ns: str, values: Mapping[str, str]) -> None:
    """Set ``net.*`` sysctls of namespace ``ns`` without spawning a process."""

    def apply() -> None:
        for key, value in values.items():
            Path("/proc/sys", *key.split(".")).write_text(value + "\n", encoding="ascii")

    try:
        in_netns(ns, apply)
    except OSError as exc:
        raise LabError(f"{ns}: cannot set sysctl: {exc}") from exc


def run_in_netns(
    ns: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 30.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` inside ``ns`` with ``ip netns exec`` (also joins its /sys view)."""
    netns_path(ns)
    return run(
        ["ip", "netns", "exec", ns, *argv], env=env, input=input, timeout=timeout, check=check
    )


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 30.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command; failures become :class:`CommandError` with the argv and stderr."""
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        proc = subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CommandError(argv, None, f"{argv[0]}: not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(argv, None, f"timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr or proc.stdout)
    return proc
