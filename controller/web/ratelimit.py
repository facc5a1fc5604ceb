"""Sign-in rate limiting: at most N failures per window, per user name and per client
address (4 N, since several people may share an address). Memory is bounded: at most
``max_keys`` keys (least recently used dropped) of at most N timestamps each."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable


class LoginLimiter:
    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _limit(self, key: str) -> int:
        return self.max_failures * (4 if key.startswith("ip:") else 1)

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until a sign-in may be tried again for these keys (0: now)."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                stamps = self._failures.get(key)
                if not stamps:
                    continue
                while stamps and now - stamps[0] > self.window:
                    stamps.popleft()
                if len(stamps) >= self._limit(key):
                    wait = max(wait, self.window - (now - stamps[0]))
        return wait

    def failure(self, keys: Iterable[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                stamps = self._failures.get(key)
                if stamps is None:
                    stamps = deque(maxlen=self._limit(key))
                    self._failures[key] = stamps
                    while len(self._failures) > self.max_keys:
                        self._failures.popitem(last=False)
                self._failures.move_to_end(key)
                stamps.append(now)

    def success(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)
