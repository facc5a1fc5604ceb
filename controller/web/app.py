"""The app factory: ``create_app(settings) -> FastAPI``.

It loads the inventory once (site codes for validating input, names for display), opens
the users file and the session secret, discovers the route modules of
``controller.web.routes`` (each router behind the CSRF guard, each NAV entry in the nav
bar) and installs the security middleware, HEAD for every GET page and the error pages.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller.inventory import load_inventory
from controller.soc.errors import BackendError
from controller.store import StoreError, open_database
from controller.text import N_
from controller.web import routes, security
from controller.web.auth import NotSignedIn, optional_user
from controller.web.backends import Backends, http_backends
from controller.web.context import Console
from controller.web.csrf import csrf_guard
from controller.web.data import shown_errors
from controller.web.devices import DeviceCookies
from controller.web.head import HeadAsGet
from controller.web.jobs import Jobs
from controller.web.nav import NavItem
from controller.web.profiles import ProfileStore
from controller.web.ratelimit import LoginLimiter
from controller.web.sessions import SessionStore, load_secret
from controller.web.settings import WebSettings
from controller.web.sitemap import SiteIndex
from controller.web.templating import Templates, render
from controller.web.users import UserStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(settings: WebSettings, backends: Backends | None = None) -> FastAPI:
    """The SOC console. ``backends`` defaults to HTTP clients of the settings' URLs."""
    app = FastAPI(
        title="govnet SOC console",
        docs_url=None,  # the generated docs need inline scripts and are not signed-in
        redoc_url=None,
        openapi_url=None,
    )
    secret = load_secret(settings.secret_file)
    modules = routes.discover()
    nav: list[NavItem] = [item for m in modules for item in getattr(m, "NAV", [])]
    app.state.console = Console(
        settings=settings,
        sites=SiteIndex(load_inventory(settings.inventory)),
        backends=backends
        or http_backends(
            settings.prometheus_url, settings.alertmanager_url, settings.backend_timeout
        ),
        users=UserStore(settings.users_file, settings.scrypt_n),
        profiles=ProfileStore(settings.profiles_file),
        sessions=SessionStore(
            open_database(settings.sessions_file, "sessions", durable=False),
            secret,
            idle=settings.session_idle_seconds,
            absolute=settings.session_max_seconds,
            anonymous_per_client=settings.anonymous_sessions_per_client,
            anonymous_limit=settings.max_sessions,
            per_user=settings.sessions_per_user,
        ),
        limiter=LoginLimiter(settings.login_max_failures, settings.login_window_seconds),
        devices=DeviceCookies(secret),
        templates=Templates(),
        nav=nav,
        jobs=Jobs(),
    )
    for module in modules:
        app.include_router(module.router, dependencies=[Depends(csrf_guard)])
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    security.install(app)
    app.add_middleware(HeadAsGet)  # outermost: HEAD is a GET without the body
    _error_pages(app)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return render(
        request,
        "error.html",
        status_code=status,
        title=N_("Error %(status)d", status=status),
        status=status,
        message=message,
    )


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": "sign in first"}, status_code=401)
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else N_("request refused")
        if exc.status_code == 404 and message == "Not Found":
            message = N_("no page %(path)s", path=repr(request.url.path[:80]))
        if exc.status_code == 405:
            message = N_("%(method)s is not allowed here", method=request.method)
        response = _error(request, exc.status_code, message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(
                str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")
            )
            problems.append(f"{where or 'input'}: {error.get('msg', 'invalid')}")
        return _error(request, 400, "; ".join(problems) or N_("invalid input"))

    @app.exception_handler(BackendError)
    async def backend_down(request: Request, exc: BackendError) -> Response:
        shown = shown_errors(optional_user(request), [str(exc)])
        return _error(request, 503, "; ".join(shown))

    @app.exception_handler(StoreError)
    async def store_down(request: Request, exc: StoreError) -> Response:
        log.error("%s", exc)
        return _error(request, 503, N_("the console's state store is unavailable; try again"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        response = JSONResponse({"error": "internal error"}, status_code=500)
        security.add_headers(response, False, request.url.path)
        return response


__all__ = ["HTTPException", "WebSettings", "create_app"]
