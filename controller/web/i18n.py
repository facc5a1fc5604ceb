"""The console's choice of language: Khmer (km) or English (en).

- **Which language**: the signed-in user's profile (``govnet soc user language``, or the
  switch on every page), else the ``govnet_lang`` cookie the switch sets, else the
  browser's ``Accept-Language``, else English.
- Catalogs, ``translations()`` and the formats are :mod:`controller.i18n` (below the
  console, so the SLA report and the CLI use the same ones); re-exported here.
"""

from __future__ import annotations

import re

from controller.i18n import (
    DEFAULT,
    LANGUAGES,
    LOCALE_DIR,
    NullTranslations,
    Say,
    age,
    catalog_path,
    duration,
    milliseconds,
    number,
    percent,
    say,
    translate,
    translations,
    when,
)

__all__ = [
    "COOKIE",
    "DEFAULT",
    "LANGUAGES",
    "LOCALE_DIR",
    "NAMES",
    "NullTranslations",
    "Say",
    "age",
    "catalog_path",
    "choose",
    "duration",
    "milliseconds",
    "negotiate",
    "number",
    "percent",
    "say",
    "translate",
    "translations",
    "when",
]

COOKIE = "govnet_lang"
# The switch shows each language under its own name.
NAMES = {"en": "English", "km": "ខ្មែរ"}
_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def negotiate(accept_language: str | None) -> str | None:
    """The first of our languages the browser asks for (RFC 9110 §12.5.4 weights)."""
    if not accept_language:
        return None
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language[:500].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not _TAG.match(tag):
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            wanted.append((-weight, index, tag.split("-")[0].lower()))
    for _, _, primary in sorted(wanted):
        if primary in LANGUAGES:
            return primary
    return None


def choose(profile: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language of a page: the profile's, else the switch's cookie, else the browser's."""
    for candidate in (profile, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    return negotiate(accept_language) or DEFAULT
