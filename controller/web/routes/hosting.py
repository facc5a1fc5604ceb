"""Hosting requests in the console. A focal officer asks for capacity in the NDC/DR for
their own ministry and follows the request; engineers see every request and approve
(which allocates racks, power, VLANs, prefixes and ports into hosting.yaml) or reject.

The work is ``controller.hosting.service.HostingService`` — the same as `govnet hosting`;
the routes only check who may do what, read forms and render. Bad input is answered with
400 and the form again, each message next to its field; nothing is written then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from controller.errors import GovnetError
from controller.hosting import provision
from controller.hosting.errors import DoesNotFit, RequestInvalid, UnknownRequest
from controller.hosting.request import (
    FIELDS,
    MAX_POWER_KW,
    MAX_UNITS,
    MAX_VLANS,
    PREFIX_LENGTHS,
    Site,
    parse_request_id,
)
from controller.hosting.service import HostingService
from controller.hosting.states import Action, State, next_state
from controller.hosting.store import RequestRecord
from controller.hosting.workflow import (
    Outcome,
    Progress,
    decommission_request,
    gateways,
    provision_request,
)
from controller.inventory.model import Tenant
from controller.text import N_
from controller.web.auth import CurrentUser, Engineer, User
from controller.web.context import console
from controller.web.jobs import JobRunning
from controller.web.nav import ALL_ROLES, STAFF, NavItem
from controller.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter()
NAV = [NavItem(N_("Hosting"), "/hosting", ALL_ROLES, order=60)]

# Notices after a redirect (?done=KEY): fixed texts, never echoed input.
DONE = {
    "submitted": N_(
        "Your request was submitted. MPTC engineers will review it; its state is shown below."
    ),
    "approved": N_("Approved: the capacity below is allocated and written to the inventory."),
    "rejected": N_("The request was rejected; the reason is recorded in its history."),
    "provision": N_("Provisioning started: the gateways are being configured (progress below)."),
    "decommission": N_("Decommissioning started: the gateways are being cleaned (progress below)."),
}
NO_PROVISIONING = N_(
    "This console does not configure the network: start it with `govnet soc serve --lab "
    "TOPOLOGY` (or --production) to provision from here, or use `govnet hosting provision`."
)
STATE_CLASS = {
    State.SUBMITTED: "sev sev-info",
    State.APPROVED: "sev sev-warning",
    State.PROVISIONING: "sev sev-warning",
    State.ACTIVE: "state up",
    State.REJECTED: "sev sev-critical",
    State.DECOMMISSIONED: "muted",
}
STATE_TEXT = {
    State.SUBMITTED: N_("waiting for review by MPTC engineers"),
    State.APPROVED: N_("capacity allocated; the network is being prepared"),
    State.PROVISIONING: N_("the network is being configured"),
    State.ACTIVE: N_("live: the subnet is reachable from the private network"),
    State.REJECTED: N_("not approved (see the reason in the history)"),
    State.DECOMMISSIONED: N_("removed; the capacity was freed"),
}
HELP = {
    "tenant": N_("Your ministry or institution."),
    "service": N_("The system the servers are for, as listed for your ministry."),
    "site": N_("NDC in Phnom Penh, the disaster-recovery site, or both (a copy at DR)."),
    "units": N_(
        "Height of the equipment in rack units (1 U = 4.45 cm), 1-%(most)d.", most=MAX_UNITS
    ),
    "servers": N_("How many servers; each gets a port on the rack's switch."),
    "power_kw": N_(
        "Electrical power of all the equipment together, in kW (up to %(most)g).",
        most=MAX_POWER_KW,
    ),
    "vlans": N_("Separate networks needed (usually 1; up to %(most)d).", most=MAX_VLANS),
    "prefix_len": N_("Addresses per network: /26 gives 62 addresses, /24 gives 254."),
    "bandwidth_mbps": N_("Connection to the government private network, e.g. 1G or 500M."),
    "contact": N_("Who MPTC engineers should call: name, e-mail, phone."),
    "justification": N_("What the service needs the capacity for (at least 10 characters)."),
}
PREFIX_CHOICES = [
    (n, N_("/%(length)d — %(hosts)d addresses", length=n, hosts=2 ** (32 - n) - 2))
    for n in range(PREFIX_LENGTHS[1], PREFIX_LENGTHS[0] - 1, -1)
]
ECHO_LIMIT = 2000  # a value shown back in the form is cut here (the limit is told anyway)
HOSTING_UNAVAILABLE = N_("hosting requests cannot be handled at the moment: please try again later")


@dataclass(frozen=True)
class FormState:
    values: dict[str, str]
    errors: dict[str, str]


def _service(request: Request) -> HostingService:
    settings = console(request).settings
    return HostingService(settings.inventory, settings.state_dir)


def _who(user: User) -> str:
    return f"web:{user.username}"


def _visible(user: User, record: RequestRecord) -> bool:
    return user.role != "focal" or record.request.tenant == user.tenant


def _unavailable(user: User, what: str, exc: GovnetError) -> HTTPException:
    """A 503: the detail (paths, the error) for MPTC staff, one plain line for others."""
    log.warning("%s: %s", what, exc)
    if user.role in STAFF:
        return HTTPException(503, f"{what}: {exc}")
    return HTTPException(503, HOSTING_UNAVAILABLE)


def _tenants(request: Request, user: User) -> list[Tenant]:
    try:
        inv = _service(request).snapshot().inventory
    except GovnetError as exc:
        raise _unavailable(user, "the inventory cannot be read", exc) from None
    tenants = sorted(inv.tenants, key=lambda t: t.code)
    if user.role == "focal":
        return [t for t in tenants if t.code == user.tenant]
    return tenants


def _form(
    request: Request, user: User, state: FormState, status: int = 200, problem: str = ""
) -> Response:
    tenants = _tenants(request, user)
    if user.role == "focal" and not tenants:
        raise HTTPException(403, N_("your ministry is not in the inventory: ask MPTC to add it"))
    return render(
        request,
        "hosting/form.html",
        status_code=status,
        title=N_("Request hosting capacity"),
        tenants=tenants,
        fixed_tenant=user.role == "focal",
        values=state.values,
        field_errors=state.errors,
        problem=problem,
        labels=FIELDS,
        help=HELP,
        sites=[
            (Site.NDC, N_("NDC (primary)")),
            (Site.DR, N_("DR site")),
            (Site.BOTH, N_("Both (replicated)")),
        ],
        prefixes=PREFIX_CHOICES,
        max_units=MAX_UNITS,
        max_vlans=MAX_VLANS,
        max_power=MAX_POWER_KW,
    )


@router.get("/hosting")
def requests(request: Request, user: CurrentUser, done: str = "") -> Response:
    svc = _service(request)
    if user.role == "focal":
        records = svc.list(tenant=user.tenant) if user.tenant else []
    else:
        records = svc.list()
    return render(
        request,
        "hosting/list.html",
        title=N_("Hosting requests"),
        records=records,
        can_request=user.role in ("focal", "engineer"),
        state_class=STATE_CLASS,
        state_text=STATE_TEXT,
        notice=DONE.get(done, ""),
    )


@router.get("/hosting/new")
def new_form(request: Request, user: CurrentUser) -> Response:
    if user.role not in ("focal", "engineer"):
        raise HTTPException(403, N_("hosting requests are made by focal officers or engineers"))
    defaults = {"site": "ndc", "vlans": "1", "prefix_len": "26", "bandwidth_mbps": "1G"}
    if user.tenant:
        defaults["tenant"] = user.tenant
    return _form(request, user, FormState(defaults, {}))


@router.post("/hosting/new")
def submit(
    request: Request,
    user: CurrentUser,
    tenant: Annotated[str, Form()] = "",
    service: Annotated[str, Form()] = "",
    site: Annotated[str, Form()] = "",
    units: Annotated[str, Form()] = "",
    servers: Annotated[str, Form()] = "",
    power_kw: Annotated[str, Form()] = "",
    vlans: Annotated[str, Form()] = "",
    prefix_len: Annotated[str, Form()] = "",
    bandwidth_mbps: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
) -> Response:
    if user.role not in ("focal", "engineer"):
        raise HTTPException(403, N_("hosting requests are made by focal officers or engineers"))
    if user.role == "focal":
        if tenant and tenant != user.tenant:
            raise HTTPException(403, N_("you can request hosting for your own ministry only"))
        tenant = user.tenant or ""
    raw = {
        "tenant": tenant,
        "service": service,
        "site": site,
        "units": units,
        "servers": servers,
        "power_kw": power_kw,
        "vlans": vlans,
        "prefix_len": prefix_len,
        "bandwidth_mbps": bandwidth_mbps,
        "contact": contact,
        "justification": justification,
    }
    try:
        record = _service(request).submit(raw, _who(user))
    except RequestInvalid as exc:
        shown = {k: v[:ECHO_LIMIT] for k, v in raw.items()}
        count = len(exc.by_field())
        problem = N_(
            "Please correct the %(count)d field(s) marked below. Nothing was saved.", count=count
        )
        return _form(request, user, FormState(shown, exc.by_field()), 400, problem)
    except GovnetError as exc:
        raise _unavailable(user, "the request cannot be recorded", exc) from None
    return RedirectResponse(f"/hosting/{record.id}?done=submitted", status_code=303)


NO_SUCH_REQUEST = N_("no such hosting request")
"""The one answer (404) for a number that is not a request, is out of range, or is another
ministry's: a focal officer cannot tell them apart, so request numbers cannot be counted."""


def _number(ident: str) -> int:
    number = parse_request_id(ident)
    if number is None:
        raise HTTPException(404, NO_SUCH_REQUEST)
    return number


def _record(request: Request, user: User, ident: int) -> RequestRecord:
    try:
        record = _service(request).get(ident)
    except UnknownRequest:
        raise HTTPException(404, NO_SUCH_REQUEST) from None
    if not _visible(user, record):
        raise HTTPException(404, NO_SUCH_REQUEST)
    return record


def _detail(
    request: Request, user: User, record: RequestRecord, status: int = 200, problem: str = ""
) -> Response:
    settings = console(request).settings
    job = console(request).jobs.latest(record.id)
    return render(
        request,
        "hosting/detail.html",
        status_code=status,
        title=N_("Hosting request %(number)d", number=record.id),
        record=record,
        q=record.request,
        labels=FIELDS,
        state_class=STATE_CLASS,
        state_text=STATE_TEXT,
        can_decide=user.role == "engineer" and record.state is State.SUBMITTED,
        can_provision=user.role == "engineer" and record.state is State.APPROVED,
        can_decommission=user.role == "engineer" and record.state in {State.APPROVED, State.ACTIVE},
        provisioning=settings.provisioning,
        no_provisioning=NO_PROVISIONING,
        job=job if user.role in STAFF else None,
        refresh=2 if job is not None and job.running else 0,
        notice=DONE.get(request.query_params.get("done", ""), ""),
        problem=problem,
    )


@router.get("/hosting/{ident}")
def detail(request: Request, ident: str, user: CurrentUser) -> Response:
    return _detail(request, user, _record(request, user, _number(ident)))


@router.post("/hosting/{ident}/approve")
def approve(
    request: Request,
    ident: str,
    user: Engineer,
    reason: Annotated[str, Form()] = "",
) -> Response:
    number = _number(ident)
    record = _record(request, user, number)
    try:
        _service(request).approve(number, _who(user), reason)
    except RequestInvalid as exc:
        return _detail(request, user, record, 400, str(exc))
    except DoesNotFit as exc:
        fresh = _service(request).get(number)
        return _detail(
            request, user, fresh, 409, N_("Not approved: %(why)s. Nothing was allocated.", why=exc)
        )
    except GovnetError as exc:
        return _detail(request, user, record, 409, str(exc))
    return RedirectResponse(f"/hosting/{number}?done=approved", status_code=303)


@router.post("/hosting/{ident}/reject")
def reject(
    request: Request,
    ident: str,
    user: Engineer,
    reason: Annotated[str, Form()] = "",
) -> Response:
    number = _number(ident)
    record = _record(request, user, number)
    try:
        _service(request).reject(number, _who(user), reason)
    except RequestInvalid as exc:
        message = exc.by_field().get("reason", str(exc))
        return _detail(request, user, record, 400, N_("Reason: %(why)s", why=message))
    except GovnetError as exc:
        return _detail(request, user, record, 409, str(exc))
    return RedirectResponse(f"/hosting/{number}?done=rejected", status_code=303)


def _target(request: Request) -> provision.Target:
    settings = console(request).settings
    lab = None
    if settings.provision_lab is not None:
        from controller.ansible.lab import lab_target

        lab = lab_target(settings.provision_lab)
    return provision.Target(
        state_dir=settings.state_dir,
        lab=lab,
        production=settings.provision_production,
        trust_on_first_use=settings.provision_tofu,
    )


def _start(request: Request, user: User, number: int, action: str, reason: str) -> Response:
    """Start a provision/decommission run in the background; the page shows its progress."""
    record = _record(request, user, number)
    if not console(request).settings.provisioning:
        return _detail(request, user, record, 409, NO_PROVISIONING)
    svc = _service(request)
    try:
        target = _target(request)
        hosts = gateways(svc, number)
        who = _who(user)
        if action == "provision":
            next_state(number, record.state, Action.PROVISION)
            provision.check_reach(svc.snapshot().inventory, record.allocations, target)

            def work(progress: Progress) -> Outcome:
                return provision_request(svc, number, who, target, progress)
        else:
            next_state(number, record.state, Action.DECOMMISSION)

            def work(progress: Progress) -> Outcome:
                return decommission_request(svc, number, who, target, reason, progress=progress)

        console(request).jobs.start(number, action, who, hosts, work)
    except JobRunning as exc:
        return _detail(request, user, record, 409, str(exc))
    except GovnetError as exc:
        return _detail(request, user, record, 409, N_("Not started: %(why)s", why=exc))
    return RedirectResponse(f"/hosting/{number}?done={action}", status_code=303)


@router.post("/hosting/{ident}/provision")
def provision_(request: Request, ident: str, user: Engineer) -> Response:
    return _start(request, user, _number(ident), "provision", "")


@router.post("/hosting/{ident}/decommission")
def decommission(
    request: Request,
    ident: str,
    user: Engineer,
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _start(request, user, _number(ident), "decommission", reason)
