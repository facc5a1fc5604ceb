"""The console's message catalogs (controller/web/locale/), through Babel.

    .venv/bin/python scripts/i18n.py update    # extract, then update messages.pot and each .po
    .venv/bin/python scripts/i18n.py check     # what tests/web/test_i18n.py checks, as a report

Messages come from the console's and the SLA report's templates (``_()``, ``ngettext``)
and from ``N_()``, ``gettext``, ``_`` and ``ngettext`` calls in the console's, the
report's, the hosting service's and ``controller/i18n.py``'s Python. New
messages land in every ``.po`` with an empty translation: fill the Khmer (see
controller/web/locale/GLOSSARY.md). The ``.po`` files are committed; the console
compiles them in memory when it starts (controller/web/i18n.py), so no ``.mo`` exists.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "controller" / "web" / "locale"
LANGUAGES = ("en", "km")
# Where messages are extracted from: (directory, Babel method map).
SOURCES: list[tuple[Path, list[tuple[str, str]]]] = [
    (ROOT / "controller" / "web", [("**.py", "python"), ("templates/**.html", "jinja2")]),
    (ROOT / "controller" / "hosting", [("request.py", "python")]),
    (ROOT / "controller", [("i18n.py", "python"), ("charts.py", "python")]),
    (ROOT / "controller" / "report", [("**.py", "python"), ("templates/**.html", "jinja2")]),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract() -> Catalog:
    """Every message of the sources, with where it is used."""
    template = Catalog(project="govnet", msgid_bugs_address="", charset="utf-8")
    for folder, method_map in SOURCES:
        found: Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]]
        found = extract_from_dir(
            str(folder), method_map, OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
        )
        for filename, lineno, message, comments, context in found:
            where = (str((folder / filename).relative_to(ROOT)), lineno)
            template.add(message, None, [where], auto_comments=comments, context=context)
    return template


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def load(language: str) -> Catalog:
    with po_path(language).open("rb") as po:
        return read_po(po, locale=language)


def save(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100, sort_output=True, omit_header=False)


def update() -> None:
    template = extract()
    save(template, LOCALE_DIR / "messages.pot")
    for language in LANGUAGES:
        path = po_path(language)
        if path.exists():
            catalog = load(language)
        else:
            catalog = Catalog(locale=language, project="govnet", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        save(catalog, path)
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


def check() -> int:
    template = extract()
    catalog = load("km")
    missing = [m.id for m in template if m.id and (m.id not in catalog or not catalog[m.id].string)]
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "update":
        update()
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(__doc__)
