"""Staff users as administrators see them (dispatcher.identity.auth.user_view)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from api.schemas.base import ApiModel, Lax, OffsetTime
from dispatcher.models import Role


class StaffUser(ApiModel):
    """A staff user (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: Annotated[Role, Lax]
    active: bool = Field(description="false: deactivated, cannot sign in")
    locked_until: OffsetTime | None = Field(
        description="locked after repeated wrong passwords until then (UTC); null: not locked"
    )
    live_tokens: int = Field(description="tokens neither expired nor revoked")


class RevokedTokens(ApiModel):
    revoked_tokens: int = Field(description="how many live tokens were revoked")


class RevokedUser(StaffUser, RevokedTokens):
    """A user whose tokens were revoked (`revoked_tokens` comes first: bases' fields are laid out
    from the last base on)."""
