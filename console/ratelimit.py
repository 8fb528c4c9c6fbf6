"""Brute-force protection for console sign-in: failed logins counted per e-mail and IP address
(and per IP address across e-mails), in a sliding window, in this process."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

IP_FACTOR = 10  # one address may fail this many times more across all e-mails
MAX_TRACKED = 50_000  # keys kept at most; the oldest are forgotten first


class TooManyAttempts(Exception):
    """Too many failed sign-ins; `retry_after` is in seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many failed sign-in attempts; try again later")
        self.retry_after = max(1, int(retry_after + 0.999))


class LoginLimiter:
    def __init__(self, max_failures: int, window_seconds: float) -> None:
        if max_failures < 1 or window_seconds <= 0:
            raise ValueError("max_failures and window_seconds must be positive")
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def check(self, email: str, ip: str) -> None:
        """Raise TooManyAttempts while the e-mail+IP (or the IP alone) is over its limit."""
        moment = time.monotonic()
        for key, limit in (
            ((email.strip().lower(), ip), self.max_failures),
            (("", ip), self.max_failures * IP_FACTOR),
        ):
            failures = self._recent(key, moment)
            if len(failures) >= limit:
                raise TooManyAttempts(failures[0] + self.window - moment)

    def failed(self, email: str, ip: str) -> None:
        moment = time.monotonic()
        for key in ((email.strip().lower(), ip), ("", ip)):
            failures = self._recent(key, moment)
            failures.append(moment)
            self._failures[key] = failures
            self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)

    def succeeded(self, email: str, ip: str) -> None:
        self._failures.pop((email.strip().lower(), ip), None)

    def _recent(self, key: tuple[str, str], moment: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and moment - failures[0] >= self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures
