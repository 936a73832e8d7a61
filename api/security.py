"""Cross-origin request refusal (CSRF), request limits (body size, control characters) and
security headers on every response.

CSRF: the API authenticates with bearer tokens that scripts put in a header, never with cookies, so
a foreign page cannot make a browser send them. The form posts that exist (sign-in, a family's
watch-over acknowledgement) are still refused when a browser says the request comes from another
origin: `Sec-Fetch-Site` other than same-origin/none, or else an `Origin` that is not this host.
Requests that carry a bearer token (every API call of the pages, the TV page, scripts) cannot be
forged by another site and are not checked; clients that send no such headers are not browsers.

Limits, before any route or database sees the request: a body over its size limit answers 413; a
NUL or another control character in the path, the query or the body (raw, JSON-escaped or
URL-encoded) answers 422 (`request.nul`, `request.control_character`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

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


# Paths that take a file (the residents' register): their own, larger body limit.
UPLOAD_PATHS = ("/api/v1/residents/import",)
# Control characters no field accepts: C0 except tab, LF and CR (text areas and JSON whitespace
# need those), DEL, and the C1 block. PostgreSQL cannot store NUL at all; the others corrupt
# logs, CSV exports, the TV screen and the Zengin file.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
RAW_CONTROL = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # any encoding: no trail byte is one
UTF8_C1 = re.compile(b"\xc2[\x80-\x9f]")  # C1 in UTF-8 text (not checked in CP932 files)


class BodyTooLarge(Exception):
    """The request body is over its limit (bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class SecurityMiddleware:
    """Refuse cross-origin unsafe requests with 403 problem details, bodies over their limit with
    413, NUL and other control characters with 422; add security headers.

    max_body_bytes: the largest body of a request (bytes); max_upload_bytes: the same for the
    register file (UPLOAD_PATHS). A Content-Length over the limit is refused before anything is
    read; a body without one is read up to the limit and refused once it passes it."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int = 1_048_576, max_upload_bytes: int = 20_000_000
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"].encode() in UNSAFE and cross_origin(scope):
            await _refuse(path, send)
            return
        found = _in_url(path, scope.get("query_string", b""))
        if found is not None:
            await _refuse_text(path, send, found)
            return
        headers = dict(scope["headers"])
        limit = self.max_upload_bytes if path.startswith(UPLOAD_PATHS) else self.max_body_bytes
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse_large(path, send, limit)
            return
        if scope["method"].encode() in UNSAFE:
            try:
                body, receive = await _buffered(receive, limit)
            except BodyTooLarge:
                await _refuse_large(path, send, limit)
                return
            found = _in_body(body, headers.get(b"content-type", b""))
            if found is not None:
                await _refuse_text(path, send, found)
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


def _control(text: str) -> str | None:
    """The first control character no field accepts (see CONTROL), or None."""
    m = CONTROL.search(text)
    return m.group() if m else None


def _url_text(data: bytes) -> str:
    """URL-encoded text (a query or a form post) decoded: %XX and + undone, UTF-8."""
    return unquote_to_bytes(data.replace(b"+", b" ")).decode("utf-8", "replace")


def _in_url(path: str, query: bytes) -> str | None:
    """A refused control character in the path (already decoded) or the query string, or None."""
    return _control(path) or _control(_url_text(query))


def _strings(value: object) -> Iterator[str]:
    """Every string of a JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _in_body(body: bytes, content_type: bytes) -> str | None:
    """A refused control character in a request body, or None: raw in any body; in a JSON body
    also as an escape (\\u0001, \\b, \\f ...) in any string or key; in a form post also
    URL-encoded (%01). JSON whitespace (tab, LF, CR between tokens) and newlines in text pass."""
    if _nul(body, url_encoded=content_type.startswith(b"application/x-www-form")):
        return "\x00"
    raw = RAW_CONTROL.search(body)
    if raw is not None:
        return raw.group().decode("latin-1")
    if content_type.startswith(b"application/x-www-form"):
        return _control(_url_text(body))
    # JSON, or a body without a type (FastAPI reads it as JSON): look into its strings and keys
    if b"json" in content_type or content_type.startswith(b"text/plain") or not content_type:
        c1 = UTF8_C1.search(body)
        if c1 is None and b"\\" not in body:  # no escape and no C1: nothing more to find
            return None
        try:
            doc = json.loads(body)
        except ValueError:  # not JSON: the app answers what is wrong
            return c1.group().decode("utf-8") if c1 is not None and b"json" in content_type else None
        for text in _strings(doc):
            found = _control(text)
            if found is not None:
                return found
    return None


async def _buffered(receive: Receive, limit: int) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands it on to the app unchanged; BodyTooLarge
    as soon as more than `limit` bytes arrived (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
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


async def _refuse_text(path: str, send: Send, found: str) -> None:
    if found == "\x00":
        detail = "The request holds a NUL character (U+0000), which no field accepts; remove it."
        await _answer(send, 422, "Invalid request", detail, path, Code.text_nul, COMMON | API)
        return
    detail = (
        f"The request holds the control character U+{ord(found):04X}, which no field accepts "
        "(tab and line breaks are fine); remove it."
    )
    await _answer(send, 422, "Invalid request", detail, path, Code.text_control, COMMON | API)


async def _refuse_large(path: str, send: Send, limit: int) -> None:
    detail = f"The request body is larger than {limit:,} bytes, the most this endpoint takes."
    # the rest of the body is never read: the connection ends with this answer
    headers = COMMON | API | {"connection": "close"}
    await _answer(
        send, 413, "Request too large", detail, path, Code.body_too_large, headers, limit_bytes=limit
    )


async def _refuse(path: str, send: Send) -> None:
    detail = "This request came from a page of another site. Use Noriai's own pages."
    await _answer(send, 403, "Cross-origin request refused", detail, path, Code.cross_origin, COMMON)


async def _answer(
    send: Send,
    status: int,
    title: str,
    detail: str,
    path: str,
    code: Code,
    extra: dict[str, str],
    **members: Any,
) -> None:
    """A problem-details answer sent before the app sees the request, with the common headers."""
    body = json.dumps(problem_body(status, title, detail, path, code, **members), ensure_ascii=False).encode()
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
