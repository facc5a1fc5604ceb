"""Helpers for the Ansible tests: the lab inventory, a lab target, the CLI with the
playbook sub-app (added here if the entry point does not have it yet)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller.ansible.inventory import LabTarget
from controller.inventory import Inventory, load_inventory
from tests.conftest import ROOT

LAB_INVENTORY = ROOT / "inventory/lab"
LAB_ROUTERS = (
    "core-1",
    "dr-1",
    "mr-mef",
    "mr-moh",
    "mr-mptc",
    "ndc-1",
    "pr-kh12",
    "pr-kh17",
    "pr-kh2",
    "ms-fr-par",  # the missions' routers are FRR too (reached over their tunnels)
    "ms-jp-tyo",
)
GOVNET = [
    sys.executable,
    "-c",
    "from controller.cli import main, playbook\n"
    "if not any(g.name == 'playbook' for g in main.app.registered_groups):\n"
    "    main.app.add_typer(playbook.app, name='playbook')\n"
    "main.run()\n",
]


@pytest.fixture(scope="session")
def lab_inv() -> Inventory:
    return load_inventory(LAB_INVENTORY)


def fake_lab(lab_dir: Path, name: str = "t") -> LabTarget:
    return LabTarget(
        name, f"clab-{name}-mgmt", lab_dir, {r: f"clab-{name}-{r}" for r in LAB_ROUTERS}
    )


def govnet(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess (the error boundary included)."""
    return subprocess.run(
        [*GOVNET, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
