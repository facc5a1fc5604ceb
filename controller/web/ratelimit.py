"""Sign-in rate limiting by progressive delay, counted before the password is checked.

Every sign-in attempt is counted *before* its scrypt hash is computed, atomically for all
its keys (one lock): of 30 parallel guesses only the allowed number reach the hash. A key
has ``free`` attempts; each further one must wait 1, 2, 4, … seconds (at most
``max_delay``) after the previous, otherwise it is refused with the time to wait. A key is
forgotten ``window`` seconds after its last attempt, once its wait is over; a successful
sign-in forgets its user or device key and gives back its attempt on the others.

Keys (the login route picks them): ``user:NAME`` and ``client:ADDR`` (``free`` × 4, as
several people may share an address) for an unknown browser, ``device:ID`` for a browser
with the user's device cookie — so nobody can lock a user out of their own browser.
Memory is bounded: at most ``max_keys`` keys (least recently used dropped).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class _Key:
    count: int = 0
    last: float = 0.0
    not_before: float = 0.0


@dataclass(frozen=True)
class Attempt:
    allowed: bool
    retry_after: float  # seconds to wait when refused
    keys: tuple[str, ...]


class LoginLimiter:
    def __init__(
        self,
        free: int = 5,
        window: float = 300.0,
        max_delay: float = 300.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.window = window
        self.max_delay = max_delay
        self.max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[str, _Key] = OrderedDict()
        self._lock = threading.Lock()

    def free_attempts(self, key: str) -> int:
        return self.free * (4 if key.startswith("client:") else 1)

    def delay(self, key: str, count: int) -> float:
        """The wait after the ``count``-th attempt counted on ``key``."""
        over = count - self.free_attempts(key)
        return 0.0 if over < 0 else min(self.max_delay, 2.0 ** min(over, 30))

    def _state(self, key: str, now: float) -> _Key | None:
        state = self._keys.get(key)
        if state is not None and now - state.last > self.window and now >= state.not_before:
            del self._keys[key]
            return None
        return state

    def attempt(self, keys: Sequence[str]) -> Attempt:
        """Count one attempt on every key, or refuse it (counting nothing) while one waits."""
        now = self._clock()
        with self._lock:
            states = [self._state(key, now) for key in keys]
            wait = max((s.not_before - now for s in states if s is not None), default=0.0)
            if wait > 0:
                return Attempt(False, wait, tuple(keys))
            for key, state in zip(keys, states, strict=True):
                if state is None:
                    state = self._keys[key] = _Key()
                    while len(self._keys) > self.max_keys:
                        self._keys.popitem(last=False)
                self._keys.move_to_end(key)
                state.count += 1
                state.last = now
                state.not_before = now + self.delay(key, state.count)
            return Attempt(True, 0.0, tuple(keys))

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt's password was right: forget its user/device key, refund the rest."""
        with self._lock:
            for key in attempt.keys:
                state = self._keys.get(key)
                if state is None:
                    continue
                if key.startswith(("user:", "device:")):
                    del self._keys[key]
                    continue
                state.count = max(0, state.count - 1)
                if state.count < self.free_attempts(key):
                    state.not_before = 0.0

    def __len__(self) -> int:
        return len(self._keys)
