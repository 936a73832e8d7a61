"""The operator's live board of today."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import get_ctx, require
from api.schemas.board import Board
from dispatcher.channels.board import board
from dispatcher.context import Dispatcher
from dispatcher.identity.auth import Principal
from dispatcher.models import Role

router = APIRouter(prefix="/api/v1", tags=["operations"])


@router.get(
    "/board",
    response_model=Board,
    summary="Today: every vehicle's next stops and late risks; refused requests; the re-optimization's state",
)
def get_board(
    p: Principal = Depends(require(Role.operator)), ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, object]:
    return board(ctx, p.tenant_id)
