"""Rate limits: token buckets in memory, per (limit, key), answered with 429 and Retry-After.

A limit of N per minute lets a burst of N through, then one more every 60/N seconds. Keys are a
client address (sign-in, pairing), a user name or resident number (sign-in guesses spread over
addresses) or a credential (bookings: a hash of the bearer token, so one box or one operator
cannot flood the optimizer). The buckets live in the server process: one `noriai serve` process
is the supported deployment; behind a reverse proxy, start uvicorn with trusted proxy headers so
that the client address is the resident's, not the proxy's.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable

from fastapi import Request

from dispatcher.errors import DomainError

MAX_KEYS = 50_000  # buckets kept before full (idle) ones are dropped


class RateLimited(DomainError):
    """Too many requests: status 429, `retry_after_seconds` in the body and the Retry-After header."""

    status = 429
    title = "Too many requests"


class RateLimiter:
    """Token buckets by (limit name, key). `clock`: seconds, monotonic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (tokens, at)
        self._lock = threading.Lock()

    def take(self, name: str, key: str, per_minute: int) -> float:
        """Take one token; 0.0 if allowed, else the seconds until one is free (nothing taken)."""
        if per_minute <= 0:
            return 0.0
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get((name, key), (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[(name, key)] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[(name, key)] = (tokens - 1.0, now)
            if len(self._buckets) > MAX_KEYS:
                self._prune(now)
            return 0.0

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled since (they would start full anyway)."""
        for k, (_tokens, at) in list(self._buckets.items()):
            if now - at > 60.0:
                del self._buckets[k]


# What a refused caller reads: staff in English (like the rest of the API), residents in Japanese.
MESSAGES = {
    "sign-in": "Too many sign-in attempts. Wait {s} seconds, then try again.",
    "pairing": "Too many pairing requests from this address. Wait {s} seconds, then try again.",
    "booking": "Too many bookings or quotes with this credential. Wait {s} seconds, then try again.",
    "resident": "操作が多すぎます。{s}秒ほど待ってから、もう一度お試しください。",
}


def enforce(request: Request, name: str, key: str, per_minute: int, message: str | None = None) -> None:
    """Count a request against limit `name` for `key`; raise RateLimited when over."""
    wait = request.app.state.limiter.take(name, key, per_minute)
    if wait > 0:
        s = max(1, math.ceil(wait))
        raise RateLimited(
            MESSAGES[message or name].format(s=s), retry_after_seconds=s, limit_per_minute=per_minute
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def credential(request: Request) -> str:
    """A hash of the caller's bearer token (the box, the phone session or the staff token)."""
    auth = request.headers.get("authorization", "")
    return hashlib.sha256(auth.encode()).hexdigest()[:32] if auth else "anonymous:" + client_address(request)


def per_address(name: str, message: str | None = None) -> Callable[[Request], None]:
    """A dependency limiting `name` per client address, at the rate in `app.state.rates[name]`."""

    def dep(request: Request) -> None:
        enforce(request, name, client_address(request), request.app.state.rates[name], message)

    return dep


def per_credential(name: str, message: str | None = None) -> Callable[[Request], None]:
    """A dependency limiting `name` per bearer credential."""

    def dep(request: Request) -> None:
        enforce(request, name, credential(request), request.app.state.rates[name], message)

    return dep
