"""A real PostgreSQL server for the tests: Debian's postgresql binaries, a cluster made by
initdb in a fresh temp dir, no TCP at all (``listen_addresses=''``), its unix socket in
that dir — so suites running at the same time never meet.

PostgreSQL refuses to run as root: under root the server runs as the ``postgres`` system
user, which owns the temp dir. It is stopped by its PID and the dir removed at the end.
A run killed outright (SIGKILL skips every ``finally``) leaves its server behind: the dir
names the test process that owns it, and the next start stops the servers of owners that
are gone (:func:`sweep_stale`).
Settings for speed (``fsync=off``): the cluster is thrown away after the session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
SUPERUSER = "govnet_admin"
PREFIX = "govnet-pg-"
OWNER = "owner"
"""In each server's dir: the test process that started it, as ``<pid> <start time>``."""
PASSWORD_USER = "govnet_pw"
"""A role that must give a password (scram-sha-256): the auth-failure tests use it."""


def available() -> bool:
    return all((PG_BIN / name).is_file() for name in ("initdb", "postgres"))


@dataclass
class PgServer:
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@/{dbname}?host={self.socket_dir}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.socket_dir), dbname="postgres", user=SUPERUSER, autocommit=True
        )

    @contextmanager
    def database(self, name: str) -> Iterator[str]:
        """A fresh database for one test (its URL); dropped afterwards. The password role
        owns it, so it may create the stores' schemas too."""
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {PASSWORD_USER}'.encode())
        try:
            yield self.url(name)
        finally:
            with self.admin() as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)'.encode())


def _as_postgres() -> dict[str, object]:
    """Popen arguments that run a PostgreSQL binary as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam("postgres")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _started(pid: int) -> str | None:
    """A process's start time (clock ticks since boot), or None once it is gone: with the
    PID it names one process, even after the PID is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _owner() -> str:
    return f"{os.getpid()} {_started(os.getpid())}"


def _owner_alive(text: str) -> bool:
    pid, _, started = text.strip().partition(" ")
    return pid.isdigit() and _started(int(pid)) == started


def _postmaster(root: Path) -> int | None:
    """The PID in the dir's postmaster.pid if that process is a postgres serving this very
    data dir (so a reused PID is never signalled); else None."""
    try:
        pid = int((root / "data/postmaster.pid").read_text().split("\n", 1)[0])
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    serving = Path(os.fsdecode(argv[0])).name == "postgres" and os.fsencode(root / "data") in argv
    return pid if serving else None


def sweep_stale(tmp: Path | None = None) -> list[Path]:
    """Stop and remove the servers whose owning test process is gone; the dirs removed.
    A dir without an owner file, or whose owner still runs, is left alone."""
    removed = []
    for root in sorted(Path(tmp or tempfile.gettempdir()).glob(f"{PREFIX}*")):
        try:
            owner = (root / OWNER).read_text()
        except OSError:
            continue
        if _owner_alive(owner):
            continue
        pid = _postmaster(root)
        if pid is not None:
            os.kill(pid, signal.SIGINT)  # fast shutdown, as _stop
            deadline = time.monotonic() + STOP_TIMEOUT
            while _postmaster(root) == pid and time.monotonic() < deadline:
                time.sleep(0.05)
            if _postmaster(root) == pid:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


@contextmanager
def running(parent: Path | None = None) -> Iterator[PgServer]:
    """initdb, start, yield the running server; stop it by PID and remove every file.
    Its dir is made in ``parent`` (default: the temp dir), after :func:`sweep_stale` there."""
    sweep_stale(parent)
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    process: subprocess.Popen[bytes] | None = None
    try:
        (root / OWNER).write_text(_owner(), encoding="utf-8")
        (root / "sock").mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (root, root / "sock"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        as_pg = _as_postgres()
        env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        subprocess.run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=root,
            env=env,
            **as_pg,  # type: ignore[call-overload]
        )
        # the password role authenticates; every other role is trusted on the socket
        (root / "data/pg_hba.conf").write_text(
            f"local all {PASSWORD_USER} scram-sha-256\nlocal all all trust\n", encoding="utf-8"
        )
        log = open(root / "server.log", "wb")  # noqa: SIM115 - closed with the server
        process = subprocess.Popen(
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(root / "data"),
                "-c",
                "listen_addresses=",
                "-c",
                f"unix_socket_directories={root / 'sock'}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=32MB",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=env,
            **as_pg,  # type: ignore[call-overload]
        )
        log.close()
        server = PgServer(root, process)
        _wait_ready(server)
        with server.admin() as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD 'right-horse-battery'")
        yield server
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: PgServer) -> None:
    """Until the server accepts a connection (or has died: its log says why)."""
    deadline = time.monotonic() + START_TIMEOUT
    socket = server.socket_dir / ".s.PGSQL.5432"
    while True:
        if server.process.poll() is not None:
            log = (server.root / "server.log").read_text(errors="replace")
            raise RuntimeError(f"PostgreSQL exited with {server.process.returncode}:\n{log}")
        if socket.exists():
            try:
                with server.admin() as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if "starting up" not in str(exc) and time.monotonic() > deadline:
                    raise
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL not ready after {START_TIMEOUT:g} s")
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT: clients are disconnected), by PID; SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
