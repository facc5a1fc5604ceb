"""What every request handler may need, bundled on ``app.state.console``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from fastapi import Request

from controller.web.backends import Backends
from controller.web.clients import client_address
from controller.web.devices import DeviceCookies
from controller.web.jobs import Jobs
from controller.web.nav import NavItem
from controller.web.profiles import ProfileStore
from controller.web.ratelimit import LoginLimiter
from controller.web.sessions import SessionStore
from controller.web.settings import WebSettings
from controller.web.sitemap import SiteIndex
from controller.web.users import UserStore

if TYPE_CHECKING:
    from controller.web.templating import Templates


@dataclass
class Console:
    settings: WebSettings
    sites: SiteIndex
    backends: Backends
    users: UserStore
    profiles: ProfileStore
    sessions: SessionStore
    limiter: LoginLimiter
    devices: DeviceCookies
    templates: Templates  # the Jinja2 environment of each language
    nav: list[NavItem]
    jobs: Jobs


def client_of(request: Request) -> str:
    """The client's address (the trusted proxy's X-Forwarded-For, else the peer)."""
    return client_address(request, console(request).settings.trusted_proxies)


def console(request: Request) -> Console:
    """FastAPI dependency (and helper): the console of the running app."""
    return cast(Console, request.app.state.console)
