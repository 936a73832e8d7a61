"""Family members' accounts and their links to residents (dispatcher.identity.family): what
operators see, and what the family member's own phone page gets."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import ApiModel, IsoDate, Lax, LocalTime
from dispatcher.models import ConsentMethod, FamilyPermission


class FamilyMemberBrief(ApiModel):
    """A family member's account (never its password)."""

    id: int
    name: str
    kana: str
    phone: str
    email: str
    login_id: str = Field(description="what she signs in with on the phone page (lower case)")
    locked_until: LocalTime | None = Field(description="sign-in stopped after wrong passwords until then")
    ended_at: LocalTime | None = Field(description="the account ended: it signs in no more")


class FamilyLink(ApiModel):
    """A family member may act for a resident, with the resident's consent."""

    id: int
    family_member: FamilyMemberBrief
    resident_id: int
    resident_name: str
    permission: Annotated[FamilyPermission, Lax] = Field(
        description="view: the resident's rides, orders and notices; book: also book and cancel rides"
    )
    consent_on: IsoDate = Field(description="the day the resident consented (to this permission)")
    consent_method: Annotated[ConsentMethod, Lax] = Field(
        description="written (書面), phone (電話), counter (窓口)"
    )
    recorded_by: str = Field(description="the operator who recorded the consent")
    created_at: LocalTime
    revoked_at: LocalTime | None
    revoked_by: str


class FamilyMember(FamilyMemberBrief):
    """A family member's account with every link, live and revoked."""

    created_at: LocalTime
    live_sessions: int = Field(description="phone-page sessions open now")
    links: list[FamilyLink]


class LinkedResident(ApiModel):
    """Someone the family member may act for."""

    id: int = Field(description="send it as the Noriai-Resident header to act for this resident")
    name: str
    given_name: str
    permission: Annotated[FamilyPermission, Lax]


class FamilySession(ApiModel):
    """A family member's phone-page session: send `Authorization: Bearer <access_token>`, and
    `Noriai-Resident: <id>` when she is linked to more than one resident."""

    access_token: str
    token_type: Literal["bearer"]
    name: str = Field(description="the family member's name")
    residents: list[LinkedResident]


class FamilyAccount(ApiModel):
    """The signed-in family member's own account."""

    name: str
    login_id: str
    residents: list[LinkedResident]
