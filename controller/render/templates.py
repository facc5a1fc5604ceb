"""Intent → configuration text, with Jinja2 templates kept as data per platform.

``controller/templates/<platform>/<name>.j2``; undefined variables are errors
(StrictUndefined), so a template typo fails the golden tests instead of
rendering an empty line.
"""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

import jinja2

from controller.errors import GovnetError
from controller.inventory.model import Platform
from controller.render.intent import DeviceIntent

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class RenderError(GovnetError):
    """A device's configuration could not be rendered."""


def netmask(value: IPv4Interface | IPv4Network) -> str:
    """``255.255.255.254`` for a /31."""
    return str(value.netmask)


def wildcard(value: IPv4Interface | IPv4Network) -> str:
    """``0.0.0.1`` for a /31 (OSPF network statements, ACLs)."""
    return str(value.hostmask)


def network(value: IPv4Interface) -> IPv4Network:
    return value.network


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
        autoescape=False,  # device configuration, not HTML
    )
    env.filters.update(netmask=netmask, wildcard=wildcard, network=network)
    return env


def render(intent: DeviceIntent, name: str = "config", platform: Platform | None = None) -> str:
    """The configuration text of ``intent`` from ``<platform>/<name>.j2``."""
    chosen = platform or intent.platform
    path = (
        f"{chosen.value}/{'frr.conf' if chosen is Platform.FRR and name == 'config' else name}.j2"
    )
    try:
        template = _environment().get_template(path)
        text = template.render(d=intent)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"{intent.name}: no template {path} for platform {chosen.value}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"{intent.name}: template {path}: {exc}") from exc
    return text.rstrip("\n") + "\n"


def render_ipsec(intent: DeviceIntent) -> str:
    """The device's strongSwan ``swanctl.conf`` (its mission tunnels; no secrets)."""
    path = "strongswan/swanctl.conf.j2"
    try:
        text = _environment().get_template(path).render(d=intent)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{intent.name}: template {path}: {exc}") from exc
    return text.rstrip("\n") + "\n"
