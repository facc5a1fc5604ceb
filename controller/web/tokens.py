"""Signing and comparing the console's tokens (session ids, CSRF tokens, device cookies).

Comparisons are constant-time on bytes: :func:`same` accepts any text a client may send
(non-ASCII, lone surrogates, megabytes are cut before by the callers) and answers False
instead of raising, so garbage is refused with a 4xx, never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")  # secrets.token_urlsafe output


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def same(submitted: str, expected: str) -> bool:
    """Constant-time equality of two strings, whatever they contain."""
    return hmac.compare_digest(_bytes(submitted), _bytes(expected))


def sign(secret: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` for ``purpose`` (keys differ by purpose), URL-safe base64."""
    mac = hmac.new(secret, _bytes(purpose) + b"\0" + _bytes(value), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def signed(secret: bytes, purpose: str, value: str, signature: str) -> bool:
    return same(signature, sign(secret, purpose, value))
