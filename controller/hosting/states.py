"""The life of a hosting request: states and the steps between them. Pure.

::

    submitted ──approve──► approved ──provision──► provisioning ──(ok)──► active
        │                     │  ▲                     │                    │
        └──reject──► rejected │  └──────(failed)───────┘                    │
                              └──decommission──► decommissioned ◄──decommission┘

``provision`` may be run again on an active request (repair; idempotent playbook) and on
one left in ``provisioning`` by a crash. Every step is recorded with who, when and why.
"""

from __future__ import annotations

from enum import StrEnum

from controller.hosting.errors import StateError


class State(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    DECOMMISSIONED = "decommissioned"


class Action(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    APPROVE_REFUSED = "approve-refused"
    REJECT = "reject"
    PROVISION = "provision"
    PROVISIONED = "provisioned"
    PROVISION_FAILED = "provision-failed"
    DECOMMISSION = "decommission"
    DECOMMISSION_FAILED = "decommission-failed"


ALLOWED: dict[Action, tuple[frozenset[State], State | None]] = {
    Action.APPROVE: (frozenset({State.SUBMITTED}), State.APPROVED),
    Action.APPROVE_REFUSED: (frozenset({State.SUBMITTED}), None),
    Action.REJECT: (frozenset({State.SUBMITTED}), State.REJECTED),
    Action.PROVISION: (
        frozenset({State.APPROVED, State.PROVISIONING, State.ACTIVE}),
        State.PROVISIONING,
    ),
    Action.PROVISIONED: (frozenset({State.PROVISIONING}), State.ACTIVE),
    Action.PROVISION_FAILED: (frozenset({State.PROVISIONING}), State.APPROVED),
    Action.DECOMMISSION: (
        frozenset({State.APPROVED, State.PROVISIONING, State.ACTIVE}),
        State.DECOMMISSIONED,
    ),
    Action.DECOMMISSION_FAILED: (
        frozenset({State.APPROVED, State.PROVISIONING, State.ACTIVE}),
        None,
    ),
}
"""Action → (states it may start from, state it leads to; None: the state stays)."""

VERBS = {
    Action.APPROVE: "approved",
    Action.REJECT: "rejected",
    Action.PROVISION: "provisioned",
    Action.DECOMMISSION: "decommissioned",
}


def next_state(ident: int, current: State, action: Action) -> State:
    """The state after ``action``, or :class:`StateError` saying why it is not allowed."""
    sources, target = ALLOWED[action]
    if current not in sources:
        allowed = " or ".join(sorted(s.value for s in sources))
        verb = VERBS.get(action, action.value)
        raise StateError(
            f"request {ident} is {current.value}: only a request that is {allowed} can be {verb}"
        )
    return current if target is None else target
