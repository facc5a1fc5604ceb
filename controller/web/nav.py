"""The navigation bar: route modules declare their pages, the base template lists the
ones the signed-in user's role may open."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from controller.web.users import User

ALL_ROLES = frozenset({"soc", "engineer", "focal"})
STAFF = frozenset({"soc", "engineer"})


@dataclass(frozen=True)
class NavItem:
    title: str
    path: str
    roles: frozenset[str] = ALL_ROLES
    order: int = 100


def nav_for(items: Iterable[NavItem], user: User | None) -> list[NavItem]:
    if user is None:
        return []
    return sorted((i for i in items if user.role in i.roles), key=lambda i: (i.order, i.title))
