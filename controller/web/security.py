"""Response hardening (security headers) and the session cookie, in one middleware.

The CSP allows no script at all (the console needs none: charts are server-rendered
SVG, refresh is a meta tag) and styles only from /static.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from controller.store import StoreError
from controller.web.context import console
from controller.web.sessions import COOKIE, Session

log = logging.getLogger(__name__)
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def add_headers(response: Response, secure: bool, path: str) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    if secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def sessions_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        state = console(request)
        try:
            # the store may wait for a lock: off the event loop
            request.state.session = await run_in_threadpool(
                state.sessions.get, request.cookies.get(COOKIE)
            )
        except StoreError as exc:
            log.error("%s", exc)
            refused = PlainTextResponse(
                "the console's state store is unavailable; try again", status_code=503
            )
            add_headers(refused, state.settings.secure_cookies, request.url.path)
            return refused
        request.state.cookie = None  # a Session to set, False to clear
        response = await call_next(request)
        secure = state.settings.secure_cookies
        cookie = request.state.cookie
        if isinstance(cookie, Session):
            response.set_cookie(
                COOKIE,
                state.sessions.cookie_value(cookie),
                httponly=True,
                samesite="strict",
                secure=secure,
                path="/",
            )
        elif cookie is False:
            response.delete_cookie(
                COOKIE, path="/", httponly=True, samesite="strict", secure=secure
            )
        add_headers(response, secure, request.url.path)
        return response
