"""The console's languages: Khmer (km) and English (en).

- **Catalogs**: ``controller/web/locale/<lang>/LC_MESSAGES/messages.po`` (committed;
  ``scripts/i18n.py`` extracts the messages of the templates and of ``N_()`` calls and
  updates them). The ``.po`` is compiled to gettext's binary form in memory the first
  time a language is needed (Babel's ``write_mo``), so neither a build step nor a
  compiled ``.mo`` in the wheel can be forgotten or be stale.
- **Which language**: the signed-in user's profile (``govnet soc user language``, or the
  switch on every page), else the ``govnet_lang`` cookie the switch sets, else the
  browser's ``Accept-Language``, else English.
- **Formats**: dates, numbers and durations through Babel with the page's locale (CLDR
  ``km``: Khmer month and day names; digits stay Latin, as CLDR's ``km`` has them).
"""

from __future__ import annotations

import functools
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from babel.core import Locale
from babel.dates import format_datetime as babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from controller.text import Text

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "km")
DEFAULT = "en"
COOKIE = "govnet_lang"
# The switch shows each language under its own name.
NAMES = {"en": "English", "km": "ខ្មែរ"}
_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@functools.cache
def translations(language: str) -> NullTranslations:
    """gettext for ``language``, compiled from its ``.po`` once per process."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    binary = io.BytesIO()
    write_mo(binary, catalog)  # fuzzy entries left out, as msgfmt does
    binary.seek(0)
    return Translations(binary)


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


def translate(value: object, language: str) -> object:
    """A :class:`Text` in ``language``; anything else unchanged."""
    if isinstance(value, Text):
        return value.translated(translations(language).gettext)
    return value


# --- formats -------------------------------------------------------------------


def number(value: float, language: str, digits: int = 2) -> str:
    """1,234.5 in English; Babel's CLDR data for other locales."""
    pattern = "#,##0." + "#" * digits if digits else "#,##0"
    return format_decimal(value, format=pattern, locale=language)


def percent(value: float | None, language: str) -> str:
    if value is None or value != value:
        return "–"
    return format_decimal(value * 100, format="#,##0.0", locale=language) + "%"


def milliseconds(value: float | None, language: str) -> str:
    if value is None or value != value:
        return "–"
    gettext = translations(language).gettext
    shown = format_decimal(value * 1000, format="#,##0.00", locale=language)
    return gettext("%(value)s ms") % {"value": shown}


def age(seconds: float, language: str) -> str:
    """A short duration: 42s, 3m 05s, 5h 07m, 3d 4h (in Khmer: ៤២ វិ … with Khmer units)."""
    gettext = translations(language).gettext
    seconds = max(0, int(seconds))
    if seconds < 60:
        return gettext("%(s)ds") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return gettext("%(m)dm %(s)02ds") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return gettext("%(h)dh %(m)02dm") % {"h": hours, "m": minutes}
    return gettext("%(d)dd %(h)dh") % {"d": hours // 24, "h": hours % 24}


def when(value: datetime | str | None, language: str, seconds: bool = True) -> str:
    """A moment in UTC: 2026-12-01 13:05:09 UTC in English, CLDR's date in Khmer."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        value = moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if language == "en":
        return value.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")
    pattern = "d MMMM y, HH:mm:ss" if seconds else "d MMMM y, HH:mm"
    return babel_datetime(value, pattern, tzinfo=UTC, locale=Locale.parse(language)) + " UTC"


def duration(delta: timedelta, language: str) -> str:
    return age(delta.total_seconds(), language)
