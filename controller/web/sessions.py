"""Server-side sessions behind a signed cookie.

The cookie holds a random session id and its HMAC-SHA256 signature (key: a 32-byte
secret in the state directory, mode 0600). The session itself — user, CSRF token,
timestamps — stays in this process: it expires after ``idle`` seconds without a request
and ``absolute`` seconds after sign-in, whatever the browser keeps. The store is bounded
(anonymous sessions, then the least recently used, are evicted first), so a flood of
anonymous visits can neither grow memory nor sign people out.
A sign-in replaces the session id (no fixation); a sign-out deletes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from controller.io import atomic_write_text

COOKIE = "govnet_session"


@dataclass(frozen=True)
class Session:
    sid: str
    username: str | None  # None: anonymous (the sign-in form's CSRF token lives here)
    csrf: str
    created: float
    last_seen: float
    stamp: str = ""  # the user record's change stamp at sign-in


def load_secret(path: Path) -> bytes:
    """The signing key; made on first use (32 random bytes, hex, mode 0600)."""
    try:
        text = path.read_text(encoding="ascii").strip()
        if len(text) >= 64:
            return bytes.fromhex(text)
    except (OSError, ValueError):
        pass
    atomic_write_text(path, secrets.token_hex(32) + "\n")
    os.chmod(path, 0o600)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


class SessionStore:
    def __init__(
        self,
        secret: bytes,
        idle: float = 1800,
        absolute: float = 12 * 3600,
        limit: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret = secret
        self.idle = idle
        self.absolute = absolute
        self.limit = limit
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    # -------------------------------------------------------------- cookie value

    def _sign(self, sid: str) -> str:
        mac = hmac.new(self._secret, sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def cookie_value(self, session: Session) -> str:
        return f"{session.sid}.{self._sign(session.sid)}"

    def _sid_of(self, cookie: str) -> str | None:
        sid, sep, signature = cookie.partition(".")
        if not sep or len(cookie) > 200:
            return None
        return sid if hmac.compare_digest(signature, self._sign(sid)) else None

    # -------------------------------------------------------------- store

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.last_seen > self.idle or now - session.created > self.absolute

    def get(self, cookie: str | None) -> Session | None:
        """The live session of a cookie (touched), or None (bad signature, expired, gone)."""
        sid = self._sid_of(cookie) if cookie else None
        if sid is None:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[sid]
                return None
            session = replace(session, last_seen=now)
            self._sessions[sid] = session
            self._sessions.move_to_end(sid)
            return session

    def create(self, username: str | None = None, stamp: str = "") -> Session:
        now = self._clock()
        session = Session(
            secrets.token_urlsafe(32), username, secrets.token_urlsafe(32), now, now, stamp
        )
        with self._lock:
            if len(self._sessions) >= self.limit:
                self._evict(now)
            self._sessions[session.sid] = session
        return session

    def _evict(self, now: float) -> None:
        for sid in [s for s, v in self._sessions.items() if self._expired(v, now)]:
            del self._sessions[sid]
        # anonymous ones first (a flood of sign-in page visits must not sign people out)
        for sid in [s for s, v in self._sessions.items() if v.username is None]:
            if len(self._sessions) < self.limit:
                return
            del self._sessions[sid]
        while len(self._sessions) >= self.limit:
            self._sessions.popitem(last=False)  # least recently used

    def rotate(self, old: Session | None, username: str, stamp: str = "") -> Session:
        """A new session for a signed-in user; the old id stops working."""
        if old is not None:
            self.delete(old)
        return self.create(username, stamp)

    def delete(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.sid, None)

    def __len__(self) -> int:
        return len(self._sessions)
