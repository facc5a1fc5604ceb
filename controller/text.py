"""Messages that can be said in another language later: ``N_("…")``.

Code below the web console (routes, services) writes a user-facing message once, in
English, with ``%(name)s`` placeholders::

    raise HTTPException(404, N_("no province %(code)s in the inventory", code=repr(code)))

The result *is* the English text (a ``str``: logs, the CLI and tests read it as before)
and also remembers its template and parameters, so the console shows it in the reader's
language (``Text.translated``). As in the console's templates, a literal ``%`` is
written ``%%``. ``N_`` is a gettext keyword: the catalog extraction (``scripts/i18n.py``)
finds these calls. This module imports nothing of govnet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Text(str):
    """An English message that remembers how to be translated."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, params: dict[str, Any]) -> Text:
        self = super().__new__(cls, template % params)
        self.template = template
        self.params = params
        return self

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The message in the language of ``gettext`` (its parameters untranslated,
        unless they are :class:`Text` themselves)."""
        params = {
            k: v.translated(gettext) if isinstance(v, Text) else v for k, v in self.params.items()
        }
        translated = gettext(self.template)
        return translated % params


def N_(template: str, **params: Any) -> Text:
    """Mark ``template`` for translation; ``%(name)s`` placeholders take ``params``."""
    return Text(template, params)
