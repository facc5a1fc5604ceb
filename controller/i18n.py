"""govnet's two languages, Khmer (km) and English (en): catalogs and formats.

Below the console and the reports, so both — and the CLI — say things the same way (the
console picks the reader's language in ``controller/web/i18n.py``).

- **Catalogs**: ``controller/web/locale/<lang>/LC_MESSAGES/messages.po`` (committed;
  ``scripts/i18n.py`` extracts the messages of the console's and the report's templates
  and of ``N_()``/``_()``/``ngettext()`` calls and updates them). The ``.po`` is compiled
  to gettext's binary form in memory the first time a language is needed (Babel's
  ``write_mo``), so neither a build step nor a compiled ``.mo`` in the wheel can be
  forgotten or be stale.
- **Formats**: dates, numbers and durations through Babel with the language's CLDR
  locale (``km``: Khmer month and day names). **Digits are Latin in both languages**
  (CLDR's default numbering system for ``km``; the reasons are in
  ``controller/web/locale/GLOSSARY.md``, "Digits").
- :class:`Say` bundles one language's gettext and formats for Python code that writes
  text eagerly (the map, the charts, the SLA report).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from babel.core import Locale
from babel.dates import format_datetime as babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from controller.text import N_, Text

LOCALE_DIR = Path(__file__).parent / "web" / "locale"
LANGUAGES = ("en", "km")
DEFAULT = "en"


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


# Device roles as people read them (the codes stay in the inventory, the CLI, the API and
# the CSV/JSON). The English is the code itself, as engineers write it in the inventory.
ROLE_NAMES = {
    "core": N_("core"),
    "province-router": N_("province-router"),
    "ministry-router": N_("ministry-router"),
    "dc-gateway": N_("dc-gateway"),
    "dc-switch": N_("dc-switch"),
    "tor": N_("tor"),
    "firewall": N_("firewall"),
    "cpe": N_("cpe"),
    "nms": N_("nms"),
    "mission-router": N_("mission-router"),
}


def role_name(code: object, language: str) -> str:
    """A device role (its code or :class:`~controller.inventory.model.Role`) in
    ``language``; a code govnet does not know is shown as it is."""
    text = ROLE_NAMES.get(str(code))
    return str(code) if text is None else text.translated(translations(language).gettext)


def translate(value: object, language: str) -> object:
    """A :class:`Text` in ``language``; anything else unchanged."""
    if isinstance(value, Text):
        return value.translated(translations(language).gettext)
    return value


# --- formats -------------------------------------------------------------------


def number(value: float, language: str, digits: int = 2) -> str:
    """1,234.5 — Babel's CLDR pattern of ``language`` (Latin digits in both)."""
    pattern = "#,##0." + "#" * digits if digits else "#,##0"
    return format_decimal(value, format=pattern, locale=language)


def fixed(value: float, language: str, digits: int) -> str:
    """``value`` with exactly ``digits`` decimals (99.950), grouped per locale."""
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(value, format=pattern, locale=language)


def percent(value: float | None, language: str, digits: int = 1) -> str:
    if value is None or value != value:
        return "–"
    return fixed(value * 100, language, digits) + "%"


def milliseconds(value: float | None, language: str, digits: int = 2) -> str:
    if value is None or value != value:
        return "–"
    gettext = translations(language).gettext
    return gettext("%(value)s ms") % {"value": fixed(value * 1000, language, digits)}


def age(seconds: float, language: str) -> str:
    """A short duration: 42s, 3m 05s, 5h 07m, 3d 4h (in Khmer with Khmer units)."""
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
    return local(value, language, UTC, seconds) + " UTC"


def local(value: datetime, language: str, zone: tzinfo, seconds: bool = False) -> str:
    """A moment in ``zone``, without the zone's name: 2026-12-03 14:05 in English,
    "3 ធ្នូ 2026, 14:05" in Khmer (CLDR month names)."""
    value = value.astimezone(zone)
    if language == "en":
        return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    pattern = "d MMMM y, HH:mm:ss" if seconds else "d MMMM y, HH:mm"
    return babel_datetime(value, pattern, tzinfo=zone, locale=Locale.parse(language))


def day_month(value: datetime, language: str, zone: tzinfo) -> str:
    """A short day for an axis: "3 Dec" in English, "3 ធ្នូ" in Khmer."""
    return babel_datetime(value.astimezone(zone), "d MMM", tzinfo=zone, locale=language)


def clock(value: datetime, language: str, zone: tzinfo) -> str:
    """The time of day in ``zone``: 14:05 (CLDR ``HH:mm`` in both languages)."""
    return babel_datetime(value.astimezone(zone), "HH:mm", tzinfo=zone, locale=language)


def duration(delta: timedelta, language: str) -> str:
    return age(delta.total_seconds(), language)


class Say:
    """One language's voice for Python code that writes text eagerly.

    ``say._("Text with %(n)s", n=1)`` and ``say.ngettext(singular, plural, n)`` are
    gettext calls the catalog extraction finds (``%(num)d`` is ``n`` in a plural, as in
    the templates); ``say(text)`` shows an ``N_()`` :class:`Text`. As in the templates, a
    message is always %-formatted (a literal ``%`` is ``%%``)."""

    def __init__(self, language: str = DEFAULT) -> None:
        self.language = language
        self._translations = translations(language)

    def __call__(self, value: object) -> str:
        if isinstance(value, Text):
            return value.translated(self._translations.gettext)
        return str(value)

    def _(self, message: str, **params: Any) -> str:
        return self._translations.gettext(message) % params

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        return self._translations.ngettext(singular, plural, n) % {"num": n, **params}

    @property
    def gettext(self) -> Callable[[str], str]:
        return self._translations.gettext

    @property
    def translations(self) -> NullTranslations:
        return self._translations

    def number(self, value: float, digits: int = 0) -> str:
        return number(value, self.language, digits)

    def fixed(self, value: float, digits: int) -> str:
        return fixed(value, self.language, digits)

    def percent(self, value: float | None, digits: int = 1) -> str:
        return percent(value, self.language, digits)

    def ms(self, value: float | None, digits: int = 2) -> str:
        return milliseconds(value, self.language, digits)

    def local(self, value: datetime, zone: tzinfo, seconds: bool = False) -> str:
        return local(value, self.language, zone, seconds)

    def day_month(self, value: datetime, zone: tzinfo) -> str:
        return day_month(value, self.language, zone)

    def clock(self, value: datetime, zone: tzinfo) -> str:
        return clock(value, self.language, zone)


@functools.cache
def say(language: str) -> Say:
    """The :class:`Say` of ``language`` (one per process)."""
    return Say(language)
