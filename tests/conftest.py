"""Shared test helpers: the repository root, and the rule that CI never skips silently."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip when a prerequisite is missing — except in CI, where that is a failure."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI=true and a prerequisite is missing: {reason}")
    pytest.skip(reason)


@pytest.fixture()
def at_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from the repository root, as a user of the README would."""
    monkeypatch.chdir(ROOT)
    return ROOT
