"""Sign-in (OAuth2 password flow)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import ApiModel, Lax
from dispatcher.models import Role


class Token(ApiModel):
    """A bearer token: send it as `Authorization: Bearer <access_token>`."""

    access_token: str
    token_type: Literal["bearer"]
    role: Annotated[Role, Lax]
    tenant_id: str = Field(description="the municipality the user belongs to")
    expires_in: int = Field(description="seconds until the token lapses")
