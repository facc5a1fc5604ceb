"""Network runs started from the console: one background thread per run, watched live.

An engineer's *provision* or *decommission* of a hosting request runs the same workflow
as `govnet hosting provision|decommission` (``controller.hosting.workflow``), which
records every step on the request. Here the run happens in a thread so the page can
answer at once; its progress — the Ansible task events, host by host — is kept in
memory for the request page, which refreshes itself while the run lasts. One run per
request at a time; the last :data:`KEEP` runs are remembered (the outcome itself is in the
request's history, which survives a restart).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from controller import masking
from controller.ansible.events import (
    CHANGED,
    FAILED,
    SKIPPED,
    STARTED,
    UNREACHABLE,
    TaskEvent,
)
from controller.errors import GovnetError
from controller.hosting.workflow import Outcome

log = logging.getLogger(__name__)
KEEP = 50
EVENTS_PER_JOB = 500


class JobRunning(GovnetError):
    """A run for this request is already under way."""


@dataclass
class HostProgress:
    host: str
    task: str = "waiting"
    status: str = "pending"
    tasks: int = 0
    changed: int = 0
    failed: int = 0


@dataclass
class Job:
    id: int
    request: int
    action: str  # provision | decommission
    who: str
    started: float
    hosts: dict[str, HostProgress]
    events: list[TaskEvent] = field(default_factory=list)
    finished: float | None = None
    failure: str = ""
    """Why the run did not succeed (masked), or ''."""
    state: str = ""
    """The request's state after the run."""

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def seconds(self) -> float:
        return (self.finished or time.time()) - self.started


Work = Callable[[Callable[[TaskEvent], None]], Outcome]


class Jobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}
        self._next = 1

    def start(self, request: int, action: str, who: str, hosts: list[str], work: Work) -> Job:
        """Run ``work(progress)`` in a thread; refused while a run of ``request`` lasts."""
        with self._lock:
            if any(j.running and j.request == request for j in self._jobs.values()):
                raise JobRunning(f"request {request}: a run is already under way")
            job = Job(
                self._next, request, action, who, time.time(), {h: HostProgress(h) for h in hosts}
            )
            self._next += 1
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[:-KEEP]:
                if not self._jobs[old].running:
                    del self._jobs[old]
        thread = threading.Thread(
            target=self._run, args=(job, work), name=f"hosting-{action}-{request}", daemon=True
        )
        thread.start()
        return job

    def latest(self, request: int) -> Job | None:
        with self._lock:
            mine = [j for j in self._jobs.values() if j.request == request]
        return max(mine, key=lambda j: j.id) if mine else None

    def _progress(self, job: Job, event: TaskEvent) -> None:
        with self._lock:
            if len(job.events) < EVENTS_PER_JOB:
                job.events.append(event)
            host = job.hosts.setdefault(event.host, HostProgress(event.host))
            host.task, host.status = event.task, event.status
            host.tasks += event.status not in {STARTED, SKIPPED}
            host.changed += event.status == CHANGED
            host.failed += event.status in {FAILED, UNREACHABLE}

    def _run(self, job: Job, work: Work) -> None:
        failure, state = "", ""
        try:
            outcome = work(lambda event: self._progress(job, event))
            failure, state = outcome.failure, outcome.record.state.value
        except GovnetError as exc:
            failure = str(exc)
        except Exception:  # a thread has no boundary above it: log, and say so on the page
            log.exception("hosting %s of request %s", job.action, job.request)
            failure = "internal error (see the console's log)"
        with self._lock:
            job.failure = masking.mask_text(failure)
            job.state = state
            for host in job.hosts.values():
                if host.status == "pending":
                    host.task, host.status = "not reached", "skipped" if failure else "ok"
            job.finished = time.time()
