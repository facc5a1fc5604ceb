"""CSRF protection for every form.

Each session (anonymous ones too, for the sign-in form) has a random token. Templates put
it in a hidden field with ``{{ csrf_field() }}``; ``csrf_guard`` — installed by the app
factory on *every* router — rejects a POST, PUT, PATCH or DELETE whose ``csrf_token``
form field (or ``X-CSRF-Token`` header) does not match, with 403. The session cookie is
also SameSite=Strict.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from controller.text import N_
from controller.web.auth import session_of
from controller.web.tokens import same

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "csrf_token"
HEADER = "x-csrf-token"


async def csrf_guard(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    session = session_of(request)
    submitted = request.headers.get(HEADER)
    if submitted is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(FIELD)
            submitted = value if isinstance(value, str) else None
    if (
        session is None
        or not submitted
        or len(submitted) > 256
        or not same(submitted, session.csrf)
    ):
        raise HTTPException(
            403,
            N_("missing or invalid CSRF token: reload the page and submit the form again"),
        )
