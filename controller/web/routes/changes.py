"""Change records in the console: planned, running and finished changes with their window
(Cambodia time), elements and impact. MPTC staff see every change; a focal officer the
changes whose stored impact lists their ministry, and of each only that part.

The records are those of `govnet change new|start|finish` (``controller.change``); the
console reads them and changes nothing. A change number ``{n}`` that is not a change, is
out of range, or — for a focal officer — does not affect their ministry gets the same 404,
so numbers cannot be counted."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from controller.change.records import UnknownChange
from controller.hosting.request import parse_request_id
from controller.text import N_
from controller.web.auth import CurrentUser
from controller.web.changes import store, visible_changes
from controller.web.nav import ALL_ROLES, NavItem
from controller.web.templating import render
from controller.web.views.changes import grouped, may_see, scope_for, view

router = APIRouter()
NAV = [NavItem(N_("Changes"), "/changes", ALL_ROLES, order=55)]
NO_SUCH_CHANGE = N_("no such change")
STATE_CLASS = {
    "planned": "sev sev-info",
    "running": "sev sev-warning",
    "finished": "state up",
    "cancelled": "muted",
}


@router.get("/changes")
def changes(request: Request, user: CurrentUser) -> Response:
    now = datetime.now(UTC)
    views = [view(user, r, now) for r in visible_changes(request, user)]
    return render(
        request,
        "changes/list.html",
        title=N_("Changes"),
        sections=grouped(views),
        state_class=STATE_CLASS,
        focal=user.role == "focal",
        refresh=60,
    )


@router.get("/changes/{ident}")
def change(request: Request, ident: str, user: CurrentUser) -> Response:
    number = parse_request_id(ident)
    if number is None:
        raise HTTPException(404, NO_SUCH_CHANGE)
    try:
        record = store(request).get(number)
    except UnknownChange:
        raise HTTPException(404, NO_SUCH_CHANGE) from None
    if not may_see(user, record):
        raise HTTPException(404, NO_SUCH_CHANGE)
    now = datetime.now(UTC)
    return render(
        request,
        "changes/detail.html",
        title=N_("Change %(n)s", n=record.id),
        change=view(user, record, now),
        scope=scope_for(user, record),
        state_class=STATE_CLASS,
        focal=user.role == "focal",
    )
