"""SOC console users: a JSON file under the state directory, written atomically.

Passwords are hashed with scrypt (``hashlib.scrypt``), a random 16-byte salt per user;
the cost parameters are stored in each hash (``scrypt$N$r$p$salt$hash``), so they can be
raised later without invalidating old hashes. Only the hash is ever stored or logged.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from controller.errors import UsageError
from controller.io import atomic_write_text

SCRYPT_N = 2**17  # OWASP's minimum for scrypt: N=2^17, r=8, p=1 (≈0.4 s, 128 MiB)
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
TENANT = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,15}$")
_HASHING = threading.BoundedSemaphore(2)  # at most 2 × 128 MiB of scrypt at a time


class Role(StrEnum):
    SOC = "soc"  # read everything, acknowledge (silence) alerts
    ENGINEER = "engineer"  # everything
    FOCAL = "focal"  # a ministry's IT focal officer: its own services and alerts only


class UserError(UsageError):
    """A user cannot be added, changed or found."""


@dataclass(frozen=True)
class User:
    """A signed-in person: what routes and templates see."""

    username: str
    role: str
    tenant: str | None = None
    # When the user's record last changed (password, role): sessions opened before end.
    stamp: str = field(default="", compare=False, repr=False)
    # The language the user reads the console in (their profile), None: the browser's.
    language: str | None = field(default=None, compare=False)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


def validate_username(username: str) -> str:
    if not USERNAME.match(username):
        raise UserError(
            f"user name {username[:40]!r}: 2-32 characters, lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter"
        )
    return username


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must have at most {MAX_PASSWORD} characters")
    return password


def validate_role(role: str, tenant: str | None) -> tuple[Role, str | None]:
    try:
        parsed = Role(role)
    except ValueError:
        raise UserError(f"role {role[:20]!r}: choose soc, engineer or focal") from None
    if parsed is Role.FOCAL:
        if not tenant:
            raise UserError("a focal user needs --tenant (the ministry's code, e.g. MEF)")
        if not TENANT.match(tenant):
            raise UserError(f"tenant {tenant[:20]!r}: a code such as MEF or MoH")
        return parsed, tenant
    if tenant:
        raise UserError("--tenant is only for focal users")
    return parsed, None


def _stamp() -> str:
    """A change stamp: UTC time plus a random part (two changes in a second differ)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "/" + secrets.token_hex(4)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    with _HASHING:
        digest = hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=256 * 2**20, dklen=32
        )
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    if len(password) > MAX_PASSWORD:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        with _HASHING:
            computed = hashlib.scrypt(
                password.encode(),
                salt=base64.b64decode(salt),
                n=int(n),
                r=int(r),
                p=int(p),
                maxmem=256 * 2**20,
                dklen=32,
            )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


class UserStore:
    """``users.json``: ``{"version": 1, "users": {name: {role, tenant, password, ...}}}``.

    Read on demand (cached by modification time, so a ``govnet soc user`` change reaches
    a running console at its next request); changed under an exclusive lock, written
    atomically with mode 0600.
    """

    def __init__(self, path: Path, scrypt_n: int = SCRYPT_N) -> None:
        self.path = path
        self.scrypt_n = scrypt_n
        self._cache: tuple[int, dict[str, dict[str, Any]]] | None = None

    @functools.cached_property
    def _dummy(self) -> str:
        """A hash to verify against for unknown users, so they take as long as known ones."""
        return hash_password(secrets.token_hex(8), n=self.scrypt_n)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if self._cache and self._cache[0] == mtime:
            return self._cache[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            users = data["users"]
            if not isinstance(users, dict):
                raise TypeError("users is not a mapping")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{self.path}: unreadable users file ({type(exc).__name__})") from exc
        self._cache = (mtime, users)
        return users

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._cache = None
            users = dict(self._read())
            yield users
            body = json.dumps({"version": 1, "users": users}, indent=2, sort_keys=True) + "\n"
            atomic_write_text(self.path, body)  # mkstemp: mode 0600
        finally:
            os.close(fd)

    @staticmethod
    def _user(name: str, entry: dict[str, Any]) -> User:
        return User(
            name, str(entry.get("role")), entry.get("tenant"), str(entry.get("updated", ""))
        )

    def list(self) -> list[User]:
        return [self._user(name, entry) for name, entry in sorted(self._read().items())]

    def get(self, username: str) -> User | None:
        entry = self._read().get(username)
        return None if entry is None else self._user(username, entry)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches; None otherwise (same work either way)."""
        entry = self._read().get(username) if USERNAME.match(username) else None
        if entry is None:
            verify_password(password, self._dummy)
            return None
        if not verify_password(password, str(entry.get("password", ""))):
            return None
        return self._user(username, entry)

    def add(self, username: str, role: str, tenant: str | None, password: str) -> User:
        validate_username(username)
        parsed, tenant = validate_role(role, tenant)
        validate_password(password)
        hashed = hash_password(password, self.scrypt_n)
        now = _stamp()
        with self._locked() as users:
            if username in users:
                raise UserError(f"user {username!r} exists (use `govnet soc user passwd`)")
            users[username] = {
                "role": parsed.value,
                "tenant": tenant,
                "password": hashed,
                "created": now,
                "updated": now,
            }
        return User(username, parsed.value, tenant, now)

    def set_password(self, username: str, password: str) -> None:
        validate_password(password)
        hashed = hash_password(password, self.scrypt_n)
        with self._locked() as users:
            if username not in users:
                raise UserError(f"no user {username[:40]!r}")
            users[username] = {
                **users[username],
                "password": hashed,
                "updated": _stamp(),
            }

    def remove(self, username: str) -> None:
        with self._locked() as users:
            if users.pop(username, None) is None:
                raise UserError(f"no user {username[:40]!r}")
