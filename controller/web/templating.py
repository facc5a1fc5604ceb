"""Server-rendered pages: one Jinja2 environment (autoescaping on, strict undefined),
and ``render()`` that gives every template the user, the nav bar and the CSRF field."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from controller.web.auth import optional_user, session_of
from controller.web.context import console
from controller.web.csrf import FIELD
from controller.web.data import shown_errors
from controller.web.nav import nav_for

TEMPLATES = Path(__file__).parent / "templates"

# Messages shown after a redirect (?done=KEY): fixed texts, never echoed user input.
FLASH = {
    "silenced": "Acknowledged: a silence was created in Alertmanager.",
    "expired": "The silence was expired.",
    "signed-out": "You are signed out.",
}


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def percent(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value * 100:.1f}%"


def milliseconds(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value * 1000:.2f} ms"


def environment(extra: list[Path] | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*(extra or []), TEMPLATES]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["age"] = age
    env.filters["percent"] = percent
    env.filters["ms"] = milliseconds
    env.globals["time"] = time.time
    env.globals.setdefault("_", lambda text, **values: text % values if values else text)
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = console(request)
    user = optional_user(request)
    session = session_of(request)  # signed in, or the sign-in form's anonymous session

    def csrf_field() -> Markup:
        token = session.csrf if session else ""
        return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(token)}">')

    if "errors" in context:  # back-end failures: the detail for staff only
        context["errors"] = shown_errors(user, context["errors"])
    done = request.query_params.get("done", "")
    html = state.templates.get_template(template).render(
        request=request,
        user=user,
        nav=nav_for(state.nav, user),
        csrf_field=csrf_field,
        flash=FLASH.get(done),
        network=state.sites.network,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
