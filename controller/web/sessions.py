"""Server-side sessions behind a signed cookie, kept in the state store.

The cookie holds a random session id and its HMAC-SHA256 signature (key: a 32-byte
secret in the state directory, mode 0600). The session itself — user, CSRF token,
client address, timestamps — lives in ``<state-dir>/soc/sessions.db`` (the state store;
only the id's SHA-256 is stored), so a restart of the console keeps people signed in
until their idle (``idle`` seconds without a request) or absolute (``absolute`` seconds
after sign-in) timeout, whatever the browser keeps.

Bounds, so that nobody can sign anybody else out:

- anonymous sessions (the sign-in form's CSRF token) are at most ``anonymous_per_client``
  per client address (that client's oldest go first) and ``anonymous_limit`` in all
  (the oldest anonymous go first) — a flood never evicts a signed-in session;
- a user has at most ``per_user`` sessions: signing in once more signs that user's oldest
  session out, never someone else's.

A sign-in replaces the session id (no fixation); a sign-out deletes it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from controller.io import atomic_write_text
from controller.store import Connection, Database
from controller.web.tokens import TOKEN, sign, signed

COOKIE = "govnet_session"
MAX_COOKIE = 200


@dataclass(frozen=True)
class Session:
    sid: str
    username: str | None  # None: anonymous (the sign-in form's CSRF token lives here)
    csrf: str
    created: float
    last_seen: float
    stamp: str = ""  # the user record's change stamp at sign-in
    client: str = ""


def load_secret(path: Path) -> bytes:
    """The signing key; made on first use (32 random bytes, hex, mode 0600)."""
    try:
        text = path.read_text(encoding="ascii").strip()
        if len(text) >= 64:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return bytes.fromhex(text)
    except (OSError, ValueError):
        pass
    atomic_write_text(path, secrets.token_hex(32) + "\n")  # mkstemp: created 0600
    os.chmod(path, 0o600)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii")).hexdigest()


class SessionStore:
    def __init__(
        self,
        database: Database,
        secret: bytes,
        idle: float = 1800,
        absolute: float = 12 * 3600,
        anonymous_per_client: int = 20,
        anonymous_limit: int = 10_000,
        per_user: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self._secret = secret
        self.idle = idle
        self.absolute = absolute
        self.anonymous_per_client = anonymous_per_client
        self.anonymous_limit = anonymous_limit
        self.per_user = per_user
        self._clock = clock
        # last_seen is written at most this often per session (not on every request)
        self._touch = min(10.0, idle / 10)

    # -------------------------------------------------------------- cookie value

    def cookie_value(self, session: Session) -> str:
        return f"{session.sid}.{sign(self._secret, 'session', session.sid)}"

    def _sid_of(self, cookie: str) -> str | None:
        if len(cookie) > MAX_COOKIE:
            return None
        sid, sep, signature = cookie.partition(".")
        if not sep or not TOKEN.match(sid):
            return None
        return sid if signed(self._secret, "session", sid, signature) else None

    # -------------------------------------------------------------- store

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.last_seen > self.idle or now - session.created > self.absolute

    def get(self, cookie: str | None) -> Session | None:
        """The live session of a cookie (touched), or None (bad signature, expired, gone)."""
        sid = self._sid_of(cookie) if cookie else None
        if sid is None:
            return None
        now = self._clock()
        with self.database.connect() as conn:
            row = conn.execute(
                "SELECT username, csrf, created, last_seen, stamp, client FROM sessions "
                "WHERE id_hash = ?",
                (_key(sid),),
            ).fetchone()
            if row is None:
                return None
            session = Session(
                sid,
                row["username"],
                row["csrf"],
                float(row["created"]),
                float(row["last_seen"]),
                row["stamp"],
                row["client"],
            )
            if self._expired(session, now):
                conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_key(sid),))
                return None
            if now - session.last_seen >= self._touch:
                conn.execute(
                    "UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, _key(sid))
                )
            return replace(session, last_seen=now)

    def create(self, username: str | None = None, stamp: str = "", client: str = "") -> Session:
        now = self._clock()
        session = Session(
            secrets.token_urlsafe(32), username, secrets.token_urlsafe(32), now, now, stamp, client
        )
        with self.database.transaction() as tx:
            tx.execute(
                "DELETE FROM sessions WHERE last_seen < ? OR created < ?",
                (now - self.idle, now - self.absolute),
            )
            if username is None:
                self._bound(
                    tx, "client = ? AND username IS NULL", (client,), self.anonymous_per_client
                )
                self._bound(tx, "username IS NULL", (), self.anonymous_limit)
            else:
                self._bound(tx, "username = ?", (username,), self.per_user)
            tx.execute(
                "INSERT INTO sessions (id_hash, username, client, csrf, stamp, created, "
                "last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_key(session.sid), username, client, session.csrf, stamp, now, now),
            )
        return session

    @staticmethod
    def _bound(tx: Connection, where: str, args: tuple[str, ...], keep: int) -> None:
        """Delete the oldest sessions matching ``where`` so that one more fits in ``keep``."""
        row = tx.execute(f"SELECT COUNT(*) AS n FROM sessions WHERE {where}", args).fetchone()
        excess = (int(row["n"]) if row else 0) - keep + 1
        if excess > 0:
            tx.execute(
                f"DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions "
                f"WHERE {where} ORDER BY created, last_seen LIMIT ?)",
                (*args, excess),
            )

    def rotate(
        self, old: Session | None, username: str, stamp: str = "", client: str = ""
    ) -> Session:
        """A new session for a signed-in user; the old id stops working."""
        if old is not None:
            self.delete(old)
        return self.create(username, stamp, client)

    def delete(self, session: Session) -> None:
        with self.database.connect() as conn:
            conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_key(session.sid),))

    def count(self, username: str | None = None) -> int:
        """Live sessions stored (of ``username``; all when None)."""
        if not self.database.exists():
            return 0
        where, args = ("username = ?", (username,)) if username else ("1 = 1", ())
        with self.database.connect() as conn:
            row = conn.execute(f"SELECT COUNT(*) AS n FROM sessions WHERE {where}", args).fetchone()
            return int(row["n"]) if row else 0

    def __len__(self) -> int:
        return self.count()
