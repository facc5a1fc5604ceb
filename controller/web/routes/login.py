"""Sign-in and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from controller.text import N_
from controller.web.auth import ensure_session, optional_user, sign_in, sign_out
from controller.web.context import client_of, console
from controller.web.data import safe_next
from controller.web.devices import COOKIE as DEVICE_COOKIE
from controller.web.devices import LIFETIME as DEVICE_LIFETIME
from controller.web.nav import NavItem
from controller.web.templating import render

router = APIRouter()
NAV: list[NavItem] = []


def _landing(role: str) -> str:
    return "/ministry" if role == "focal" else "/"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    user = optional_user(request)
    if user is not None:
        return RedirectResponse(_landing(user.role), status_code=303)
    ensure_session(request)  # an anonymous session holds the form's CSRF token
    return render(request, "login.html", next=safe_next(next), error=None, title=N_("Sign in"))


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=200)] = "/",
) -> Response:
    state = console(request)
    username = username.strip().lower()
    if not username or not password:
        return render(
            request,
            "login.html",
            status_code=400,
            next=safe_next(next),
            error=N_("Enter your user name and password."),
            title=N_("Sign in"),
        )
    device = state.devices.device_of(request.cookies.get(DEVICE_COOKIE), username)
    if device is not None:  # the user's own browser: limited on its own
        keys = [f"device:{device}"]
    else:
        keys = [f"user:{username}", f"client:{client_of(request)}"]
    attempt = state.limiter.attempt(keys)  # counted before the hash, atomically
    if not attempt.allowed:
        wait = int(attempt.retry_after) + 1
        response = render(
            request,
            "login.html",
            status_code=429,
            next=safe_next(next),
            error=N_("Too many failed sign-ins. Try again in %(wait)d s.", wait=wait),
            title=N_("Sign in"),
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = await run_in_threadpool(state.users.authenticate, username, password)
    if user is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=safe_next(next),
            error=N_("Wrong user name or password."),
            title=N_("Sign in"),
        )
    state.limiter.succeeded(attempt)
    await run_in_threadpool(sign_in, request, user)  # writes the session store
    target = safe_next(next, _landing(user.role))
    if target == "/" and user.role == "focal":
        target = _landing(user.role)
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(
        DEVICE_COOKIE,
        state.devices.issue(user.username),
        max_age=DEVICE_LIFETIME,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
        path="/login",
    )
    return redirect


@router.post("/logout")
def logout(request: Request) -> Response:
    sign_out(request)
    return RedirectResponse("/login?done=signed-out", status_code=303)
