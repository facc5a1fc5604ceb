"""Provisioning and decommissioning a request: the playbook run between two recorded steps.

``provision``: record *provision* (→ provisioning), run hosting_provision.yml, record
*provisioned* (→ active) or *provision-failed* (→ approved, to be run again).
``decommission``: run hosting_decommission.yml when the request was ever provisioned,
then free the capacity (→ decommissioned); a failed run is recorded and frees nothing.
With ``check`` the playbook runs in check mode and no state changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from controller.ansible import PlaybookRun
from controller.ansible.events import TaskEvent
from controller.ansible.runner import no_progress
from controller.errors import GovnetError
from controller.hosting import provision
from controller.hosting.errors import HostingError
from controller.hosting.service import HostingService
from controller.hosting.states import Action, State, next_state
from controller.hosting.store import RequestRecord

Progress = Callable[[TaskEvent], None]


@dataclass(frozen=True)
class Outcome:
    record: RequestRecord
    run: PlaybookRun | None
    failure: str = ""
    note: str = ""


def gateways(svc: HostingService, ident: int) -> list[str]:
    """The gateway routers a request's allocations live on (for progress displays)."""
    record = svc.get(ident)
    inv = svc.snapshot().inventory
    return sorted({provision.gateway(inv, a.datacentre).name for a in record.allocations})


def _run_details(run: PlaybookRun) -> dict[str, object]:
    return {
        "playbook": run.playbook,
        "run_dir": str(run.run_dir),
        "seconds": round(run.seconds, 3),
        "hosts": {h.host: h.status for h in run.hosts},
    }


def provision_request(
    svc: HostingService,
    ident: int,
    who: str,
    target: provision.Target,
    progress: Progress = no_progress,
) -> Outcome:
    record = svc.get(ident)
    svc.check_inventory_of(record)
    next_state(ident, record.state, Action.PROVISION)
    inv = svc.snapshot().inventory
    provision.check_reach(inv, record.allocations, target)
    if target.check:
        run = provision.run(
            inv, ident, record.allocations, state="present", target=target, progress=progress
        )
        return Outcome(svc.get(ident), run, provision.failure_summary(run))
    svc.record_step(ident, who, Action.PROVISION, detail={"tcp_ports": list(target.tcp_ports)})
    try:
        run = provision.run(
            inv, ident, record.allocations, state="present", target=target, progress=progress
        )
    except (GovnetError, KeyboardInterrupt) as exc:
        svc.record_step(ident, who, Action.PROVISION_FAILED, str(exc) or "interrupted")
        raise
    failure = provision.failure_summary(run)
    if failure:
        svc.record_step(ident, who, Action.PROVISION_FAILED, failure, _run_details(run))
    else:
        svc.record_step(ident, who, Action.PROVISIONED, "", _run_details(run))
    return Outcome(svc.get(ident), run, failure)


def decommission_request(
    svc: HostingService,
    ident: int,
    who: str,
    target: provision.Target,
    reason: str = "",
    *,
    skip_network: bool = False,
    progress: Progress = no_progress,
) -> Outcome:
    record = svc.get(ident)
    svc.check_inventory_of(record)
    next_state(ident, record.state, Action.DECOMMISSION)
    svc.check_here(record)
    provisioned = svc.store.ever(ident, Action.PROVISION)
    run: PlaybookRun | None = None
    note = ""
    if provisioned and not skip_network:
        inv = svc.snapshot().inventory
        provision.check_reach(inv, record.allocations, target)
        try:
            run = provision.run(
                inv, ident, record.allocations, state="absent", target=target, progress=progress
            )
        except GovnetError as exc:
            if not target.check:
                svc.record_step(ident, who, Action.DECOMMISSION_FAILED, str(exc))
            raise
        failure = provision.failure_summary(run)
        if failure:
            if not target.check:
                svc.record_step(ident, who, Action.DECOMMISSION_FAILED, failure, _run_details(run))
            return Outcome(svc.get(ident), run, failure)
    elif not provisioned:
        note = "never provisioned: nothing to remove from the gateways"
    else:
        note = "--skip-network: the gateways were not touched"
    if target.check:
        ids = ", ".join(a.id for a in record.allocations) or "nothing"
        return Outcome(record, run, "", f"{note}; would free {ids}".lstrip("; "))
    detail: dict[str, object] = _run_details(run) if run is not None else {"network": note}
    freed = svc.free(ident, who, reason, detail)
    if freed.state is not State.DECOMMISSIONED:  # pragma: no cover - free() guarantees it
        raise HostingError(f"request {ident} was not decommissioned")
    return Outcome(freed, run, "", note)
