"""A hosting request as a focal officer fills it in: validated, bounded, cleaned.

:func:`parse_request` turns raw values (CLI options, form fields, JSON) into a
:class:`HostingRequest` or raises :class:`RequestInvalid` with one plain message per
bad field. :func:`check_against_inventory` adds what only the inventory knows (the
tenant exists, the service is one of its services, the site's data centre exists).
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from controller.hosting.errors import RequestInvalid
from controller.inventory.model import Datacentre, Inventory
from controller.text import N_

MAX_UNITS = 60  # the tallest rack the inventory allows
MAX_SERVERS = 60
MAX_POWER_KW = 100.0  # the largest rack budget the inventory allows
MAX_VLANS = 8
PREFIX_LENGTHS = (22, 29)
MAX_BANDWIDTH_MBPS = 100_000.0
MAX_REQUEST_ID = 2**63 - 1
"""Request numbers are SQLite INTEGER keys: 1 … 2**63-1 (a larger one cannot even be asked)."""

FIELDS: dict[str, str] = {
    "tenant": N_("Ministry or institution"),
    "service": N_("Service"),
    "site": N_("Site"),
    "units": N_("Rack units"),
    "servers": N_("Servers"),
    "power_kw": N_("Power (kW)"),
    "vlans": N_("VLANs"),
    "prefix_len": N_("Subnet size"),
    "bandwidth_mbps": N_("Bandwidth"),
    "contact": N_("Contact"),
    "justification": N_("Justification"),
}
"""Field → label, in form order."""


class Site(StrEnum):
    """Where the capacity goes: the primary data centre, the DR site, or both (replicated)."""

    NDC = "ndc"
    DR = "dr"
    BOTH = "both"


# --- request numbers ------------------------------------------------------------------

_REQUEST_ID = re.compile(r"[1-9][0-9]{0,18}")


def parse_request_id(text: str) -> int | None:
    """The request number ``text`` spells — ASCII decimal digits, no sign, no leading zero,
    1 … :data:`MAX_REQUEST_ID` — or None (``int()`` would also take ``+1``, ``1_0``, other
    scripts' digits and numbers SQLite cannot hold)."""
    if not _REQUEST_ID.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_REQUEST_ID else None


def is_request_id(number: int) -> bool:
    """Whether ``number`` can be a request number (in SQLite's INTEGER range, positive)."""
    return 1 <= number <= MAX_REQUEST_ID


# --- cleaning -------------------------------------------------------------------------

_MARKUP = re.compile(r"<\s*[A-Za-z/!?]")
_SPACES = re.compile(r" {2,}")
_MARKUP_MESSAGE = "looks like HTML markup (<…>); write plain text"

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidi embeddings, overrides and isolates (LRE … RLO, LRI … PDI): they reorder what is
shown ("Trojan Source"). Removed. The marks LRM/RLM/ALM only nudge neutrals: kept."""
LINE_BREAKS = frozenset("\n\x0b\x0c\r\x85\u2028\u2029")
"""Characters that end a line: a newline in multi-line text, a space in one-line text."""


def _dropped(ch: str) -> bool:
    """A control character (C0, DEL, C1), a bidi control, or a lone surrogate (bytes that
    were not UTF-8, e.g. in a CLI argument): never part of the text as written."""
    return ch in BIDI_CONTROLS or unicodedata.category(ch) in {"Cc", "Cs"}


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` as written, minus what can hide or reorder it.

    Removed: bidi embeddings/overrides/isolates (U+202A–U+202E, U+2066–U+2069) and control
    characters (C0, DEL, C1). Line breaks become a newline in multi-line text (where tabs
    also stay) and a space elsewhere (as does a tab). Runs of spaces become one, lines and
    the text are trimmed, at most one empty line in a row.

    Everything else is kept exactly, code point for code point (no normalisation): every
    Khmer letter, vowel sign, coeng and digit, ZERO WIDTH SPACE (U+200B, the Khmer word
    separator), ZWNJ (U+200C) and ZWJ (U+200D) — they are part of the words.
    """
    chars = []
    for ch in value.replace("\r\n", "\n"):
        if ch in LINE_BREAKS:
            chars.append("\n" if multiline else " ")
        elif ch == "\t":
            chars.append("\t" if multiline else " ")
        elif not _dropped(ch):
            chars.append(ch)
    text = "".join(chars)
    if multiline:
        lines = [_SPACES.sub(" ", line).strip(" ") for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    else:
        text = _SPACES.sub(" ", text)
    return text.strip()


def _plain(value: object, *, multiline: bool = False) -> object:
    if not isinstance(value, str):
        return value
    text = clean_text(value, multiline=multiline)
    if _MARKUP.search(text):
        raise ValueError(_MARKUP_MESSAGE)
    return text


def _one_line(value: object) -> object:
    return _plain(value)


def _many_lines(value: object) -> object:
    return _plain(value, multiline=True)


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, str):
        return value.strip()
    return value


def _prefix_len(value: object) -> object:
    value = _no_bool(value)
    if isinstance(value, str):
        return value.removeprefix("/")
    return value


_RATE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:bps|bit/s|b)?$", re.IGNORECASE)
_MBPS = {"": 1.0, "K": 0.001, "M": 1.0, "G": 1000.0, "T": 1_000_000.0}


def _bandwidth(value: object) -> object:
    value = _no_bool(value)
    if isinstance(value, str):
        match = _RATE.match(value)
        if not match:
            raise ValueError("must be a rate such as 100M or 1G (a plain number is Mbit/s)")
        return float(match.group(1)) * _MBPS[match.group(2).upper()]
    return value


OneLine = Annotated[str, BeforeValidator(_one_line)]
ManyLines = Annotated[str, BeforeValidator(_many_lines)]


class HostingRequest(BaseModel):
    """What a focal officer asks for (validated; text cleaned)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    tenant: Annotated[
        str,
        BeforeValidator(_one_line),
        Field(pattern=r"^[A-Za-z][A-Za-z0-9]{1,15}$", max_length=16),
    ]
    service: Annotated[OneLine, Field(min_length=1, max_length=200)]
    site: Site
    units: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=MAX_UNITS)]
    servers: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=MAX_SERVERS)]
    power_kw: Annotated[
        float,
        BeforeValidator(_no_bool),
        Field(ge=0.01, le=MAX_POWER_KW),
        AfterValidator(lambda kw: round(kw, 2)),
    ]
    vlans: Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=MAX_VLANS)] = 1
    prefix_len: Annotated[
        int, BeforeValidator(_prefix_len), Field(ge=PREFIX_LENGTHS[0], le=PREFIX_LENGTHS[1])
    ] = 26
    bandwidth_mbps: Annotated[
        float, BeforeValidator(_bandwidth), Field(gt=0, le=MAX_BANDWIDTH_MBPS)
    ] = 1000.0
    contact: Annotated[OneLine, Field(min_length=3, max_length=200)]
    justification: Annotated[ManyLines, Field(min_length=10, max_length=2000)]

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    loc = error.get("loc") or ("",)
    if loc[0] == "prefix_len" and kind not in {"missing"}:
        first, last = PREFIX_LENGTHS
        return N_(
            "must be a prefix length from /%(first)d (1,022 hosts) to /%(last)d (6 hosts)",
            first=first,
            last=last,
        )
    if kind == "missing":
        return N_("is required")
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return N_("must be a whole number")
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return N_("must be a number")
    if kind == "greater_than_equal":
        return N_("must be at least %(least)s", least=ctx.get("ge"))
    if kind == "greater_than":
        return N_("must be more than %(least)s", least=ctx.get("gt"))
    if kind == "less_than_equal":
        return N_("must be at most %(most)s", most=ctx.get("le"))
    if kind in {"string_too_long", "too_long"}:
        return N_("must be at most %(most)s characters", most=ctx.get("max_length"))
    if kind in {"string_too_short", "too_short"}:
        least = ctx.get("min_length")
        if least == 1 or ctx.get("actual_length") == 0:
            return N_("is required")
        return N_("must be at least %(least)s characters", least=least)
    if kind == "string_type":
        return N_("must be text")
    if kind == "enum":
        return N_("must be one of %(choices)s", choices=", ".join(s.value for s in Site))
    if kind == "string_pattern_mismatch":
        return N_("must be a tenant code: letters and digits, e.g. MPTC")
    if kind == "extra_forbidden":
        return N_("is not a field of a hosting request")
    text = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if text == _MARKUP_MESSAGE:
        return N_("looks like HTML markup (<…>); write plain text")
    return text


def parse_request(values: Mapping[str, object]) -> HostingRequest:
    """A validated request from raw values; :class:`RequestInvalid` lists every bad field."""
    given = {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
    try:
        request = HostingRequest.model_validate(given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error.get("loc") or ("request",)
            problems.append((str(loc[0]), _message(error)))
        order = list(FIELDS)
        problems.sort(key=lambda p: order.index(p[0]) if p[0] in order else len(order))
        raise RequestInvalid(problems) from None
    problems = []
    if request.servers > request.units:
        problems.append(
            (
                "servers",
                N_(
                    "%(servers)d servers do not fit in %(units)d U "
                    "(each server takes at least 1 U)",
                    servers=request.servers,
                    units=request.units,
                ),
            )
        )
    if request.vlans > request.units:
        problems.append(
            (
                "vlans",
                N_(
                    "%(vlans)d VLANs need at least %(vlans)d U "
                    "(one allocation per VLAN), %(units)d U requested",
                    vlans=request.vlans,
                    units=request.units,
                ),
            )
        )
    if problems:
        raise RequestInvalid(problems)
    return request


# --- against the inventory ------------------------------------------------------------


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def site_datacentres(inv: Inventory, site: Site) -> list[Datacentre]:
    """The data centres a site means: the primary (NDC), the DR site, or both in that order."""
    roles = {Site.NDC: ["primary"], Site.DR: ["dr"], Site.BOTH: ["primary", "dr"]}[site]
    found = []
    for role in roles:
        match = next((dc for dc in inv.datacentres if dc.role == role), None)
        if match is not None:
            found.append(match)
    return found


def check_against_inventory(inv: Inventory, request: HostingRequest) -> None:
    """The tenant, its service and the site's data centres exist; else RequestInvalid."""
    problems: list[tuple[str, str]] = []
    tenant = next((t for t in inv.tenants if t.code == request.tenant), None)
    if tenant is None:
        known = sorted(t.code for t in inv.tenants)
        problems.append(
            (
                "tenant",
                N_(
                    "unknown tenant %(tenant)s (known: %(known)s)",
                    tenant=repr(request.tenant),
                    known=_listing(known, 12),
                ),
            )
        )
    else:
        names = [s.name for s in tenant.services]
        if request.service not in names:
            listed = _listing(names) if names else "none yet"
            problems.append(
                (
                    "service",
                    N_(
                        "%(tenant)s has no service %(service)s (its services: %(listed)s; "
                        "a new service is added to the inventory's tenants first)",
                        tenant=tenant.code,
                        service=repr(request.service),
                        listed=listed,
                    ),
                )
            )
    wanted = {Site.NDC: 1, Site.DR: 1, Site.BOTH: 2}[request.site]
    if len(site_datacentres(inv, request.site)) < wanted:
        need = {
            Site.NDC: "a primary data centre",
            Site.DR: "a DR data centre",
            Site.BOTH: "a primary and a DR data centre",
        }[request.site]
        have = ", ".join(f"{dc.code} ({dc.role})" for dc in inv.datacentres) or "none"
        problems.append(("site", f"{request.site.value} needs {need}; the inventory has {have}"))
    if problems:
        raise RequestInvalid(problems)


MAX_REASON = 500


def clean_reason(value: str | None, *, required: bool, what: str = "reason") -> str:
    """A why for the audit trail: cleaned, bounded, plain text; required for rejections."""
    text = clean_text(value or "")
    if required and not text:
        raise RequestInvalid([(what, N_("is required: say why (it is recorded and shown)"))])
    if len(text) > MAX_REASON:
        raise RequestInvalid([(what, N_("must be at most %(most)s characters", most=MAX_REASON))])
    if _MARKUP.search(text):
        raise RequestInvalid([(what, N_("looks like HTML markup (<…>); write plain text"))])
    return text
