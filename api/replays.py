"""The booking rate limit for requests that carry an Idempotency-Key.

A retry (the same key again, after a lost answer or a timeout) is answered from what is stored and
books nothing, so it must not use up the caller's booking allowance: a flaky phone line would
otherwise lock an operator out of booking. A retry counts against a bucket of its own ("replay",
at the same rate) instead, so replaying one key in a loop is still limited.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from sqlmodel import Session

from api.deps import get_ctx, get_household, get_principal
from api.ratelimit import enforce
from dispatcher.context import Dispatcher
from dispatcher.identity.auth import HouseholdPrincipal, Principal

# (session, tenant id, Idempotency-Key, actor) -> whether that actor already sent it
Stored = Callable[[Session, str, str, str], bool]


def _count(
    request: Request, ctx: Dispatcher, tenant_id: str, actor: str, bucket: str, stored: Stored, message: str
) -> None:
    rate: int = request.app.state.rates["booking"]
    key = request.headers.get("idempotency-key")
    if key and rate > 0:
        with Session(ctx.engine) as session:
            if stored(session, tenant_id, key, actor):
                enforce(request, "replay", bucket, rate, message)
                return
    enforce(request, "booking", bucket, rate, message)


def staff_booking_limit(stored: Stored) -> Callable[..., None]:
    """The booking limit per staff user (as `per_staff("booking")`), a retry not counted."""

    def dep(
        request: Request, p: Principal = Depends(get_principal), ctx: Dispatcher = Depends(get_ctx)
    ) -> None:
        _count(request, ctx, p.tenant_id, p.actor, f"user:{p.user_id}", stored, "booking")

    return dep


def household_booking_limit(stored: Stored) -> Callable[..., None]:
    """The booking limit per resident channel (as `per_household("booking")`), a retry not counted."""

    def dep(
        request: Request, hp: HouseholdPrincipal = Depends(get_household), ctx: Dispatcher = Depends(get_ctx)
    ) -> None:
        _count(request, ctx, hp.tenant_id, hp.actor, hp.actor, stored, "resident")

    return dep
