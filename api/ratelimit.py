"""Rate limits: token buckets in memory, per (limit, key), answered with 429 and Retry-After.

A limit of N per minute lets a burst of N through, then one more every 60/N seconds. Keys are a
client address (sign-in, PIN and family sign-in, pairing), a staff user name or a family login id
(sign-in guesses spread over addresses) or the signed-in caller (bookings: the staff user, the box,
the phone's resident or family member, so signing in again does not buy a fresh allowance). The
buckets live in the server process, the least recently used dropped beyond MAX_KEYS: one `noriai
serve` process is the supported deployment.

The client address is the connection's. X-Forwarded-For is believed only from the reverse proxies
named in NORIAI_TRUSTED_PROXIES (none by default; `proxy_options` is what `noriai serve` gives
uvicorn), so a caller cannot choose the address its requests are counted under.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import get_household, get_principal
from api.problems import PROBLEM, problem_body
from dispatcher.errors import Code, DomainError
from dispatcher.identity import passwords
from dispatcher.identity.auth import HouseholdPrincipal, Principal

MAX_KEYS = 50_000  # buckets kept; beyond them the least recently used go


class RateLimited(DomainError):
    """Too many requests: status 429, `retry_after_seconds` in the body and the Retry-After header."""

    status = 429
    title = "Too many requests"
    code = Code.rate_limited


class RateLimiter:
    """Token buckets by (limit name, key). `clock`: seconds, monotonic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()  # (tokens, at)
        self._lock = threading.Lock()

    def take(self, name: str, key: str, per_minute: int) -> float:
        """Take one token; 0.0 if allowed, else the seconds until one is free (nothing taken)."""
        if per_minute <= 0:
            return 0.0
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop((name, key), (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - at) * rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate
            self._buckets[(name, key)] = (tokens - 1.0 if wait == 0.0 else tokens, now)  # now the newest
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)  # the least recently used: a flood cannot grow memory
            return wait


# What a refused caller reads (residents read the Japanese text of the code instead, api/messages.py).
MESSAGES = {
    "sign-in": "Too many sign-in attempts. Wait {s} seconds, then try again.",
    "pin-sign-in": "Too many PIN sign-in attempts from this address. Wait {s} seconds, then try again.",
    "family-sign-in": "Too many family sign-in attempts. Wait {s} seconds, then try again.",
    "pairing": "Too many pairing requests from this address. Wait {s} seconds, then try again.",
    "tv-poll": "This box asks for its state too often. Wait {s} seconds, then try again.",
    "pairing-user": "Too many pairing requests by this user. Wait {s} seconds, then try again.",
    "booking": "Too many bookings or quotes by this user. Wait {s} seconds, then try again.",
    "resident": "Too many requests by this household. Wait {s} seconds, then try again.",
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
    """The caller's address: the connection's, or X-Forwarded-For's from a trusted proxy."""
    return request.client.host if request.client else "unknown"


def proxy_options(trusted: list[str]) -> dict[str, Any]:
    """uvicorn's options for the client address: X-Forwarded-For and X-Forwarded-Proto are read only
    from the `trusted` proxies (addresses or networks; none: never, whatever uvicorn's default or
    its FORWARDED_ALLOW_IPS say)."""
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted)}


def per_address(name: str, message: str | None = None) -> Callable[[Request], None]:
    """A dependency limiting `name` per client address, at the rate in `app.state.rates[name]`."""

    def dep(request: Request) -> None:
        enforce(request, name, client_address(request), request.app.state.rates[name], message)

    return dep


def per_staff(name: str, message: str | None = None) -> Callable[..., None]:
    """A dependency limiting `name` per signed-in staff user (after authentication)."""

    def dep(request: Request, p: Principal = Depends(get_principal)) -> None:
        enforce(request, name, f"user:{p.user_id}", request.app.state.rates[name], message)

    return dep


def per_household(name: str) -> Callable[..., None]:
    """A dependency limiting `name` per resident channel: a box, or a resident's phone."""

    def dep(request: Request, hp: HouseholdPrincipal = Depends(get_household)) -> None:
        enforce(request, name, hp.actor, request.app.state.rates[name], "resident")

    return dep


# The sign-ins that check a password or a PIN (dispatcher/identity/passwords.py caps them).
SIGN_IN_PATHS = frozenset({"/api/v1/auth/token", "/api/v1/m/session", "/api/v1/m/family/session"})


class SignInShedding:
    """Refuse a sign-in while every verification slot is taken, before the app sees it.

    The cap itself is kept where the password is checked (`passwords.verification_slot`); this is
    its cheap front door. It answers the same 429 `auth.sign_in_busy` in the event loop, without a
    worker thread, a parsed form or a database session, so a flood of sign-ins beyond the cap costs
    a fraction of a millisecond each and leaves the workers to the other requests (the operator's
    board: `noriai bench signin-flood`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in SIGN_IN_PATHS
            and passwords.full()
        ):
            busy = passwords.busy()
            body = problem_body(busy.status, busy.title, busy.detail, scope["path"], busy.code, **busy.extra)
            data = json.dumps(body, ensure_ascii=False).encode()
            headers = [
                (b"content-type", PROBLEM.encode()),
                (b"content-length", str(len(data)).encode()),
                (b"retry-after", str(passwords.RETRY_AFTER_S).encode()),
            ]
            await send({"type": "http.response.start", "status": busy.status, "headers": headers})
            await send({"type": "http.response.body", "body": data})
            return
        await self.app(scope, receive, send)
