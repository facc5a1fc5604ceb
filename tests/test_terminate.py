"""A test run ended by SIGTERM still tears its session down — the lab and the PostgreSQL
server are session fixtures — and says it was interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.conftest import ROOT

RUN = textwrap.dedent(
    """
    import time
    from pathlib import Path

    import pytest

    MARK = Path(__file__).with_name("mark")

    @pytest.fixture(scope="session")
    def held():
        MARK.write_text("set up\\n")
        yield
        with MARK.open("a") as out:
            out.write("torn down\\n")

    def test_long(held):
        time.sleep(60)  # ended by the SIGTERM long before
    """
)


def test_sigterm_tears_the_session_fixtures_down(tmp_path: Path) -> None:
    (tmp_path / "test_run.py").write_text(RUN, encoding="utf-8")
    mark = tmp_path / "mark"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.terminate"]
    argv += ["--rootdir", str(tmp_path), str(tmp_path / "test_run.py")]
    run = subprocess.Popen(
        argv,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not mark.exists() and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.05)
        assert mark.read_text() == "set up\n"
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert mark.read_text() == "set up\ntorn down\n", out
    assert run.returncode == 2, out  # pytest's "interrupted"
    assert "KeyboardInterrupt" in out
