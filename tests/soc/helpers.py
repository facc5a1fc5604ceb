"""Shared by the SOC and web tests: free ports, bounded waits, a real Prometheus +
Alertmanager stack on loopback, alerts pushed to Alertmanager's API, and the CLI."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from controller.inventory import load_inventory
from controller.soc.settings import SocSettings
from controller.soc.stack import SocStack
from tests.conftest import ROOT, require

T = TypeVar("T")

# The CLI as users run it, with `soc` (and `probe`) registered if main.py lacks them.
LAUNCHER = (
    "from controller.cli import main, probe, soc\n"
    "names = {g.name for g in main.app.registered_groups}\n"
    "if 'probe' not in names:\n"
    "    main.app.add_typer(probe.app, name='probe')\n"
    "if 'soc' not in names:\n"
    "    main.app.add_typer(soc.app, name='soc')\n"
    "main.run()\n"
)


def govnet_argv(*args: str) -> list[str]:
    return [sys.executable, "-c", LAUNCHER, *args]


def govnet(*args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        govnet_argv(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    for _ in range(100):
        ports.add(free_port())
        if len(ports) == count:
            break
    return sorted(ports)


def wait_until(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.25) -> T:
    """Poll ``check`` until it returns something truthy; bounded by ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def require_soc_binaries() -> None:
    missing = [
        b
        for b in ("prometheus", "promtool", "prometheus-alertmanager", "amtool")
        if not shutil.which(b)
    ]
    require(not missing, f"missing Debian binaries: {', '.join(missing)} (deps/apt-soc.txt)")


def soc_settings(state_dir: Path, **overrides: Any) -> SocSettings:
    prometheus, alertmanager, textfile = free_ports(3)
    values: dict[str, Any] = {
        "state_dir": state_dir,
        "prometheus_port": prometheus,
        "alertmanager_port": alertmanager,
        "textfile_port": textfile,
        "scrape_interval": 1,
        "evaluation_interval": 1,
    }
    values.update(overrides)
    return SocSettings(**values)


@contextmanager
def real_stack(state_dir: Path, **overrides: Any) -> Iterator[SocSettings]:
    """Prometheus, Alertmanager and the textfile exporter, up for the block; stopped by
    PID afterwards, even on failure."""
    require_soc_binaries()
    settings = soc_settings(state_dir, **overrides)
    stack = SocStack(settings, load_inventory(ROOT / "inventory/lab"))
    try:
        stack.up()
        yield settings
    finally:
        stack.down()


def am_alert(labels: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": labels,
        "annotations": annotations or {"summary": labels["alertname"]},
        "startsAt": (now - timedelta(minutes=3)).isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
        "generatorURL": "http://127.0.0.1/test",
    }


def push_alerts(alertmanager_url: str, alerts: list[dict[str, Any]]) -> None:
    with httpx.Client(trust_env=False, timeout=5) as client:
        response = client.post(f"{alertmanager_url}/api/v2/alerts", json=alerts)
    assert response.status_code == 200, response.text


def am_get(alertmanager_url: str, path: str) -> Any:
    with httpx.Client(trust_env=False, timeout=5) as client:
        response = client.get(alertmanager_url + path)
    assert response.status_code == 200, response.text
    return response.json()


def prom_query(prometheus_url: str, promql: str) -> list[dict[str, Any]]:
    with httpx.Client(trust_env=False, timeout=5) as client:
        response = client.get(f"{prometheus_url}/api/v1/query", params={"query": promql})
    body = response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def own_pids_alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if os.path.exists(f"/proc/{pid}") and _not_zombie(pid)]


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"
