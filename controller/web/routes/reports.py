"""Reports: the monthly SLA of a ministry or a province, on the page and as PDF, CSV,
JSON or HTML downloads. MPTC staff (soc, engineer) may open any; a focal officer only
their own ministry's — any other report is "not found" (404), so ids are not probed."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from controller.errors import UsageError
from controller.report import sla
from controller.report.prometheus import SlaSource, discover_step
from controller.report.render import MEDIA_TYPES, Format, css, html_fragment, render
from controller.report.service import build_report, change_records
from controller.text import N_
from controller.web.auth import CurrentUser
from controller.web.context import console
from controller.web.nav import ALL_ROLES, NavItem
from controller.web.templating import language_of
from controller.web.templating import render as page
from controller.web.users import User

router = APIRouter()
NAV = [NavItem(N_("Reports"), "/reports", ALL_ROLES, order=70)]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
SCOPES = ("tenant", "province")


def _month(text: str | None) -> str:
    if text is None:
        return datetime.now(sla.ICT).strftime("%Y-%m")
    if not _MONTH.match(text):
        raise HTTPException(400, N_("month: expected YYYY-MM, e.g. 2026-11"))
    return text


def _allowed(user: User, scope: str, code: str) -> None:
    """404 for what the user may not see, and for what does not exist."""
    if scope not in SCOPES:
        raise HTTPException(404, N_("no such report"))
    if user.role == "focal" and not (scope == "tenant" and code == user.tenant):
        raise HTTPException(404, N_("no such report"))


def _report(request: Request, user: User, scope: str, code: str, month: str) -> sla.Report:
    _allowed(user, scope, code)
    state = console(request)
    inventory = state.sites.inventory
    known = (
        {t.code for t in inventory.tenants}
        if scope == "tenant"
        else {p.code for p in inventory.provinces}
    )
    if code not in known:
        raise HTTPException(404, N_("no such report"))
    prometheus = state.backends.prometheus
    try:
        period = sla.month(month)
        source = SlaSource(prometheus, discover_step(prometheus))
        return build_report(
            inventory,
            source,
            change_records(state.settings.state_dir),
            period,
            tenant=code if scope == "tenant" else None,
            province=code if scope == "province" else None,
        )
    except UsageError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/reports")
def reports(request: Request, user: CurrentUser, month: str | None = None) -> Response:
    inventory = console(request).sites.inventory
    chosen = _month(month)
    tenants = sorted(inventory.tenants, key=lambda t: t.code)
    provinces = sorted(inventory.provinces, key=lambda p: p.code)
    if user.role == "focal":
        tenants = [t for t in tenants if t.code == user.tenant]
        provinces = []
    return page(
        request,
        "reports.html",
        title=N_("Reports"),
        month=chosen,
        tenants=tenants,
        provinces=provinces,
    )


@router.get("/reports/sla.css")
def report_css(user: CurrentUser) -> Response:
    """The report's own stylesheet (the console's CSP allows no inline style)."""
    return Response(css(), media_type="text/css; charset=utf-8")


@router.get("/reports/sla/{scope}/{code}")
def sla_page(
    request: Request, scope: str, code: str, user: CurrentUser, month: str | None = None
) -> Response:
    chosen = _month(month)
    result = _report(request, user, scope, code, chosen)
    return page(
        request,
        "report_sla.html",
        title=N_("SLA %(code)s %(month)s", code=result.code, month=chosen),
        report=result,
        body=html_fragment(result, language_of(request)),
        scope=scope,
        month=chosen,
        formats=[f.value for f in Format],
    )


@router.get("/reports/sla/{scope}/{code}/download/{fmt}")
def sla_download(
    request: Request,
    scope: str,
    code: str,
    fmt: str,
    user: CurrentUser,
    month: str | None = None,
) -> Response:
    try:
        chosen_format = Format(fmt)
    except ValueError:
        raise HTTPException(404, N_("no such report format")) from None
    chosen = _month(month)
    result = _report(request, user, scope, code, chosen)
    filename = f"sla-{result.code}-{chosen}.{chosen_format.value}"
    return Response(
        render(result, chosen_format, language_of(request)),
        media_type=MEDIA_TYPES[chosen_format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
