"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.messages import field_text, for_residents, message_ja
from dispatcher.db import database_trouble
from dispatcher.errors import Code, DomainError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
RETRY_AFTER_SECONDS = 30  # a 503 for database trouble: when to try again
DATABASE_DETAIL = {
    "read_only": "The database takes no changes at the moment (read-only); nothing was changed. "
    "Try again shortly.",
    "timeout": "The database did not answer in time (busy or locked); nothing was changed. "
    "Try again shortly.",
    "unavailable": "The database cannot be reached at the moment; nothing was changed. Try again shortly.",
}
TYPE_BASE = "https://noriai.example/problems/"  # identifiers only; never fetched


class ProblemField(BaseModel):
    # A field error may carry the parameters of its text, e.g. `hours` for time.outside_hours.
    model_config = ConfigDict(extra="allow")
    field: str = Field(description="the field, parameter or header, e.g. `pickup.lat`, `Idempotency-Key`")
    message: str = Field(description="what is wrong with it (English)")
    code: str | None = Field(default=None, description="what is wrong, stable (see `code` of the problem)")
    message_ja: str = Field(description="what is wrong with this field, in plain Japanese (by its code)")


class ProblemDetails(BaseModel):
    """An error answer (RFC 9457, media type application/problem+json)."""

    # A problem may carry more members, e.g. a refused booking's `alternatives`, `attempts_left`.
    model_config = ConfigDict(extra="allow")
    type: str = Field(description="identifies the kind of problem: the base URI and the code (not fetched)")
    code: str = Field(description="what went wrong, stable across releases, e.g. `ride.no_vehicle_available`")
    title: str = Field(description="short summary in English")
    status: int = Field(ge=400, le=599, description="the HTTP status code")
    detail: str = Field(
        description="what happened and what to do: English for staff; plain Japanese on the residents' "
        "endpoints (/api/v1/me, /api/v1/m, /api/v1/tv)"
    )
    message_ja: str = Field(description="the same for people, in plain Japanese, chosen by `code`")
    instance: str = Field(description="the path of the request")
    errors: list[ProblemField] = Field(default=[], description="one entry per bad field, if any")


# Declared on every operation of the OpenAPI document: the errors any request may meet.
PROBLEM_RESPONSES: dict[int, str] = {
    400: "The request cannot be read (e.g. a body that is not UTF-8 JSON)",
    401: "Not signed in, or the token has lapsed",
    403: "Signed in, but this role or household may not do this; or a cross-origin browser request",
    404: "Something the request names does not exist (for this municipality)",
    409: "The request conflicts with the current state; the detail says what to do",
    413: "The request body is larger than this endpoint takes",
    422: "The request has problems: `errors` names each field",
    429: "Too many requests: wait `Retry-After` seconds",
    503: "The database cannot serve now (unreachable, read-only or too slow): wait `Retry-After` seconds",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
}
_REF = "#/components/schemas/{model}"


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the problem-details answers in an OpenAPI document, in place.

    Every operation gets `PROBLEM_RESPONSES` (as references to shared responses); an error
    response an operation declares itself (`responses={409: {"description": ...}}`) keeps its
    description and gets the problem-details body; FastAPI's default 422 body (which this API
    never sends) is replaced.
    """
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    body = ProblemDetails.model_json_schema(ref_template=_REF)
    schemas.update(body.pop("$defs", {}))
    schemas["ProblemDetails"] = body
    content = {PROBLEM: {"schema": {"$ref": _REF.format(model="ProblemDetails")}}}
    shared = components.setdefault("responses", {})
    for status, description in PROBLEM_RESPONSES.items():
        shared[f"Problem{status}"] = {"description": description, "content": content} | (
            {"headers": _HEADERS[status]} if status in _HEADERS else {}
        )
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                continue
            responses = operation.setdefault("responses", {})
            for code, response in list(responses.items()):
                if code[0] not in "45" or "$ref" in response:
                    continue
                body_schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if code == "422" and body_schema.get("$ref", "").endswith("/HTTPValidationError"):
                    del responses[code]
                elif "content" not in response:
                    response["content"] = content
            for status in PROBLEM_RESPONSES:
                responses.setdefault(str(status), {"$ref": f"#/components/responses/Problem{status}"})
    if "/HTTPValidationError" not in json.dumps(schema.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return schema


def problem_body(
    status: int,
    title: str,
    detail: str,
    path: str,
    code: Code,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The members of a problem document. Its `message_ja` is the text of `code` (of each field's
    code when fields are named); on the residents' endpoints that text is the `detail` too. Each
    field error carries its own `message_ja` (the text of its code; a field without one reads as
    `field.invalid`)."""
    residents = for_residents(path)
    ja = message_ja(code, extra, errors or [], residents=residents)
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.value,
        "code": code.value,
        "title": title,
        "status": status,
        "detail": ja if residents else detail,
        "message_ja": ja,
        "instance": path,
    }
    if errors:
        # each field with its own Japanese text, for a page that shows it beside the field
        body["errors"] = [{**e, "message_ja": field_text(e, residents)} for e in errors]
    body.update(extra)
    return body


def problem(
    status: int,
    title: str,
    detail: str,
    request: Request,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    code: Code = Code.bad_request,
    **extra: Any,
) -> JSONResponse:
    """A problem-details answer (see `problem_body`)."""
    body = problem_body(status, title, detail, request.url.path, code, errors, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "form"):
        where = parts.pop(0)
        if where == "header" and parts:
            return "-".join(w.capitalize() for w in str(parts[0]).replace("_", "-").split("-"))
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def _message(err: dict[str, Any]) -> str:
    t = err.get("type", "")
    if t == "missing":
        return "is required"
    if t == "json_invalid":
        return "the body is not valid JSON"
    if t == "extra_forbidden":
        return "is not a known field"
    if t == "timezone_aware":
        return "needs a time zone offset, e.g. 2026-11-22T10:00:00+09:00"
    return str(err.get("msg", "is invalid")).removeprefix("Value error, ")


def _code(err: dict[str, Any]) -> Code:
    t = err.get("type", "")
    if t == "missing":
        return Code.field_required
    if t == "extra_forbidden":
        return Code.field_unknown
    if t == "json_invalid":
        return Code.bad_request
    if t == "date_out_of_range":
        return Code.date_out_of_range
    return Code.field_invalid


def _allowed_methods(request: Request) -> list[str]:
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def install(app: FastAPI) -> None:
    """Answer every error as problem details, and say so in the OpenAPI document."""
    openapi = app.openapi

    def openapi_with_problems() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(openapi())
        return app.openapi_schema

    app.openapi = openapi_with_problems  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 429:
            headers = {"Retry-After": str(exc.extra.get("retry_after_seconds", 60))}
        if exc.headers:
            headers = {**(headers or {}), **exc.headers}
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            request,
            exc.errors,
            headers=headers,
            code=exc.code,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e["loc"])), "message": _message(e), "code": _code(e).value}
            # a date out of range names the range (the parameters of its Japanese text)
            | (
                {k: e["ctx"][k] for k in ("earliest", "latest")}
                if e.get("type") == "date_out_of_range"
                else {}
            )
            for e in exc.errors()
        ]
        return problem(
            422,
            "Invalid request",
            "The request has problems; correct the fields listed in errors.",
            request,
            errors,
            code=Code.invalid_request,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {
            400: "Bad request",
            401: "Not signed in",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
        }
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names only the methods of the first route with this path; Allow lists all.
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        codes = {
            400: Code.bad_request,
            401: Code.not_signed_in,
            403: Code.forbidden,
            404: Code.not_found,
            405: Code.method_not_allowed,
        }
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            request,
            headers=headers,
            code=codes.get(exc.status_code, Code.bad_request),
        )

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        why = database_trouble(exc)
        if why is None:
            return await _unexpected(request, exc)
        # one line, without the statement: what failed and where (the statement's parameters are
        # hidden by the engine anyway)
        log.warning("database %s on %s: %s", why, request.url.path, type(getattr(exc, "orig", exc)).__name__)
        return problem(
            503,
            "Service unavailable",
            DATABASE_DETAIL[why],
            request,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            code=Code.database_unavailable,
            reason=why,
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            500,
            "Internal error",
            "Something went wrong on our side; nothing was changed. Try again, or call the operator.",
            request,
            code=Code.internal,
        )
