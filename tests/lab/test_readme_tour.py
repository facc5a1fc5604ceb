"""The README's command tour runs as written, line after line, against the lab.

Each line of the tour's code block runs through bash (so its comment, quotes and
redirection mean what they mean to a reader) with `govnet` on PATH, in a scratch copy of
the repository's inventories (so `hosting approve` and the state directory `.govnet`
change nothing in the checkout) whose `topologies/` and `playbooks/` are the checkout's
own. A line that serves until Ctrl-C (`soc serve`) is started, must answer on its
address, and is then stopped with SIGINT — as a reader would. Every line must succeed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.lab

UNTIL_CTRL_C = {"govnet soc serve": "http://127.0.0.1:8080/login"}
ANSWERS = {"govnet soc user add": "tour-password-1\ntour-password-1\n"}  # the prompts


def tour_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Command tour\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "README: the command tour has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def scratch_checkout(tmp_path: Path) -> Path:
    work = tmp_path / "govnet"
    work.mkdir()
    shutil.copytree(ROOT / "inventory", work / "inventory")
    for shared in ("topologies", "playbooks"):
        (work / shared).symlink_to(ROOT / shared)
    return work


def _serve_until_ctrl_c(line: str, url: str, cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {line}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (
                f"{line!r} exited: {proc.stdout.read() if proc.stdout else ''}"
            )
            try:
                if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{line!r} never answered on {url}"
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{line!r} did not stop on Ctrl-C") from None


def test_every_tour_line_runs_as_written(lab_network: object, tmp_path: Path) -> None:
    lines = tour_lines()
    assert len(lines) >= 30, "the tour lost its lines"
    work = scratch_checkout(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVNET_")}
    env["PATH"] = f"{ROOT / '.venv/bin'}:{env.get('PATH', os.defpath)}"
    stopped_soc = False
    try:
        for line in lines:
            assert line.startswith("govnet "), f"tour line is not a govnet command: {line!r}"
            serve = next((url for cmd, url in UNTIL_CTRL_C.items() if line.startswith(cmd)), None)
            if serve is not None:
                _serve_until_ctrl_c(line, serve, work, env)
                continue
            answers = next((a for cmd, a in ANSWERS.items() if line.startswith(cmd)), None)
            done = subprocess.run(
                ["bash", "-c", line],
                cwd=work,
                env=env,
                input=answers,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, (
                f"{line}\n--- exit {done.returncode}:\n{done.stderr[-2000:]}"
            )
            assert "Traceback" not in done.stderr, line
            stopped_soc = stopped_soc or line.startswith("govnet soc down")
    finally:
        if not stopped_soc:
            subprocess.run(
                [str(ROOT / ".venv/bin/govnet"), "soc", "down"],
                cwd=work,
                env=env,
                capture_output=True,
                timeout=120,
                check=False,
            )
    assert (work / "hosts.yml").exists() and (work / "inventory.schema.json").stat().st_size
    assert (work / "drift.prom").exists() and (work / "comp.prom").exists()
