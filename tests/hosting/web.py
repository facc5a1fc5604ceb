"""The console on a copy of the lab inventory, for the hosting pages: empty back ends
(these pages need neither Prometheus nor Alertmanager), users of every role."""

from __future__ import annotations

import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from controller.web import WebSettings, create_app
from controller.web.backends import Backends, Sample, Series
from controller.web.users import UserStore

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

FAST_SCRYPT = 2**10  # tests only
PASSWORD = "correct horse battery"
USERS = {
    "alice": ("soc", None),
    "erin": ("engineer", None),
    "mef-focal": ("focal", "MEF"),
    "moh-focal": ("focal", "MoH"),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class NoPrometheus:
    def query(self, promql: str) -> list[Sample]:
        del promql
        return []

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        del promql, start, end, step
        return []


class NoAlertmanager:
    def alerts(self) -> list[dict[str, Any]]:
        return []

    def create_silence(
        self, matchers: list[dict[str, Any]], ends: datetime, created_by: str, comment: str
    ) -> str:
        raise AssertionError("no silences in hosting tests")

    def expire_silence(self, silence_id: str) -> None:
        raise AssertionError("no silences in hosting tests")

    def silence_state(self, silence_id: str) -> str | None:
        raise AssertionError("no silences in hosting tests")


def console_app(inventory: Path, state: Path, **options: Any) -> FastAPI:
    """``options``: more WebSettings (e.g. provision_lab for provisioning from the console)."""
    settings = WebSettings(state_dir=state, inventory=inventory, scrypt_n=FAST_SCRYPT, **options)
    store = UserStore(settings.users_file, FAST_SCRYPT)
    for name, (role, tenant) in USERS.items():
        store.add(name, role, tenant, PASSWORD)
    return create_app(settings, Backends(NoPrometheus(), NoAlertmanager()))


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port for the block: its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the console did not start listening"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
