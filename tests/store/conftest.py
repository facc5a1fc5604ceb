"""Every test here runs on both store backends unless it says otherwise: the ``backend``
fixture (tests/conftest.py) is used by each, so a new store test runs on SQLite and on a
real PostgreSQL by default. A test, or a module's ``pytestmark``, that is about one
backend says ``pytest.mark.backends("sqlite")`` or ``pytest.mark.backends("postgresql")``.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _on_each_backend(backend: str) -> str:
    return backend


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """The CLI failed with one line on stderr, no traceback, holding every word."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def importers_of(module: str) -> list[str]:
    """The files of controller/, probes/ and simulations/ that import ``module``."""
    return sorted(
        str(path.relative_to(ROOT))
        for folder in ("controller", "probes", "simulations")
        for path in (ROOT / folder).rglob("*.py")
        if any(
            line.strip().startswith((f"import {module}", f"from {module}"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    )
