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
        if _nul(path.encode("utf-8", "surrogateescape") + b"?" + scope.get("query_string", b"")):
            await _refuse_nul(path, send)
            return
        if scope["method"].encode() in UNSAFE:
            body, receive = await _buffered(receive)
            form = dict(scope["headers"]).get(b"content-type", b"").startswith(b"application/x-www-form")
            if _nul(body, url_encoded=form):
                await _refuse_nul(path, send)
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


def _nul(data: bytes, url_encoded: bool = True) -> bool:
    """Whether text holds a NUL character: raw, as a JSON escape (\\u0000), or as a URL escape
    (%00) where the text is URL-encoded (paths, queries, form posts). No field of ours needs one,
    and PostgreSQL cannot store one in text."""
    lowered = data.lower()
    return b"\x00" in data or b"\\u0000" in lowered or (url_encoded and b"%00" in lowered)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands it on to the app unchanged."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _refuse_nul(path: str, send: Send) -> None:
    detail = "The request holds a NUL character (U+0000), which no field accepts; remove it."
    await _answer(send, 422, "Invalid request", detail, path, Code.text_nul, COMMON | API)


async def _refuse(path: str, send: Send) -> None:
    detail = "This request came from a page of another site. Use Noriai's own pages."
    await _answer(send, 403, "Cross-origin request refused", detail, path, Code.cross_origin, COMMON)


async def _answer(
    send: Send, status: int, title: str, detail: str, path: str, code: Code, extra: dict[str, str]
) -> None:
    """A problem-details answer sent before the app sees the request, with the common headers."""
    body = json.dumps(problem_body(status, title, detail, path, code), ensure_ascii=False).encode()
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
