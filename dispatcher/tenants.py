"""Loading a tenant file into the database: the tenant row, its operators and vehicles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from sqlmodel import Session, select

from dispatcher.db import id_of, lock_tenant
from dispatcher.errors import Code, NotFound, field_error
from dispatcher.events import record
from dispatcher.models import Household, Operator, Seller, Tenant, Vehicle
from dispatcher.tenant_config import WEEKDAYS, TenantConfig

TENANT_CREATED = "tenant.created"
TENANT_UPDATED = "tenant.updated"
TENANT_APPLIED = "tenant.applied"  # `noriai tenant apply`: the file and what it changed
OPERATOR_CREATED = "operator.created"
SELLER_CREATED = "seller.created"
VEHICLE_CREATED = "vehicle.created"
VEHICLE_DEACTIVATED = "vehicle.deactivated"
VEHICLE_CHANGED = "vehicle.changed"

# what of these events' payloads outlives the retention period (see dispatcher.rides.kinds)
RETENTION: dict[str, tuple[str, ...] | None] = {
    "tenant.*": None,
    OPERATOR_CREATED: None,
    SELLER_CREATED: None,
    VEHICLE_CREATED: None,
    VEHICLE_DEACTIVATED: None,
    VEHICLE_CHANGED: None,
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


# the tenant file's sections the change report names one by one; the others are compared whole
_ITEMISED = ("id", "name", "operators", "fares", "service_hours")


@dataclass
class TenantChanges:
    """What applying a tenant file changes against the stored tenant (`plan_changes`); each list
    holds one readable line per change."""

    tenant_id: str
    name: str
    new: bool = False
    operators_added: list[str] = field(default_factory=list)
    vehicles_added: list[str] = field(default_factory=list)
    vehicles_deactivated: list[str] = field(default_factory=list)
    vehicles_changed: list[str] = field(default_factory=list)
    fares: list[str] = field(default_factory=list)
    service_hours: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # other sections of the file that changed

    @property
    def empty(self) -> bool:
        return not self.new and not any(
            (
                self.operators_added,
                self.vehicles_added,
                self.vehicles_deactivated,
                self.vehicles_changed,
                self.fares,
                self.service_hours,
                self.sections,
            )
        )

    def lines(self) -> list[str]:
        """The report, one line per change (headings flush left, changes indented)."""
        out = [f"new tenant {self.tenant_id} ({self.name})"] if self.new else []
        for title, items in (
            ("operators added", self.operators_added),
            ("vehicles added", self.vehicles_added),
            ("vehicles deactivated", self.vehicles_deactivated),
            ("vehicles changed", self.vehicles_changed),
            ("fares changed", self.fares),
            ("service hours changed", self.service_hours),
            ("other sections changed", self.sections),
        ):
            if items:
                out.append(f"{title}:")
                out += [f"  {x}" for x in items]
        return out or [f"no changes: {self.tenant_id} is as the file says"]


def _hours(h: Any) -> str:
    return f"{h['start'][:5]}–{h['end'][:5]}" if h else "no service"


def _shift(start: str, end: str) -> str:
    return f"{start[:5]}–{end[:5]}"


def _vehicle_line(key: str, f: _VehicleFields | dict[str, Any], operator: str) -> str:
    wc = f", {f['wheelchair_places']} wheelchair" if f["wheelchair_places"] else ""
    return f"{key} ({operator}): {f['seats']} seats{wc}, shift {_shift(f['shift_start'], f['shift_end'])}"


def _vehicle_diff(v: Vehicle, f: _VehicleFields, operators: dict[int, str]) -> list[str]:
    """What changes of a stored vehicle, as 'seats 4 → 6' items (empty: nothing)."""
    out = []
    if not v.active:
        out.append("active again")
    if v.operator_id != f["operator_id"]:
        out.append(f"operator {operators.get(v.operator_id, '?')} → {operators.get(f['operator_id'], '?')}")
    if v.name != f["name"]:
        out.append(f"name {v.name} → {f['name']}")
    if v.seats != f["seats"]:
        out.append(f"seats {v.seats} → {f['seats']}")
    if v.wheelchair_places != f["wheelchair_places"]:
        out.append(f"wheelchair places {v.wheelchair_places} → {f['wheelchair_places']}")
    if (v.shift_start, v.shift_end) != (f["shift_start"], f["shift_end"]):
        out.append(f"shift {_shift(v.shift_start, v.shift_end)} → {_shift(f['shift_start'], f['shift_end'])}")
    if (v.depot_lat, v.depot_lon) != (f["depot_lat"], f["depot_lon"]):
        out.append(f"depot ({v.depot_lat}, {v.depot_lon}) → ({f['depot_lat']}, {f['depot_lon']})")
    return out


def _fields(cfg: TenantConfig, op_ids: dict[str, int]) -> dict[str, tuple[str, _VehicleFields]]:
    """Every vehicle of the file by key: (operator key, its columns); operators not stored yet get
    id 0."""
    out: dict[str, tuple[str, _VehicleFields]] = {}
    for oc in cfg.operators:
        for vc in oc.vehicles:
            out[vc.id] = (
                oc.id,
                _VehicleFields(
                    operator_id=op_ids.get(oc.id, 0),
                    name=vc.name or vc.id,
                    seats=vc.seats,
                    wheelchair_places=vc.wheelchair_places,
                    depot_lat=vc.depot.lat,
                    depot_lon=vc.depot.lon,
                    shift_start=vc.shift.start.strftime("%H:%M"),
                    shift_end=vc.shift.end.strftime("%H:%M"),
                    active=True,
                ),
            )
    return out


def plan_changes(session: Session, cfg: TenantConfig) -> TenantChanges:
    """What `sync_tenant` would change for this configuration; reads only, changes nothing."""
    data = cfg.model_dump(mode="json", by_alias=True)
    tenant = session.get(Tenant, cfg.id)
    ch = TenantChanges(cfg.id, cfg.name, new=tenant is None)
    old: dict[str, Any] = tenant.config if tenant is not None else {}
    operators = {o.key: o for o in session.exec(select(Operator).where(Operator.tenant_id == cfg.id))}
    names = {id_of(o): o.key for o in operators.values()}
    vehicles = {v.key: v for v in session.exec(select(Vehicle).where(Vehicle.tenant_id == cfg.id))}
    ch.operators_added = [f"{o.id} ({o.name})" for o in cfg.operators if o.id not in operators]
    wanted = _fields(cfg, {k: id_of(o) for k, o in operators.items()})
    for key, (op_key, f) in wanted.items():
        v = vehicles.get(key)
        if v is None:
            ch.vehicles_added.append(_vehicle_line(key, f, op_key))
            continue
        diff = _vehicle_diff(v, f, {**names, 0: op_key})
        if diff:
            ch.vehicles_changed.append(f"{key}: {'; '.join(diff)}")
    for key, v in vehicles.items():
        if key not in wanted and v.active:
            ch.vehicles_deactivated.append(f"{key} ({names.get(v.operator_id, '?')})")
    if tenant is None:
        return ch
    old_fares, new_fares = old.get("fares") or {}, data["fares"]
    for k in ("standard_yen", "companion_yen"):
        if old_fares.get(k) != new_fares.get(k):
            ch.fares.append(f"{k}: {old_fares.get(k)} → {new_fares.get(k)}")
    old_red = {r["category"]: r["yen"] for r in old_fares.get("reduced") or []}
    new_red = {r["category"]: r["yen"] for r in new_fares.get("reduced") or []}
    for cat in sorted(old_red.keys() | new_red.keys()):
        if old_red.get(cat) != new_red.get(cat):
            ch.fares.append(f"reduced {cat}: {old_red.get(cat, 'none')} → {new_red.get(cat, 'none')}")
    old_hours, new_hours = old.get("service_hours") or {}, data["service_hours"]
    for day in WEEKDAYS:
        if old_hours.get(day) != new_hours.get(day):
            ch.service_hours.append(f"{day}: {_hours(old_hours.get(day))} → {_hours(new_hours.get(day))}")
    if old.get("name") != data["name"]:
        ch.sections.append(f"name: {old.get('name')} → {data['name']}")
    if old.get("operators") != data["operators"] and not (
        ch.operators_added or ch.vehicles_added or ch.vehicles_deactivated or ch.vehicles_changed
    ):
        ch.sections.append("operators (names or phone numbers)")
    for key in sorted(old.keys() | data.keys()):
        if key in _ITEMISED or old.get(key) == data.get(key):
            continue
        if key not in old or old[key] is None:
            ch.sections.append(f"{key} (added)")
        elif key not in data or data[key] is None:
            ch.sections.append(f"{key} (removed)")
        else:
            ch.sections.append(key)
    return ch


def sync_tenant(session: Session, cfg: TenantConfig, now: datetime, actor: str = "system:config") -> Tenant:
    """Create or update the tenant and its fleet from its configuration (idempotent).

    Vehicles missing from the file are deactivated, never deleted: past rides refer to them. A
    changed configuration bumps `tenant.config_version`, which running processes notice
    (`Dispatcher.config`); the events say what changed.
    """
    data = cfg.model_dump(mode="json", by_alias=True)
    tenant = session.get(Tenant, cfg.id)
    if tenant is None:
        tenant = Tenant(
            id=cfg.id,
            name=cfg.name,
            municipality_code=cfg.municipality_code,
            config=data,
            config_version=1,
            created_at=now,
        )
        session.add(tenant)
        session.flush()
        record(session, cfg.id, now, actor, TENANT_CREATED, "tenant", cfg.id, after={"name": cfg.name})
    elif tenant.config != data:
        changed = sorted(k for k in data.keys() | tenant.config.keys() if tenant.config.get(k) != data.get(k))
        tenant.name, tenant.municipality_code, tenant.config = cfg.name, cfg.municipality_code, data
        tenant.config_version += 1
        record(
            session,
            cfg.id,
            now,
            actor,
            TENANT_UPDATED,
            "tenant",
            cfg.id,
            after={"sections": changed, "config_version": tenant.config_version},
        )
    session.flush()
    lock_tenant(session, cfg.id)  # the fleet may change: plans held in memory must be reloaded
    operators = {o.key: o for o in session.exec(select(Operator).where(Operator.tenant_id == cfg.id))}
    vehicles = {v.key: v for v in session.exec(select(Vehicle).where(Vehicle.tenant_id == cfg.id))}
    for oc in cfg.operators:
        op = operators.get(oc.id)
        if op is None:
            op = Operator(tenant_id=cfg.id, key=oc.id, name=oc.name, phone=oc.phone)
            session.add(op)
            session.flush()
            operators[oc.id] = op
            record(session, cfg.id, now, actor, OPERATOR_CREATED, "operator", op.id, after={"key": oc.id})
        else:
            op.name, op.phone = oc.name, oc.phone
    wanted = _fields(cfg, {k: id_of(o) for k, o in operators.items()})
    for key, (_op_key, fields) in wanted.items():
        v = vehicles.get(key)
        if v is None:
            v = Vehicle(tenant_id=cfg.id, key=key, **fields)
            session.add(v)
            session.flush()
            record(
                session, cfg.id, now, actor, VEHICLE_CREATED, "vehicle", v.id, after={"key": key, **fields}
            )
            continue
        columns: dict[str, Any] = dict(fields)
        before = {k: getattr(v, k) for k, val in columns.items() if getattr(v, k) != val}
        if before:
            for k in before:
                setattr(v, k, columns[k])
            after = {k: columns[k] for k in before}
            record(session, cfg.id, now, actor, VEHICLE_CHANGED, "vehicle", v.id, before=before, after=after)
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
        if key not in wanted and v.active:
            v.active = False
            record(session, cfg.id, now, actor, VEHICLE_DEACTIVATED, "vehicle", v.id)
    return tenant
