"""Drivers' reports flagged for review (確認が必要な記録): the list, and the operator's decision."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_ctx, require
from api.schemas.field_checks import FieldFlag, FlagReviewed
from dispatcher.context import Dispatcher
from dispatcher.db import RowId
from dispatcher.identity.auth import Principal
from dispatcher.models import Role
from dispatcher.rides.field_checks import review, to_review
from dispatcher.timeline import Instant

router = APIRouter(prefix="/api/v1/field-flags", tags=["operations"])


class FlagReview(BaseModel):
    """The operator's decision on a flagged report (a request body)."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["confirmed", "corrected", "discarded"] = Field(
        description="confirmed: the report was right; corrected (a ride's tap): `at` is the right "
        "time; discarded (a position): it is not where the vehicle was"
    )
    at: Instant | None = Field(None, description="corrected: the right time, on the ride's service day")


@router.get(
    "",
    response_model=list[FieldFlag],
    summary="Drivers' reports that cannot be true, awaiting review (the last 31 days, oldest first)",
)
def list_flags(
    p: Principal = Depends(require(Role.operator)), ctx: Dispatcher = Depends(get_ctx)
) -> list[dict[str, object]]:
    return to_review(ctx, p.tenant_id)


@router.post(
    "/{flag_id}/review",
    response_model=FlagReviewed,
    summary="Confirm a flagged report, correct a ride tap's time, or discard a position (an event)",
    responses={
        404: {"description": "No such flag (`field_flag.not_found`)"},
        409: {"description": "Reviewed already (`field_flag.reviewed`)"},
        422: {"description": "A decision or time that does not fit; problem details name the field"},
    },
)
def review_flag(
    flag_id: RowId,
    body: FlagReview,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, object]:
    return review(ctx, p.tenant_id, flag_id, body.decision, p.actor, at=body.at)
