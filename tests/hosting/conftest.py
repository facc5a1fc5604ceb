"""Hosting test helpers: a copy of an inventory to allocate in, requests, the CLI.

Tests never allocate in the shipped inventories: every test works on a copy under a
temp dir, with its own state dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.hosting.service import HostingService
from controller.hosting.workspace import InventoryCache
from tests.conftest import ROOT

LAB_INVENTORY = ROOT / "inventory/lab"
NATIONAL_INVENTORY = ROOT / "inventory/cambodia"
GOVNET = [
    sys.executable,
    "-c",
    "from controller.cli import main, hosting\n"
    "if not any(g.name == 'hosting' for g in main.app.registered_groups):\n"
    "    main.app.add_typer(hosting.app, name='hosting')\n"
    "main.run()\n",
]
"""The real console entry point (error boundary included), with the hosting sub-app
added if main.py does not have it yet."""


def govnet(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GOVNET, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


REQUEST_OPTIONS = (
    "--tenant",
    "MoH",
    "--service",
    "HMIS",
    "--units",
    "2",
    "--servers",
    "2",
    "--power",
    "1.5",
    "--prefix",
    "/28",
    "--contact",
    "Dara Chan, dara@moh.gov.kh",
    "--justification",
    "HMIS reporting servers for the provinces",
)
"""A `govnet hosting request` that fits the lab inventory (MoH's HMIS, 2 U, 1.5 kW)."""


def copy_inventory(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def request_values(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "tenant": "MoH",
        "service": "HMIS",
        "site": "ndc",
        "units": 2,
        "servers": 1,
        "power_kw": 0.5,
        "vlans": 1,
        "prefix_len": 28,
        "bandwidth_mbps": "1G",
        "contact": "Dara Chan, dara@moh.gov.kh, 012 345 678",
        "justification": "HMIS reporting servers for the provincial health departments",
    }
    values.update(overrides)
    return values


@dataclass(frozen=True)
class Workspace:
    inventory: Path
    state: Path

    @property
    def hosting_yaml(self) -> Path:
        return self.inventory / "hosting.yaml"

    def service(self) -> HostingService:
        return HostingService(self.inventory, self.state, InventoryCache())

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command, rest = args[0], args[1:]
        return govnet(
            "hosting",
            command,
            "-i",
            str(self.inventory),
            "--state-dir",
            str(self.state),
            *rest,
        )


@pytest.fixture()
def lab_copy(tmp_path: Path) -> Workspace:
    return Workspace(copy_inventory(LAB_INVENTORY, tmp_path / "inventory"), tmp_path / "state")


@pytest.fixture()
def national_copy(tmp_path: Path) -> Workspace:
    return Workspace(copy_inventory(NATIONAL_INVENTORY, tmp_path / "inventory"), tmp_path / "state")


MakeWorkspace = Callable[[Path], Workspace]
