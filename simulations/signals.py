"""Teardown that, once started, finishes: SIGINT and SIGTERM wait until it is done.

Ctrl-C or a SIGTERM (CI's timeout, an engineer ending a test run by PID) raised as
KeyboardInterrupt in the middle of ``lab down`` stopped it half-way: the daemons killed,
the namespaces and guard routes left, and — when the caller then removed the lab
directory — no state file left to finish from. While :func:`deferred` holds, those two
signals are blocked for the main thread; one that arrives meanwhile is delivered (and
raised) as soon as the teardown is over.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends (main thread only: elsewhere Python
    never runs signal handlers, so there is nothing to defer)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
