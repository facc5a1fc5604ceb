"""SIGTERM ends a test run as Ctrl-C does (a pytest plugin; tests/conftest.py installs it).

Python's default for SIGTERM is to die at once, skipping every fixture's teardown: a run
stopped that way — by CI's timeout, or by an engineer ending it by PID — would leave the
lab up and the PostgreSQL server running. Raised as KeyboardInterrupt instead, pytest
stops the run and tears the session's fixtures down (the lab brought down, the server
stopped by its PID) before it exits with status 2.
"""

from __future__ import annotations

import signal
from types import FrameType

import pytest


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install() -> None:
    """Only over the default: a handler someone else set is kept."""
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def pytest_configure(config: pytest.Config) -> None:
    install()
