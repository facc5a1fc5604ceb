"""The tests' own PostgreSQL server: a test run killed outright leaves no server behind
for long — the next start stops it by its PID and removes its files — while a server
whose run is still going is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pgserver
from tests.conftest import ROOT, require

HOLDER = textwrap.dedent(
    """
    import sys, time
    from tests import pgserver
    with pgserver.running() as server:
        print(server.root, flush=True)
        time.sleep(120)  # killed by the test long before
    """
)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A temp dir the server's own user may enter (pytest's tmp_path is private to root)."""
    require(pgserver.available(), f"PostgreSQL 15 server binaries in {pgserver.PG_BIN}")
    path = Path(tempfile.mkdtemp(prefix="govnet-pgtest-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        pgserver.sweep_stale(path)  # a server a failed test left: stopped by its PID
        shutil.rmtree(path, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_server_left_by_a_killed_run_is_stopped_and_removed_by_the_next_start(
    scratch: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        root = Path(holder.stdout.readline().strip())
        pid = pgserver._postmaster(root)
        assert pid is not None and alive(pid)
    finally:
        holder.kill()  # SIGKILL: no finally block of the holder runs
        holder.wait(timeout=30)
    assert alive(pid), "the killed run's server outlives it"

    assert pgserver.sweep_stale(scratch) == [root]

    assert not alive(pid)
    assert not root.exists()
    assert pgserver.sweep_stale(scratch) == []


def test_the_server_of_a_run_still_going_is_left_alone(scratch: Path) -> None:
    with pgserver.running(scratch) as server:
        assert pgserver.sweep_stale(scratch) == []
        with server.admin() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert list(scratch.glob(f"{pgserver.PREFIX}*")) == []


def test_a_dir_without_an_owner_is_not_ours_to_judge(tmp_path: Path) -> None:
    other = tmp_path / f"{pgserver.PREFIX}older"
    (other / "data").mkdir(parents=True)
    assert pgserver.sweep_stale(tmp_path) == []
    assert other.is_dir()
