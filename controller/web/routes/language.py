"""The language switch on every page: ``POST /language`` (``language=km|en``, ``next``).

It sets the ``govnet_lang`` cookie (a year; the sign-in page reads it too) and, for a
signed-in user, their profile — so the choice follows them to another browser — then
returns to the page it came from (a local path only)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from controller.text import N_
from controller.web import i18n
from controller.web.auth import optional_user
from controller.web.context import console
from controller.web.data import safe_next
from controller.web.nav import NavItem

router = APIRouter()
NAV: list[NavItem] = []
COOKIE_LIFETIME = 365 * 86400
# Back to the same page, its filters kept: a local path and a plain query, nothing else.
_BACK = re.compile(r"^/[A-Za-z0-9/_.-]*(\?[A-Za-z0-9_.=&%+-]*)?$")


def back_to(target: str) -> str:
    return target if _BACK.match(target) and not target.startswith("//") else safe_next(None)


@router.post("/language")
def switch(
    request: Request,
    language: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=600)] = "/",
) -> Response:
    if language not in i18n.LANGUAGES:
        raise HTTPException(
            400, N_("language %(value)s: choose km or en", value=repr(language[:10]))
        )
    user = optional_user(request)
    if user is not None:
        console(request).profiles.set_language(user.username, language)
    response = RedirectResponse(back_to(next), status_code=303)
    response.set_cookie(
        i18n.COOKIE,
        language,
        max_age=COOKIE_LIFETIME,
        httponly=True,
        samesite="strict",
        secure=console(request).settings.secure_cookies,
    )
    return response
