"""Process supervision (controller/soc/procs.py) with real processes: a daemon is known by
PID, start time and program once its exec is confirmed, so a healthy daemon is never
judged exited — also on a machine whose cores are all busy — and whatever a start or a
`soc up` started is gone again afterwards, checked by PID and start time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from controller.inventory import load_inventory
from controller.soc import procs
from controller.soc.errors import SocError
from controller.soc.stack import SocStack
from tests.conftest import ROOT
from tests.soc.helpers import require_soc_binaries, soc_settings

SLEEP = shutil.which("sleep") or "/bin/sleep"


def gone(pid: int, ticks: int) -> bool:
    """True when the process (PID *and* start time) no longer exists or is a zombie —
    read from /proc here, not through the code under test."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0] in "ZX" or int(fields[19]) != ticks


@contextmanager
def cpu_hog(seconds: float) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One busy loop per core, each ending by itself after ``seconds`` (bounded) and
    ended by PID on the way out."""
    code = "import time\nend = time.monotonic() + float(__import__('sys').argv[1])\n"
    code += "while time.monotonic() < end:\n    pass\n"
    hogs = [
        subprocess.Popen([sys.executable, "-c", code, str(seconds)])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(timeout=10)


def test_a_daemon_is_running_from_the_moment_start_returns(tmp_path: Path) -> None:
    # Right after exec /proc/PID/cmdline is briefly empty: judging by it said "exited".
    with cpu_hog(60):
        for round_ in range(40):
            record = procs.start(
                "sleeper", [SLEEP, "30"], tmp_path / "s.pid", tmp_path / "s.log", tmp_path
            )
            try:
                assert procs.is_running(record), f"round {round_}: judged exited at once"
                assert record.exe == os.path.realpath(SLEEP)
                assert procs.read_record(tmp_path / "s.pid") == record
            finally:
                assert procs.stop(record, grace=5)
            assert gone(record.pid, record.start_ticks)


def test_a_program_that_exits_at_start_is_an_error_with_its_output(tmp_path: Path) -> None:
    script = tmp_path / "fails"
    script.write_text("#!/bin/sh\necho 'cannot open config'\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(SocError, match=r"exited at start \(status 3\): cannot open config"):
        procs.start("broken", [str(script)], tmp_path / "b.pid", tmp_path / "b.log", tmp_path)
    assert not (tmp_path / "b.pid").exists()


def test_a_start_that_is_never_confirmed_stops_the_child(tmp_path: Path) -> None:
    # a shell script runs as /bin/sh, never as itself: the exec is never confirmed
    script = tmp_path / "wrapper"
    script.write_text('#!/bin/sh\necho $$ > "$0.pid"\nexec sleep 30\n')
    script.chmod(0o755)
    with pytest.raises(SocError, match="was not running after 1 s"):
        procs.start("wrapped", [str(script)], tmp_path / "w.pid", tmp_path / "w.log", tmp_path, 1.0)
    assert not (tmp_path / "w.pid").exists()
    pid = int((tmp_path / "wrapper.pid").read_text())
    assert not os.path.exists(f"/proc/{pid}")  # stopped and reaped


def test_a_recycled_pid_running_another_program_is_not_ours(tmp_path: Path) -> None:
    record = procs.start("sleeper", [SLEEP, "30"], tmp_path / "s.pid", tmp_path / "s.log", tmp_path)
    try:
        other = procs.ProcessRecord(
            "x", record.pid, record.start_ticks, (), "", exe="/usr/bin/prometheus"
        )
        assert not procs.is_running(other)
        assert not procs.stop(other)  # and nothing was signalled
        assert procs.is_running(record)
    finally:
        procs.stop(record, grace=5)


def test_old_pid_files_without_exe_still_identify_by_start_time(tmp_path: Path) -> None:
    record = procs.start("sleeper", [SLEEP, "30"], tmp_path / "s.pid", tmp_path / "s.log", tmp_path)
    try:
        old = procs.ProcessRecord(
            record.name, record.pid, record.start_ticks, record.argv, record.log
        )
        (tmp_path / "old.pid").write_text(old.to_json().replace('"exe"', '"unused"'))
        read = procs.read_record(tmp_path / "old.pid")
        assert read is not None and read.exe == "" and procs.is_running(read)
    finally:
        procs.stop(record, grace=5)


def test_soc_up_and_down_twenty_times_on_busy_cores(tmp_path: Path) -> None:
    require_soc_binaries()
    stack = SocStack(
        soc_settings(tmp_path, probes=("127.0.0.1:1",)), load_inventory(ROOT / "inventory/lab")
    )
    started: list[tuple[str, int, int]] = []
    began = time.monotonic()
    with cpu_hog(240) as hogs:
        try:
            for round_ in range(20):
                states = stack.up()
                assert [s.state for s in states] == ["started"] * 3, f"round {round_}"
                for state in states:
                    record = procs.read_record(stack.pid_file(state.name))
                    assert record is not None and record.pid == state.pid
                    started.append((state.name, record.pid, record.start_ticks))
                stopped = stack.down()
                assert [s.state for s in stopped] == ["stopped"] * 3, f"round {round_}"
        finally:
            stack.down()
        assert all(hog.poll() is None for hog in hogs)  # the cores were busy throughout
    assert len(started) == 60
    left = [(name, pid) for name, pid, ticks in started if not gone(pid, ticks)]
    assert left == []
    assert time.monotonic() - began < 240
