"""Cross-origin request refusal (CSRF) and security headers on every response.

CSRF: the API authenticates with bearer tokens that scripts put in a header, never with cookies, so
a foreign page cannot make a browser send them. The form posts that exist (sign-in, a family's
watch-over acknowledgement) are still refused when a browser says the request comes from another
origin: `Sec-Fetch-Site` other than same-origin/none, or else an `Origin` that is not this host.
Requests that carry a bearer token (every API call of the pages, the TV page, scripts) cannot be
forged by another site and are not checked; clients that send no such headers are not browsers.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM, problem_body
from dispatcher.errors import Code

UNSAFE = {b"POST", b"PUT", b"PATCH", b"DELETE"}
COMMON = {
    "x-content-type-options": "nosniff",
    # same-origin, not no-referrer: a form posted from our own page must carry its real Origin
    # (under no-referrer browsers send "Origin: null", which the check above must refuse)
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), payment=(), geolocation=(self)",
}
# JSON and files of the API: nothing in them runs, nothing may frame them, nobody keeps a copy.
API = {"content-security-policy": "default-src 'none'; frame-ancestors 'none'", "cache-control": "no-store"}


def cross_origin(scope: Scope) -> bool:
    """True when a browser tells us an unsafe request comes from another origin.

    A request with an `Authorization` header is never a forgery: another site's page cannot add one
    without a CORS preflight, which this app never grants.
    """
    headers = dict(scope["headers"])
    if b"authorization" in headers:
        return False
    site = headers.get(b"sec-fetch-site")
    if site is not None:
        return site not in (b"same-origin", b"none")
    origin = headers.get(b"origin")
    if origin is None:
        return False
    host = headers.get(b"host", b"").decode("latin-1")
    try:
        netloc = urlsplit(origin.decode("latin-1")).netloc
    except ValueError:  # not a URL at all
        return True
    return bool(origin == b"null" or netloc != host)


class SecurityMiddleware:
    """Refuse cross-origin unsafe requests with 403 problem details; add security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"].encode() in UNSAFE and cross_origin(scope):
            await _refuse(path, send)
            return
        extra = COMMON | API if path.startswith(("/api/", "/opendata/")) else COMMON

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(path: str, send: Send) -> None:
    body = json.dumps(
        problem_body(
            403,
            "Cross-origin request refused",
            "This request came from a page of another site. Use Noriai's own pages.",
            path,
            Code.cross_origin,
        )
    ).encode()
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in COMMON.items()]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})
