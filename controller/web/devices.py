"""Device cookies: a browser where a user has signed in before is known to be theirs.

After a successful sign-in the browser gets ``govnet_device`` (HttpOnly, SameSite=Strict,
90 days): a random device id, the user name, the issue time and an HMAC-SHA256 with the
console's key. A sign-in from a browser with a valid device cookie for that user is
limited per device only, so somebody guessing a user's password elsewhere slows down
sign-ins from unknown browsers but cannot lock the user out of their own
(OWASP: "Slow down online guessing attacks with device cookies").
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from controller.web.tokens import TOKEN, sign, signed

COOKIE = "govnet_device"
LIFETIME = 90 * 86400
MAX_COOKIE = 300


class DeviceCookies:
    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def issue(self, username: str) -> str:
        device = secrets.token_urlsafe(16)
        body = f"{device}.{int(self._clock())}.{username}"
        return f"{body}.{sign(self._secret, 'device', body)}"

    def device_of(self, cookie: str | None, username: str) -> str | None:
        """The device id when ``cookie`` is a valid, unexpired one for ``username``."""
        if not cookie or len(cookie) > MAX_COOKIE:
            return None
        body, sep, signature = cookie.rpartition(".")
        device, _, rest = body.partition(".")
        issued, _, name = rest.partition(".")
        if not sep or not TOKEN.match(device) or not issued.isdigit() or name != username:
            return None
        if not signed(self._secret, "device", body, signature):
            return None
        if not 0 <= self._clock() - int(issued) <= LIFETIME:
            return None
        return device
