"""Authentication and authorisation as FastAPI dependencies.

    from controller.web.auth import CurrentUser, require_role

    @router.get("/thing")
    def thing(user: CurrentUser) -> ...: ...                  # any signed-in user

    @router.post("/thing", dependencies=[Depends(require_role("engineer"))])
    def change(...): ...                                         # engineers only

``current_user`` raises :class:`NotSignedIn` (the app turns it into a redirect to the
sign-in page, or 401 for ``/api/...``); ``require_role`` raises 403. The user is looked
up in the users file on every request, so a role change or a removed user takes effect
at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from controller.text import N_
from controller.web.context import client_of, console
from controller.web.sessions import Session
from controller.web.users import User

__all__ = [
    "CurrentUser",
    "Engineer",
    "NotSignedIn",
    "Staff",
    "User",
    "current_user",
    "ensure_session",
    "require_role",
    "sign_in",
    "sign_out",
]


class NotSignedIn(Exception):
    """No valid session: the browser is sent to /login, the API answers 401."""


def session_of(request: Request) -> Session | None:
    session = getattr(request.state, "session", None)
    return session if isinstance(session, Session) else None


def ensure_session(request: Request) -> Session:
    """The request's session, or a new anonymous one (for the sign-in form's CSRF token)."""
    session = session_of(request)
    if session is None:
        session = console(request).sessions.create(None, client=client_of(request))
        request.state.session = session
        request.state.cookie = session
    return session


def optional_user(request: Request) -> User | None:
    session = session_of(request)
    if session is None or session.username is None:
        return None
    user = console(request).users.get(session.username)
    if user is None or user.stamp != session.stamp:  # removed, or password/role changed
        console(request).sessions.delete(session)
        request.state.session = None
        return None
    return dataclasses.replace(user, language=console(request).profiles.language(user.username))


def current_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise NotSignedIn()
    return user


def require_role(*roles: str) -> Callable[[User], User]:
    """A dependency admitting only users with one of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in allowed:
            raise HTTPException(
                403, N_("this needs the %(roles)s role", roles=" or ".join(sorted(allowed)))
            )
        return user

    return dependency


CurrentUser = Annotated[User, Depends(current_user)]
Staff = Annotated[User, Depends(require_role("soc", "engineer"))]
Engineer = Annotated[User, Depends(require_role("engineer"))]


def sign_in(request: Request, user: User) -> Session:
    """A fresh session for ``user`` (the old session id stops working: no fixation)."""
    session = console(request).sessions.rotate(
        session_of(request), user.username, user.stamp, client_of(request)
    )
    request.state.session = session
    request.state.cookie = session
    return session


def sign_out(request: Request) -> None:
    session = session_of(request)
    if session is not None:
        console(request).sessions.delete(session)
    request.state.session = None
    request.state.cookie = False
