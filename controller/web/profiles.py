"""Console users' profiles: today the language each user reads the console in.

A table of the state store (schema ``profiles``, ``<state-dir>/soc/profiles.db``,
migrations in ``controller/store/migrations/profiles/``), keyed by user name. Set by
``govnet soc user language`` and by the language switch on every page; read on every
signed-in request (the user's ``language``)."""

from __future__ import annotations

import time
from pathlib import Path

from controller.store import Database, open_database
from controller.web.users import UserError

LANGUAGES = ("en", "km")


def validate_language(language: str) -> str:
    if language not in LANGUAGES:
        raise UserError(f"language {language[:20]!r}: choose {' or '.join(LANGUAGES)}")
    return language


class ProfileStore:
    def __init__(self, path: Path) -> None:
        self.db: Database = open_database(path, "profiles")

    def language(self, username: str) -> str | None:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT language FROM profiles WHERE username = ?", (username,)
            ).fetchone()
        return None if row is None else str(row["language"])

    def set_language(self, username: str, language: str) -> None:
        validate_language(language)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO profiles (username, language, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (username) DO UPDATE SET language = excluded.language, "
                "updated = excluded.updated",
                (username, language, stamp),
            )

    def forget(self, username: str) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM profiles WHERE username = ?", (username,))
