"""Play a predicted failure in a running lab and observe it (the lab as a twin).

:func:`verify_in_lab` checks the lab answers as the no-failure baseline predicts
(converged, no fault left from before), injects the faults, waits until the observation
matches the prediction on ``stable`` consecutive rounds after at least ``floor`` seconds
(routing settled) or ``timeout`` passes, and always heals the faults afterwards — then
waits (bounded) until the baseline answers again.

An observation is ICMP to every target's loopback from inside the lab: from the NMS's
namespace, and from each data-centre gateway's (a target answering any of them is
connected). Every ping is bounded (count and timeout); rounds are bounded in number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from controller.change.twin import Expectation, LabFault, Mismatch, Observation, compare
from simulations.errors import LabError
from simulations.faults import Faults
from simulations.lab import Lab
from simulations.ping import ping

POLL = 1.0
WORKERS = 16
PING_COUNT = 2
PING_INTERVAL = 0.1
PING_TIMEOUT = 0.8

Pinger = Callable[[str, str], bool]  # (node, address) → answered


@dataclass
class Settled:
    observation: Observation
    mismatches: list[Mismatch]
    seconds: float
    rounds: int

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass
class TwinRun:
    faults: list[LabFault]
    before: Settled
    after: Settled | None = None
    healed: Settled | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.after is not None and self.after.ok


def lab_pinger(lab: Lab) -> Pinger:
    def answered(node: str, address: str) -> bool:
        netns = lab.plan.node(node).netns
        result = ping(netns, address, PING_COUNT, PING_INTERVAL, PING_TIMEOUT)
        return result.received > 0

    return answered


def observe(expected: Expectation, pinger: Pinger) -> Observation:
    """One round: every target from the NMS and from every data-centre gateway."""
    jobs: list[tuple[str, str, str]] = []  # (view, observer, target)
    for target in expected.addresses:
        jobs += [("nms", node, target) for node in expected.nms]
        jobs += [("dc", node, target) for node in expected.observers]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = list(pool.map(lambda job: pinger(job[1], expected.addresses[job[2]]), jobs))
    monitored = {t for (view, _, t), ok in zip(jobs, answers, strict=True) if view == "nms" and ok}
    connected = {t for (view, _, t), ok in zip(jobs, answers, strict=True) if view == "dc" and ok}
    return Observation(frozenset(monitored), frozenset(connected))


def settle(
    expected: Expectation,
    look: Callable[[], Observation],
    *,
    timeout: float,
    floor: float = 0.0,
    stable: int = 2,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> Settled:
    """Observe until ``stable`` consecutive rounds (the first at least ``floor`` s in)
    match ``expected``, or ``timeout`` passes; the last observation either way."""
    start = clock()
    deadline = start + timeout
    matched = rounds = 0
    max_rounds = int(timeout / POLL) + stable + 2
    observation = Observation(frozenset(), frozenset())
    mismatches: list[Mismatch] = []
    while rounds < max_rounds:
        rounds += 1
        observation = look()
        mismatches = compare(expected, observation)
        counts = clock() - start >= floor
        matched = matched + 1 if not mismatches and counts else 0
        if matched >= stable or clock() >= deadline:
            break
        pause(POLL if mismatches or not counts else 0.0)
    return Settled(observation, mismatches, clock() - start, rounds)


def verify_in_lab(
    lab: Lab,
    faults: Sequence[LabFault],
    baseline: Expectation,
    predicted: Expectation,
    *,
    timeout: float = 60.0,
    floor: float = 4.0,
    pinger: Pinger | None = None,
) -> TwinRun:
    """Inject ``faults`` and compare the lab with ``predicted``; faults always healed."""
    state = lab.state()
    if state is None or not state.complete:
        raise LabError(f"lab {lab.name!r} is not up (govnet lab up)")
    if state.faults:
        raise LabError(
            f"lab {lab.name!r} already has {len(state.faults)} fault(s): clear them first"
            " (govnet lab fault TOPOLOGY clear)"
        )
    ping_ = pinger or lab_pinger(lab)
    before = settle(baseline, partial(observe, baseline, ping_), timeout=timeout)
    run = TwinRun(list(faults), before)
    if not before.ok:
        run.notes.append("the lab does not answer as the inventory predicts without the failure")
        return run
    injector = Faults(lab)
    try:
        for fault in faults:
            if fault.kind == "link-down":
                injector.link_down(fault.target)
            elif fault.kind == "node-stop":
                injector.node_stop(fault.target)
            else:  # a LabFault kind this runner does not know is a programming error
                raise LabError(f"unknown lab fault {fault.kind!r}")
        look = partial(observe, predicted, ping_)
        run.after = settle(predicted, look, timeout=timeout, floor=floor)
    finally:
        injector.clear()
    run.healed = settle(baseline, partial(observe, baseline, ping_), timeout=timeout)
    if not run.healed.ok:
        run.notes.append("after healing, the lab did not answer as before within the timeout")
    return run
