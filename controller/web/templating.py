"""Server-rendered pages: a Jinja2 environment per language (autoescaping on, strict
undefined, ``jinja2.ext.i18n`` with that language's catalog installed), and ``render()``
that picks the reader's language and gives every template the user, the nav bar, the
CSRF field and the language switch.

In templates: ``{{ _("Text with %(n)s", n=value) }}`` (new-style gettext: parameters
are escaped; a literal ``%`` is ``%%``), ``ngettext`` for plurals, and the filters
``age``, ``percent``, ``ms``, ``number`` and ``when`` (dates) formatted per locale. A
:class:`controller.text.Text` (``N_("…")`` in Python) printed anywhere is shown in the
page's language (the environment's ``finalize``)."""

from __future__ import annotations

import functools
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from controller.i18n import role_name
from controller.text import N_, Text
from controller.web import i18n
from controller.web.auth import optional_user, session_of
from controller.web.context import console
from controller.web.csrf import FIELD
from controller.web.data import shown_errors
from controller.web.nav import nav_for
from controller.web.views.alerts import SEVERITY_NAMES
from controller.web.views.changes import CHANGE_STATES

TEMPLATES = Path(__file__).parent / "templates"

# Messages shown after a redirect (?done=KEY): fixed texts, never echoed user input.
FLASH = {
    "silenced": N_("Acknowledged: a silence was created in Alertmanager."),
    "expired": N_("The silence was expired."),
    "signed-out": N_("You are signed out."),
}


# Roles as the nav bar shows them (the codes stay soc, engineer, focal everywhere else).
ROLES = {"soc": N_("soc"), "engineer": N_("engineer"), "focal": N_("focal")}

KINDS = {
    "capital": N_("capital"),
    "province": N_("province"),
    "commune": N_("commune"),
    "sangkat": N_("sangkat"),
    "datacentre": N_("data centre"),
}

# Hosting request states as shown (the codes stay in the store, the CLI and the API).
STATE_NAMES = {
    "submitted": N_("submitted"),
    "approved": N_("approved"),
    "provisioning": N_("provisioning"),
    "active": N_("active"),
    "rejected": N_("rejected"),
    "decommissioned": N_("decommissioned"),
}

# The steps of a change record's history as shown (codes as the CLI prints them).
CHANGE_STEP_NAMES = {
    "new": N_("recorded"),
    "start": N_("started: alerts silenced"),
    "finish": N_("finished: silences removed"),
    "rehearse": N_("rehearsed in the lab"),
    "apply": N_("applied"),
}

# The steps of a hosting request's history as shown (codes as the CLI prints them).
STEP_NAMES = {
    "submit": N_("submitted"),
    "approve": N_("approved"),
    "approve-refused": N_("approval refused: does not fit"),
    "reject": N_("rejected"),
    "provision": N_("network configuration started"),
    "provisioned": N_("network configured"),
    "provision-failed": N_("network configuration failed"),
    "decommission": N_("decommissioned"),
    "decommission-failed": N_("decommissioning failed"),
}


def summary(alert: Any, language: str) -> str:
    """An alert's summary: in Khmer pages the rule's ``summary_km`` when it has one."""
    if language == "km":
        khmer = alert.annotations.get("summary_km")
        if khmer:
            return str(khmer)
    return str(alert.summary)


def place(thing: object, language: str) -> str:
    """A province's, commune's or site's name: in Khmer pages its ``name_km`` if known."""
    if language == "km":
        khmer = getattr(thing, "name_km", None)
        if khmer:
            return str(khmer)
    return str(getattr(thing, "name", thing))


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


def environment(
    extra: list[Path] | None = None, language: str = i18n.DEFAULT
) -> jinja2.Environment:
    """The templates in ``language``: its gettext callables installed once, its formats."""
    gettext = i18n.translations(language)

    def finalize(value: object) -> object:
        return value.translated(gettext.gettext) if isinstance(value, Text) else value

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*(extra or []), TEMPLATES]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        finalize=finalize,
    )
    env.install_gettext_translations(gettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["age"] = functools.partial(i18n.age, language=language)
    env.filters["percent"] = functools.partial(i18n.percent, language=language)
    env.filters["ms"] = functools.partial(i18n.milliseconds, language=language)
    env.filters["number"] = functools.partial(i18n.number, language=language)
    env.filters["when"] = functools.partial(i18n.when, language=language)
    env.filters["t"] = finalize  # a Text inside an expression (e.g. in an attribute)
    env.globals["time"] = time.time
    env.globals["language"] = language
    env.globals["languages"] = i18n.NAMES
    env.globals["roles"] = ROLES
    env.globals["severity_names"] = SEVERITY_NAMES
    env.globals["kinds"] = KINDS
    env.globals["state_names"] = STATE_NAMES
    env.globals["step_names"] = STEP_NAMES
    env.globals["change_state_names"] = CHANGE_STATES
    env.globals["change_step_names"] = CHANGE_STEP_NAMES
    env.filters["role"] = functools.partial(role_name, language=language)
    env.globals["Markup"] = Markup
    env.filters["place"] = functools.partial(place, language=language)
    env.filters["summary"] = functools.partial(summary, language=language)
    # the real gettext is installed above; this fallback (for a bare Environment) stays unused
    env.globals.setdefault("_", lambda text, **values: text % values if values else text)
    return env


class Templates:
    """One environment per language, made on first use (thread-safe)."""

    def __init__(self, extra: list[Path] | None = None) -> None:
        self.extra = extra
        self._made: dict[str, jinja2.Environment] = {}
        self._lock = threading.Lock()

    def get(self, language: str) -> jinja2.Environment:
        env = self._made.get(language)
        if env is None:
            with self._lock:
                env = self._made.get(language)
                if env is None:
                    env = self._made[language] = environment(self.extra, language)
        return env


def language_of(request: Request) -> str:
    """The reader's language: profile, else the switch's cookie, else Accept-Language."""
    cached = getattr(request.state, "language", None)
    if isinstance(cached, str):
        return cached
    user = optional_user(request)
    language = i18n.choose(
        user.language if user else None,
        request.cookies.get(i18n.COOKIE),
        request.headers.get("accept-language"),
    )
    request.state.language = language
    return language


def gettext_of(request: Request) -> i18n.NullTranslations:
    return i18n.translations(language_of(request))


def now_text(request: Request, moment: datetime) -> str:
    return i18n.when(moment, language_of(request))


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
    language = language_of(request)
    env = state.templates.get(language)
    query = request.url.query
    html = env.get_template(template).render(
        request=request,
        user=user,
        nav=nav_for(state.nav, user),
        csrf_field=csrf_field,
        flash=FLASH.get(done),
        network=state.sites.network,
        path=request.url.path,
        here=request.url.path + (f"?{query}" if query and len(query) < 500 else ""),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
