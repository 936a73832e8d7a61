"""The service area as the operator console draws it, and the eligibility categories its forms offer."""

from __future__ import annotations

from pydantic import Field

from api.schemas.base import ApiModel, Number
from api.schemas.directory import Place


class Bounds(ApiModel):
    """The box around the service area, WGS84 degrees."""

    south: Number
    west: Number
    north: Number
    east: Number


class AreaOut(ApiModel):
    name: str
    polygon: list[list[Number]] = Field(description="[lat, lon] corners in degrees, in order")


class RoadOut(ApiModel):
    """A straight piece of road between two road nodes."""

    major: bool = Field(description="tertiary or faster (drawn thicker)")
    points: list[list[Number]] = Field(description="[lat, lon] in degrees, from one end to the other")


class CategoryOut(ApiModel):
    """An eligibility category as a registration form offers it."""

    id: str
    name: str = Field(description="its Japanese name")
    builtin: bool = Field(description="age, licence surrendered, disability: every municipality knows them")
    evidence: bool = Field(description="recorded as evidence (false: age, from the birth date)")
    accepted: bool = Field(description="lets a resident ride (eligibility.any_of)")
    document: str = Field(description="the document that proves it")
    document_number_required: bool
    expires: bool = Field(description="its evidence must carry an expiry date")


class ServiceArea(ApiModel):
    """What the console's maps and registration forms need of the municipality's configuration."""

    name: str = Field(description="the municipality")
    bounds: Bounds
    areas: list[AreaOut]
    places: list[Place] = Field(description="named places, community halls among them")
    roads: list[RoadOut] = Field(description="empty unless the municipality routes on an OSM file")
    roads_left_out: int = Field(description="road segments not sent (the map shows the major ones first)")
    min_age: int = Field(description="the age from which age_65_plus holds")
    categories: list[CategoryOut]
    same_day_only: bool = Field(description="rides can be booked for today only")
