"""Reading change records for the console's pages (the store of `govnet change`, in
``<state-dir>/changes.db``), filtered to what the signed-in user may see."""

from __future__ import annotations

import logging

from fastapi import Request

from controller.change.records import ChangeRecord, ChangeStore
from controller.store import StoreError
from controller.web.context import console
from controller.web.users import User
from controller.web.views.changes import visible

log = logging.getLogger(__name__)
CHANGES_UNAVAILABLE = "change records cannot be read"


def store(request: Request) -> ChangeStore:
    return ChangeStore(console(request).settings.state_dir)


def visible_changes(request: Request, user: User) -> list[ChangeRecord]:
    """Every change ``user`` may see (raises StoreError: the page answers 503)."""
    return visible(user, store(request).list())


def changes_beside(request: Request, user: User, errors: list[str]) -> list[ChangeRecord]:
    """For pages where changes are an aside (the overview's banner, chart bands): a store
    failure becomes a banner line in ``errors`` and the page still renders."""
    try:
        return visible_changes(request, user)
    except StoreError as exc:
        log.error("%s: %s", CHANGES_UNAVAILABLE, exc)
        errors.append(f"{CHANGES_UNAVAILABLE}: {exc}")
        return []
