"""The console's pages and API: one module per area, each exposing

    router: fastapi.APIRouter        # its routes (required)
    NAV: list[NavItem]               # its entries in the navigation bar (optional)

``create_app`` discovers every module of this package (``discover()``, in name order)
and includes its router — behind the CSRF guard — and its NAV items. To add pages, drop a
module here (e.g. ``hosting.py`` for ministry hosting requests); nothing else changes.
See controller/web/README.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from fastapi import APIRouter


def discover() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not isinstance(getattr(module, "router", None), APIRouter):
            raise TypeError(f"{module.__name__} has no `router: APIRouter`")
        modules.append(module)
    return modules
