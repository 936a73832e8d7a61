"""Loading a tenant file into the database: the tenant row, its operators and vehicles."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlmodel import Session, select

from dispatcher.db import id_of, lock_tenant
from dispatcher.errors import Code, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Household, Operator, Seller, Tenant, Vehicle
from dispatcher.tenant_config import TenantConfig

TENANT_CREATED = "tenant.created"
TENANT_UPDATED = "tenant.updated"
OPERATOR_CREATED = "operator.created"
SELLER_CREATED = "seller.created"
VEHICLE_CREATED = "vehicle.created"
VEHICLE_DEACTIVATED = "vehicle.deactivated"

# what of these events' payloads outlives the retention period (see dispatcher.rides.kinds)
RETENTION: dict[str, tuple[str, ...] | None] = {
    "tenant.*": None,
    OPERATOR_CREATED: None,
    SELLER_CREATED: None,
    VEHICLE_CREATED: None,
    VEHICLE_DEACTIVATED: None,
}


def operator_id(session: Session, tenant_id: str, key: str, errors: list[dict[str, str]]) -> int | None:
    """The id of the tenant's taxi operator `key`; an unknown key adds an error for --operator."""
    op = session.exec(select(Operator).where(Operator.tenant_id == tenant_id, Operator.key == key)).first()
    if op is None:
        errors.append(field_error("operator", f"unknown operator {key!r}"))
        return None
    return op.id


def household(session: Session, tenant_id: str, household_id: int) -> Household:
    """The tenant's household, or NotFound (another tenant's household is not found either)."""
    hh = session.get(Household, household_id)
    if hh is None or hh.tenant_id != tenant_id:
        raise NotFound(f"No household {household_id}.", code=Code.household_not_found)
    return hh


class _VehicleFields(TypedDict):
    """What a tenant file says of a vehicle (the columns `sync_tenant` sets)."""

    operator_id: int
    name: str
    seats: int
    wheelchair_places: int
    depot_lat: float
    depot_lon: float
    shift_start: str
    shift_end: str
    active: bool


def sync_tenant(session: Session, cfg: TenantConfig, now: datetime, actor: str = "system:config") -> Tenant:
    """Create or update the tenant and its fleet from its configuration (idempotent).

    Vehicles missing from the file are deactivated, never deleted: past rides refer to them.
    """
    data = cfg.model_dump(mode="json", by_alias=True)
    tenant = session.get(Tenant, cfg.id)
    if tenant is None:
        tenant = Tenant(
            id=cfg.id, name=cfg.name, municipality_code=cfg.municipality_code, config=data, created_at=now
        )
        session.add(tenant)
        session.flush()
        record(session, cfg.id, now, actor, TENANT_CREATED, "tenant", cfg.id, after={"name": cfg.name})
    elif tenant.config != data:
        tenant.name, tenant.municipality_code, tenant.config = cfg.name, cfg.municipality_code, data
        record(session, cfg.id, now, actor, TENANT_UPDATED, "tenant", cfg.id)
    session.flush()
    lock_tenant(session, cfg.id)  # the fleet may change: plans held in memory must be reloaded
    operators = {o.key: o for o in session.exec(select(Operator).where(Operator.tenant_id == cfg.id))}
    vehicles = {v.key: v for v in session.exec(select(Vehicle).where(Vehicle.tenant_id == cfg.id))}
    seen: set[str] = set()
    for oc in cfg.operators:
        op = operators.get(oc.id)
        if op is None:
            op = Operator(tenant_id=cfg.id, key=oc.id, name=oc.name, phone=oc.phone)
            session.add(op)
            session.flush()
            record(session, cfg.id, now, actor, OPERATOR_CREATED, "operator", op.id, after={"key": oc.id})
        else:
            op.name, op.phone = oc.name, oc.phone
        for vc in oc.vehicles:
            seen.add(vc.id)
            fields = _VehicleFields(
                operator_id=id_of(op),
                name=vc.name or vc.id,
                seats=vc.seats,
                wheelchair_places=vc.wheelchair_places,
                depot_lat=vc.depot.lat,
                depot_lon=vc.depot.lon,
                shift_start=vc.shift.start.strftime("%H:%M"),
                shift_end=vc.shift.end.strftime("%H:%M"),
                active=True,
            )
            v = vehicles.get(vc.id)
            if v is None:
                v = Vehicle(tenant_id=cfg.id, key=vc.id, **fields)
                session.add(v)
                session.flush()
                record(
                    session,
                    cfg.id,
                    now,
                    actor,
                    VEHICLE_CREATED,
                    "vehicle",
                    v.id,
                    after={"key": vc.id, **fields},
                )
            else:
                for k, val in fields.items():
                    setattr(v, k, val)
    if cfg.shopping is not None:
        sellers = {x.key: x for x in session.exec(select(Seller).where(Seller.tenant_id == cfg.id))}
        for sc in cfg.shopping.sellers:
            seller = sellers.get(sc.id)
            if seller is None:
                seller = Seller(tenant_id=cfg.id, key=sc.id, name=sc.name, place_id=sc.place_id)
                session.add(seller)
                session.flush()
                record(session, cfg.id, now, actor, SELLER_CREATED, "seller", seller.id, after={"key": sc.id})
            else:
                seller.name, seller.place_id = sc.name, sc.place_id
    for key, v in vehicles.items():
        if key not in seen and v.active:
            v.active = False
            record(session, cfg.id, now, actor, VEHICLE_DEACTIVATED, "vehicle", v.id)
    return tenant
