"""Shared test helpers: the repository root, and the rule that CI never skips silently."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.store import URL_VARIABLE
from tests import pgserver, terminate

ROOT = Path(__file__).resolve().parent.parent

# A developer's own GOVNET_DATABASE_URL never reaches the tests: the `backend` fixture
# decides which store a test uses.
os.environ.pop(URL_VARIABLE, None)


def pytest_configure(config: pytest.Config) -> None:
    terminate.install()  # SIGTERM tears the session down, as Ctrl-C does


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip when a prerequisite is missing — except in CI, where that is a failure."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI=true and a prerequisite is missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgserver.PgServer]:
    """A real PostgreSQL server for the session (unix socket in a temp dir, no TCP)."""
    require(pgserver.available(), f"PostgreSQL 15 server binaries in {pgserver.PG_BIN}")
    with pgserver.running() as server:
        yield server


BACKENDS = ("sqlite", "postgresql")


def backends_of(node: pytest.Item) -> tuple[str, ...]:
    """The store backends a test runs on: those its ``backends`` marker names (the
    closest: a test's own over its module's), else every one."""
    marker = node.get_closest_marker("backends")
    if marker is None:
        return BACKENDS
    names = tuple(marker.args)
    if not names or not set(names) <= set(BACKENDS):
        raise pytest.UsageError(f"{node.nodeid}: backends() takes some of {BACKENDS}")
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that uses the ``backend`` fixture (itself or through an autouse fixture, as
    every test in tests/store/ does) runs once on each store backend, ids ``[sqlite]``
    and ``[postgresql]`` — or only on the one its ``backends`` marker names, id as is."""
    if "backend" not in metafunc.fixturenames:
        return
    names = backends_of(metafunc.definition)
    if len(names) > 1:
        metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture()
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The store backend of this run of the test: SQLite files in the state dir, or a
    fresh database of its own on the session's PostgreSQL (GOVNET_DATABASE_URL names it,
    so processes the test starts use it too). The one fixture for every store test."""
    name: str = getattr(request, "param", None) or backends_of(request.node)[0]
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    if name == "sqlite":
        yield name
        return
    server: pgserver.PgServer = request.getfixturevalue("postgres")
    with server.database(f"test_{uuid.uuid4().hex[:16]}") as url:
        monkeypatch.setenv(URL_VARIABLE, url)
        yield name
        monkeypatch.delenv(URL_VARIABLE, raising=False)


@pytest.fixture()
def at_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from the repository root, as a user of the README would."""
    monkeypatch.chdir(ROOT)
    return ROOT


LAB_TOPOLOGY = ROOT / "topologies/lab.clab.yml"


def lab_env() -> dict[str, str]:
    """The lab-only secret values (topologies/lab.env), as the demo exports them."""
    values: dict[str, str] = {}
    for line in (ROOT / "topologies/lab.env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def wait_until_probes_reach_everything(lab: Any, timeout: float = 60.0) -> None:
    """Adjacencies Full are not routes installed everywhere: until the NMS's probes reach
    every device, a test comparing two probe cycles (the change gate's before and after)
    sees the lab still converging. Polls as the gate does, bounded."""
    import time

    from controller.change.probing import probe_poller
    from controller.inventory import load_inventory

    poll = probe_poller(load_inventory(ROOT / "inventory/lab"), lab.plan.node("nms-1").netns)
    deadline = time.monotonic() + timeout
    while True:
        unreached = sorted(device for device, ok in poll().items() if not ok)
        if not unreached:
            return
        assert time.monotonic() < deadline, f"lab did not converge: probes miss {unreached}"


@pytest.fixture(scope="session")
def lab_network() -> Iterator[object]:
    """The built-in lab (topologies/lab.clab.yml) up and converged for the session.

    Brought down at the end — even when tests fail — unless it was already up before.
    Tests that change routers put them back as they found them.
    """
    import shutil

    from simulations.checks import parse_check, run_check
    from simulations.lab import Lab

    require(os.geteuid() == 0, "the lab needs root")
    require(shutil.which("vtysh") is not None, "FRR (vtysh) is not installed")
    for key, value in lab_env().items():
        os.environ.setdefault(key, value)
    lab = Lab(LAB_TOPOLOGY)
    was_up = lab.is_up()
    try:
        lab.up()
        for node, full in (("core-1", 8), ("dr-1", 3), ("pr-kh17", 2)):
            result = run_check(
                lab, parse_check({"ospf": {"node": node, "full": full}, "timeout": 60})
            )
            assert result.ok, f"lab did not converge: {result.detail}"
        wait_until_probes_reach_everything(lab)
        yield lab
    finally:
        if not was_up:
            lab.down()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright, with a fresh profile.

    Never `playwright install`: the browser is the Debian package (deps/apt-soc.txt).
    """
    import shutil

    require(Path(CHROMIUM).exists(), "Debian's chromium is not installed (deps/apt-soc.txt)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path / "chromium-profile"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)
