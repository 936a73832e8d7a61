"""Open data as NGSI-LD entities (ETSI GS CIM 009; smart data models ServiceArea, Vehicle,
KeyPerformanceIndicator), sent as application/ld+json (dispatcher.reporting.opendata)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.base import ApiModel, OffsetTime


class Attribute(ApiModel):
    """An NGSI-LD Property or GeoProperty."""

    type: Literal["Property", "GeoProperty"]
    value: Any = Field(
        description="the property's value: any JSON value as the smart data model defines it; a "
        "GeoProperty's is a GeoJSON geometry (RFC 7946)"
    )
    unitCode: str | None = Field(None, description="UN/CEFACT unit code, e.g. MIN, C62, P1")
    observedAt: OffsetTime | None = None


class Entity(ApiModel):
    """An NGSI-LD entity with its @context. Its other members are its attributes, by name (e.g. name,
    location, kpiValue), as the smart data model of its type defines them."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Attribute] = Field(init=False)

    id: str = Field(description="the entity's URN, urn:ngsi-ld:<type>:...")
    type: Literal["ServiceArea", "Vehicle", "KeyPerformanceIndicator"]
    context: list[str] = Field(alias="@context", description="the JSON-LD contexts of its terms")
