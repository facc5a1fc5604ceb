"""A lab teardown, once started, finishes: a SIGTERM (or Ctrl-C) that arrives meanwhile
is raised when it is over, not in the middle (which left the namespaces and guard routes
of a half-removed lab behind, seen when a test run was ended by PID)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

from simulations import signals
from tests.conftest import ROOT

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from simulations import signals
    from tests import terminate

    terminate.install()  # SIGTERM raises KeyboardInterrupt, as in a test run
    steps = []
    try:
        with signals.deferred():
            os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-teardown
            for step in ("processes", "namespaces", "routes"):
                steps.append(step)
        steps.append("after")  # never: raised as soon as the block ends
    except KeyboardInterrupt as exc:
        print("done:", ",".join(steps), "| raised:", exc)
        sys.exit(0)
    print("not raised:", ",".join(steps))
    sys.exit(1)
    """
)


def test_a_sigterm_during_a_teardown_is_raised_once_the_teardown_is_done() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "done: processes,namespaces,routes | raised: signal 15"


def test_the_mask_is_put_back_and_other_threads_are_left_alone() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    with signals.deferred():
        assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) >= signals.SIGNALS
        seen: list[set[signal.Signals]] = []

        def other() -> None:
            with signals.deferred():  # not the main thread: nothing to defer
                seen.append(signal.pthread_sigmask(signal.SIG_BLOCK, set()))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert seen and seen[0] == signal.pthread_sigmask(signal.SIG_BLOCK, set())
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before
