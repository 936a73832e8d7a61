"""Domain errors that carry what a person needs to fix the request (RFC 9457 on the API)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused request.

    status: the HTTP status it maps to; title: short summary; detail: what happened and what to do;
    errors: [{"field", "message"}] naming each bad field; extra: more members for the problem body.
    """

    status = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        errors: list[dict[str, str]] | None = None,
        status: int | None = None,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.extra = extra


class InvalidRequest(DomainError):
    status = 422
    title = "Invalid request"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


def field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}
