"""Lab-tier fixtures: prerequisites (fail loudly under CI=true) and the mini lab."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulations.lab import Lab
from tests.conftest import ROOT, require

MINI = ROOT / "tests/lab/fixtures/mini.clab.yml"
BINARIES = (
    "ip",
    "nft",
    "tc",
    "ethtool",
    "vtysh",
    "/usr/lib/frr/frrinit.sh",
    "/usr/sbin/sshd",
    "/usr/sbin/snmpd",
    "ssh-keygen",
    "unshare",
    "setsid",
)


def require_lab_prerequisites() -> None:
    require(os.geteuid() == 0, "the lab tier needs root")
    missing = [b for b in BINARIES if shutil.which(b) is None]
    require(not missing, f"missing binaries: {', '.join(missing)}")


@pytest.fixture(scope="module")
def mini_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The mini lab, up for the whole module; always torn down, even when tests fail."""
    require_lab_prerequisites()
    lab = Lab(MINI, tmp_path_factory.mktemp("lab") / "clab-mini", env={})
    try:
        lab.up()
        yield lab
    finally:
        lab.down()


def lab_dir_of(lab: Lab) -> Path:
    return lab.plan.lab_dir
