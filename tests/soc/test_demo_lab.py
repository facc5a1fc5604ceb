"""`make demo`'s driver, run once with a short DEMO_DURATION as root: it brings the
console up (signed in with the printed demo password, the province grid answers), cuts
the Battambang uplink, and at the end leaves nothing behind — its processes gone, its
ports free, no pid file, no fault left in the lab, the lab as it found it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from controller.soc.drill import ConsoleClient
from controller.soc.stack import port_free
from tests.conftest import ROOT, require
from tests.soc.helpers import free_ports, own_pids_alive, wait_until

pytestmark = pytest.mark.lab
DURATION = 45


def test_the_demo_runs_the_loop_and_leaves_nothing_behind(
    lab_network: object, tmp_path: Path
) -> None:
    for binary in ("fping", "prometheus", "prometheus-alertmanager"):
        require(shutil.which(binary) is not None, f"{binary} is not installed")
    ports = dict(
        zip(
            ("PROBES", "PROMETHEUS", "ALERTMANAGER", "TEXTFILE", "CONSOLE"),
            free_ports(5),
            strict=True,
        )
    )
    env = {
        **os.environ,
        "DEMO_DURATION": str(DURATION),
        "DEMO_QUIET": "5",
        "DEMO_CYCLES": "1",
        "DEMO_STATE_DIR": str(tmp_path),
        **{f"DEMO_{name}_PORT": str(port) for name, port in ports.items()},
    }
    proc = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:

        def signed_in_line() -> str | None:
            return next((line for line in list(lines) if "sign in: soc-demo / " in line), None)

        line = wait_until(signed_in_line, 300, "the demo's sign-in line", every=1)
        password = line.split(" / ", 1)[1].split()[0]
        console = ConsoleClient(f"http://127.0.0.1:{ports['CONSOLE']}", "soc-demo", password)
        provinces = console.client.get(console.url + "/api/provinces")
        assert provinces.status_code == 200
        assert [p["code"] for p in provinces.json()["provinces"]] == ["KH-2", "KH-12", "KH-17"]
        console.close()
        proc.wait(timeout=DURATION + 240)
    finally:
        if proc.poll() is None:  # only our own child, by PID
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(60)
        reader.join(10)
    output = "".join(lines)
    assert proc.returncode == 0, output[-3000:]
    assert "link-down core-1:eth5" in output and "link-up core-1:eth5" in output, output[-3000:]
    assert "Traceback" not in output
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 4, output[-3000:]  # probes, alertmanager, textfile, prometheus
    assert own_pids_alive(pids) == []
    for port in ports.values():
        assert port_free(port), port
    assert not list((tmp_path / "soc").glob("*.pid"))
    lab = lab_network
    assert lab.is_up()  # type: ignore[attr-defined]
    state = lab.state()  # type: ignore[attr-defined]
    assert not [f for f in state.faults if f.kind == "link-down"], state.faults
