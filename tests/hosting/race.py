"""A worker process for the approval race: wait for the start signal, approve, report.

Runs under multiprocessing's ``spawn`` start method (a fresh interpreter per worker, like
separate `govnet hosting approve` commands), so it lives in an importable module.
"""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path


def approve(inventory: str, state: str, *, ident: int, ready: Queue[object], go: Event) -> None:
    from controller.errors import GovnetError
    from controller.hosting.errors import DoesNotFit, StateError
    from controller.hosting.service import HostingService

    svc = HostingService(Path(inventory), Path(state))
    ready.put(("ready", ident))
    if not go.wait(120):
        ready.put(("error", ident, "no start signal"))
        return
    try:
        record = svc.approve(ident, f"racer-{ident}")
    except DoesNotFit as exc:
        ready.put(("refused", ident, str(exc)))
    except StateError as exc:
        ready.put(("state", ident, str(exc)))
    except GovnetError as exc:
        ready.put(("error", ident, f"{type(exc).__name__}: {exc}"))
    except Exception as exc:  # reported to the test, never lost in a child
        ready.put(("error", ident, f"{type(exc).__name__}: {exc}"))
    else:
        ready.put(("approved", ident, [a.id for a in record.allocations]))
