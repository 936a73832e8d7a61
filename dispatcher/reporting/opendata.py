"""Open data for trip planners and the city's data platform. Nothing personal in any of it.

- `gtfs_zip`: a GTFS feed with GTFS-Flex (service zone in locations.geojson, booking rules, one
  zone-to-zone trip per weekday pattern with the service hours as pickup/drop-off windows, the
  agency, the flat fare), so trip planners can show the on-demand service.
- `ridership_csv`: the nightly figures of each closed service day (`DailyStats`), with how many
  flagged records awaiting review they leave out.
- `ngsi_ld`: NGSI-LD entities in the style of the FIWARE Smart Data Models: the service area,
  each vehicle's public status (the depot as location; live positions are never published) and
  the daily figures as `KeyPerformanceIndicator` entities.

Every file and field is described in docs/open-data.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime, time, timedelta
from typing import Any

from shapely.geometry import MultiPolygon, mapping
from shapely.geometry.polygon import orient
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.errors import Code, InvalidRequest, NotFound, field_error
from dispatcher.exports import csv_text
from dispatcher.models import DailyStats, Operator, Vehicle
from dispatcher.reporting.stats import check_range
from dispatcher.rides.fares import GTFS_PAYMENT_METHOD, how_paid
from dispatcher.rides.plan import current_plan
from dispatcher.tenant_config import WEEKDAYS, TenantConfig
from dispatcher.timeline import at_local, local_date, out_of_range, parse_hhmm

FEED_DAYS = 365  # the feed's calendar covers a year from today
MAX_CSV_DAYS = 366
ROUTE_ID = "ondemand"
BOOKING_RULE_ID = "same-day"
FARE_ID = "standard"
WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CONTEXT = [
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.KeyPerformanceIndicator/master/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
]
DAILY_COLUMNS = (
    "trips",
    "passengers",
    "riders",
    "shared_trips",
    "sharing_rate",
    "on_time_rate",
    "wait_minutes_mean",
    "ride_minutes_mean",
    "detour_factor",
    "requests",
    "cancelled",
    "no_shows",
    "refused",
    "vehicle_hours",
    "passengers_per_vehicle_hour",
    "km",
    "empty_km_share",
)
# What the figures of the day leave out (`docs/statistics.md`): flagged drivers' reports awaiting the
# operator's review. Last in the file, so that the columns before keep their places.
REVIEW_COLUMNS = ("unreviewed_rides", "unreviewed_positions")
SHOP_COLUMNS = (
    "orders",
    "items",
    "sales_yen",
    "by_drone",
    "by_ground",
    "drone_share",
    "on_time_delivery_rate",
)


# ------------------------------------------------------------------------------------------- GTFS


def zone_id(cfg: TenantConfig) -> str:
    return f"{cfg.id}-zone"


def zone_geometry(cfg: TenantConfig) -> dict[str, Any]:
    """The service area as GeoJSON geometry ([lon, lat], exterior rings counter-clockwise)."""
    shape = cfg.area_shape()
    parts = list(shape.geoms) if isinstance(shape, MultiPolygon) else [shape]
    parts = [orient(p, 1.0) for p in parts]
    geom = mapping(parts[0] if len(parts) == 1 else MultiPolygon(parts))
    rounded: dict[str, Any] = json.loads(json.dumps(geom), parse_float=lambda v: round(float(v), 6))
    return rounded


def service_patterns(cfg: TenantConfig) -> list[tuple[str, list[int], time, time]]:
    """(service_id, weekday numbers 0=Mon, start, end) for each distinct set of service hours."""
    groups: dict[tuple[time, time], list[int]] = {}
    for i, day in enumerate(WEEKDAYS):
        h = cfg.service_hours.get(day)
        if h is not None:
            groups.setdefault((h.start, h.end), []).append(i)
    out = []
    for (start, end), days in groups.items():
        contiguous = days == list(range(days[0], days[-1] + 1))
        name = (
            WEEKDAYS[days[0]]
            if len(days) == 1
            else f"{WEEKDAYS[days[0]]}-{WEEKDAYS[days[-1]]}"
            if contiguous
            else "-".join(WEEKDAYS[d] for d in days)
        )
        out.append((name, days, start, end))
    return out


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    return csv_text(header, rows, excel=False).encode("utf-8")


def _hms(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}:00"


def _fare_text(cfg: TenantConfig) -> str:
    f = cfg.fares
    labels = {
        "disability": "障がいのある方",
        "licence_surrendered": "運転免許返納者",
        "age_65_plus": "65歳以上",
    }
    reduced = "、".join(f"{labels[r.category]} {r.yen}円" for r in f.reduced)
    return (
        f"運賃 1回 {f.standard_yen}円（同乗者 {f.companion_yen}円"
        + (f"、{reduced}" if reduced else "")
        + f"）。{how_paid(cfg)}。"
    )


def gtfs_files(cfg: TenantConfig, today: date, base_url: str) -> dict[str, bytes]:
    """Every file of the feed by name."""
    url = cfg.website or f"{base_url.rstrip('/')}/opendata"
    end = today + timedelta(days=FEED_DAYS - 1)
    patterns = service_patterns(cfg)
    zone = zone_id(cfg)
    lead = cfg.booking.min_lead_minutes
    phone = cfg.call_centre_phone
    who = {"age_65_plus": f"{cfg.eligibility.min_age}歳以上", "licence_surrendered": "運転免許返納者"}
    who["disability"] = "障がいのある方"
    eligible = "・".join(who[c] for c in cfg.eligibility.any_of)
    files: dict[str, bytes] = {}
    files["agency.txt"] = _csv(
        ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang", "agency_phone"],
        [[cfg.id, cfg.name, url, cfg.timezone, "ja", phone]],
    )
    files["routes.txt"] = _csv(
        ["route_id", "agency_id", "route_short_name", "route_long_name", "route_desc", "route_type"],
        [
            [
                ROUTE_ID,
                cfg.id,
                "",
                f"{cfg.name} 乗合タクシー（予約制）",
                f"区域内をドア・ツー・ドアで運行する予約制の乗合タクシー。事前登録した{eligible}が利用できます。"
                + _fare_text(cfg),
                3,
            ]
        ],
    )
    files["calendar.txt"] = _csv(
        [
            "service_id",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
            "start_date",
            "end_date",
        ],
        [
            [sid, *[1 if d in days else 0 for d in range(7)], f"{today:%Y%m%d}", f"{end:%Y%m%d}"]
            for sid, days, _s, _e in patterns
        ],
    )
    closed = []
    for d in sorted(cfg.closed_dates):
        if today <= d <= end:
            sid = next((p[0] for p in patterns if d.weekday() in p[1]), None)
            if sid is not None:
                closed.append([sid, f"{d:%Y%m%d}", 2])
    files["calendar_dates.txt"] = _csv(["service_id", "date", "exception_type"], closed)
    files["trips.txt"] = _csv(
        ["route_id", "service_id", "trip_id", "trip_headsign"],
        [[ROUTE_ID, sid, f"{sid}-{zone}", "区域内 予約制"] for sid, _d, _s, _e in patterns],
    )
    st_rows = []
    for sid, _days, start, end_t in patterns:
        trip = f"{sid}-{zone}"
        window = [_hms(start), _hms(end_t)]
        # the GTFS-Flex pattern for travel within one zone: a pickup row and a drop-off row
        st_rows.append([trip, 1, zone, *window, 2, 1, BOOKING_RULE_ID, BOOKING_RULE_ID])
        st_rows.append([trip, 2, zone, *window, 1, 2, BOOKING_RULE_ID, BOOKING_RULE_ID])
    files["stop_times.txt"] = _csv(
        [
            "trip_id",
            "stop_sequence",
            "location_id",
            "start_pickup_drop_off_window",
            "end_pickup_drop_off_window",
            "pickup_type",
            "drop_off_type",
            "pickup_booking_rule_id",
            "drop_off_booking_rule_id",
        ],
        st_rows,
    )
    message = (
        f"当日の予約制です。乗りたい時刻の{lead}分前までに、テレビ・スマートフォン"
        + (f"、または電話（{phone}）" if phone else "")
        + "で予約してください。"
    )
    files["booking_rules.txt"] = _csv(
        [
            "booking_rule_id",
            "booking_type",
            "prior_notice_duration_min",
            "message",
            "phone_number",
            "info_url",
        ],
        [[BOOKING_RULE_ID, 1, lead, message, phone, url]],
    )
    files["fare_attributes.txt"] = _csv(
        ["fare_id", "price", "currency_type", "payment_method", "transfers", "agency_id"],
        [[FARE_ID, cfg.fares.standard_yen, "JPY", GTFS_PAYMENT_METHOD[cfg.fares.payment], 0, cfg.id]],
    )
    files["fare_rules.txt"] = _csv(["fare_id", "route_id"], [[FARE_ID, ROUTE_ID]])
    version = hashlib.sha256(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:8]
    files["feed_info.txt"] = _csv(
        [
            "feed_publisher_name",
            "feed_publisher_url",
            "feed_lang",
            "feed_start_date",
            "feed_end_date",
            "feed_version",
        ],
        [[cfg.name, url, "ja", f"{today:%Y%m%d}", f"{end:%Y%m%d}", f"{today:%Y%m%d}-{version}"]],
    )
    names = "・".join(a.name for a in cfg.service_area)
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": zone,
                "properties": {"stop_name": f"{cfg.name} 乗合タクシー運行区域", "stop_desc": names},
                "geometry": zone_geometry(cfg),
            }
        ],
    }
    files["locations.geojson"] = json.dumps(geojson, ensure_ascii=False, indent=1).encode("utf-8")
    return files


def gtfs_zip(ctx: Dispatcher, tenant_id: str, base_url: str) -> bytes:
    """The GTFS-Flex feed as a zip (files in a fixed order, so the same day gives the same bytes)."""
    cfg = ctx.config(tenant_id)
    today = local_date(ctx.clock.now(), cfg.tz)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(gtfs_files(cfg, today, base_url).items()):
            info = zipfile.ZipInfo(name, date_time=(today.year, today.month, today.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


# ------------------------------------------------------------------------------ daily figures


def _default_range(
    ctx: Dispatcher, cfg: TenantConfig, start: date | None, end: date | None
) -> tuple[date, date]:
    """Default: the 90 days up to yesterday; at most MAX_CSV_DAYS."""
    end = end or local_date(ctx.clock.now(), cfg.tz) - timedelta(days=1)
    start = start or end - timedelta(days=89)
    check_range(start, end, MAX_CSV_DAYS)
    return start, end


def daily_stats(ctx: Dispatcher, tenant_id: str, start: date, end: date) -> list[DailyStats]:
    with Session(ctx.engine) as session:
        return list(
            session.exec(
                select(DailyStats)
                .where(
                    DailyStats.tenant_id == tenant_id,
                    col(DailyStats.service_date) >= start,
                    col(DailyStats.service_date) <= end,
                )
                .order_by(col(DailyStats.service_date))
            )
        )


def ridership_csv(
    ctx: Dispatcher, tenant_id: str, start: date | None = None, end: date | None = None
) -> bytes:
    """One row per closed service day: ridership and shopping figures (rates as fractions)."""
    cfg = ctx.config(tenant_id)
    a, b = _default_range(ctx, cfg, start, end)
    rows = []
    for d in daily_stats(ctx, tenant_id, a, b):
        rows.append(
            [
                d.service_date.isoformat(),
                *[d.ridership.get(k) for k in DAILY_COLUMNS],
                *[d.shopping.get(k) for k in SHOP_COLUMNS],
                *[d.ridership.get(k) for k in REVIEW_COLUMNS],
            ]
        )
    header = ["date", *DAILY_COLUMNS, *[f"shop_{k}" for k in SHOP_COLUMNS], *REVIEW_COLUMNS]
    return _csv(header, [["" if v is None else v for v in r] for r in rows])


# ------------------------------------------------------------------------------------ NGSI-LD


def _prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def _geo(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": geometry}


def service_area_entity(cfg: TenantConfig, base_url: str, now: datetime) -> dict[str, Any]:
    hours = []
    for i, day in enumerate(WEEKDAYS):
        h = cfg.service_hours.get(day)
        if h is not None:
            hours.append(
                {
                    "dayOfWeek": WEEKDAY_EN[i],
                    "opens": h.start.strftime("%H:%M"),
                    "closes": h.end.strftime("%H:%M"),
                }
            )
    return {
        "id": f"urn:ngsi-ld:ServiceArea:{cfg.id}",
        "type": "ServiceArea",
        "name": _prop(f"{cfg.name} 乗合タクシー運行区域"),
        "description": _prop("予約制の乗合タクシーが乗り降りできる区域。" + _fare_text(cfg)),
        "location": _geo(zone_geometry(cfg)),
        "areaServed": _prop([a.name for a in cfg.service_area]),
        "address": _prop({"addressCountry": "JP", "addressLocality": cfg.name}),
        "municipalityCode": _prop(cfg.municipality_code),
        "openingHoursSpecification": _prop(hours),
        "closedDates": _prop([d.isoformat() for d in cfg.closed_dates]),
        "bookingLeadMinutes": _prop(cfg.booking.min_lead_minutes, unitCode="MIN"),
        "fare": _prop(
            {"standard": cfg.fares.standard_yen, "companion": cfg.fares.companion_yen, "currency": "JPY"}
        ),
        "refGtfsFeed": _prop(f"{base_url.rstrip('/')}/opendata/gtfs.zip"),
        "dataProvider": _prop(cfg.name),
        "dateModified": _prop({"@type": "DateTime", "@value": now.isoformat()}),
    }


def _vehicle_status(vehicle: Vehicle, pending: bool, cfg: TenantConfig, now: datetime) -> str:
    """onRoute (in shift with stops to serve), parked (in shift, idle) or outOfService."""
    if not vehicle.active:
        return "outOfService"
    today = local_date(now, cfg.tz)
    start = at_local(today, parse_hhmm(vehicle.shift_start), cfg.tz)
    end = at_local(today, parse_hhmm(vehicle.shift_end), cfg.tz)
    if cfg.hours_on(today) is None or not start <= now <= end:
        return "outOfService"
    return "onRoute" if pending else "parked"


def vehicle_entities(ctx: Dispatcher, cfg: TenantConfig) -> list[dict[str, Any]]:
    now = ctx.clock.now()
    with Session(ctx.engine) as session:
        vehicles = session.exec(
            select(Vehicle).where(Vehicle.tenant_id == cfg.id).order_by(col(Vehicle.id))
        ).all()
        operators = {o.id: o.name for o in session.exec(select(Operator).where(Operator.tenant_id == cfg.id))}
        state = current_plan(session, cfg.id, local_date(now, cfg.tz))
    out = []
    for v in vehicles:
        status = _vehicle_status(v, bool(state.pending(id_of(v))), cfg, now)
        out.append(
            {
                "id": f"urn:ngsi-ld:Vehicle:{cfg.id}:{v.key}",
                "type": "Vehicle",
                "name": _prop(v.name or v.key),
                "fleetVehicleId": _prop(v.key),
                "vehicleType": _prop("minibus" if v.seats > 8 else "car"),
                "category": _prop(["public", "nonTracked"]),
                "vehicleSpecialUsage": _prop("taxi"),
                "serviceProvided": _prop(["urbanTransit"]),
                "serviceStatus": _prop(status, observedAt=now.isoformat()),
                "owner": _prop([operators.get(v.operator_id, "")]),
                "location": _geo(
                    {"type": "Point", "coordinates": [round(v.depot_lon, 5), round(v.depot_lat, 5)]}
                ),
                "description": _prop("位置は車庫です（運行中の位置は公開していません）。"),
                "areaServed": _prop(cfg.name),
                "dataProvider": _prop(cfg.name),
            }
        )
    return out


# key, Japanese name, process, unit code (UN/CEFACT), what it measures
KPIS: tuple[tuple[str, str, str, str, str], ...] = (
    ("trips", "乗車件数", "ridership", "C62", "completed passenger bookings of the day"),
    ("passengers", "乗車人数", "ridership", "C62", "persons carried (party sizes of completed bookings)"),
    (
        "sharing_rate",
        "乗合率",
        "ridership",
        "P1",
        "completed trips that shared the vehicle with another booking",
    ),
    ("on_time_rate", "迎車の定時率", "ridership", "P1", "vehicle arrivals by the end of the promised window"),
    ("passengers_per_vehicle_hour", "稼働1時間あたり人数", "ridership", "C62", "passengers per vehicle-hour"),
    (
        "empty_km_share",
        "空車走行の割合",
        "ridership",
        "P1",
        "share of km driven with nobody and nothing aboard",
    ),
    ("refused", "お断り件数", "ridership", "C62", "requests no vehicle could take"),
    ("orders", "買い物の注文件数", "shopping", "C62", "grocery orders delivered that day (not cancelled)"),
    (
        "drone_share",
        "ドローン配送の割合",
        "shopping",
        "P1",
        "delivered orders that reached the hall by drone",
    ),
)


def kpi_entities(cfg: TenantConfig, stats: list[DailyStats]) -> list[dict[str, Any]]:
    out = []
    for d in stats:
        start = at_local(d.service_date, time(0), cfg.tz)
        end = start + timedelta(days=1) - timedelta(seconds=1)
        for key, name, process, unit, what in KPIS:
            figures = d.ridership if process == "ridership" else d.shopping
            value = figures.get(key)
            if value is None:
                continue
            if unit == "P1":
                value = round(value * 100, 1)
            out.append(
                {
                    "id": f"urn:ngsi-ld:KeyPerformanceIndicator:{cfg.id}:{key}:{d.service_date.isoformat()}",
                    "type": "KeyPerformanceIndicator",
                    "name": _prop(name),
                    "description": _prop(what),
                    "category": _prop(["quantitative"]),
                    "process": _prop("乗合タクシー" if process == "ridership" else "買い物支援"),
                    "kpiValue": _prop(value, unitCode=unit, observedAt=end.isoformat()),
                    "calculationPeriod": _prop({"from": start.isoformat(), "to": end.isoformat()}),
                    "calculationFrequency": _prop("daily"),
                    "calculationMethod": _prop(
                        "aggregated from the service's event log; see docs/statistics.md"
                    ),
                    "organization": _prop({"name": cfg.name}),
                    "area": _prop(cfg.name),
                    "dateModified": _prop({"@type": "DateTime", "@value": d.computed_at.isoformat()}),
                }
            )
    return out


ENTITY_TYPES = ("ServiceArea", "Vehicle", "KeyPerformanceIndicator")


def ngsi_ld(
    ctx: Dispatcher, tenant_id: str, base_url: str, type_: str | None = None, day: date | None = None
) -> list[dict[str, Any]]:
    """Entities of one type (or all), each with its @context (to send as application/ld+json).

    KeyPerformanceIndicator entities are those of `day` (default: yesterday)."""
    if type_ is not None and type_ not in ENTITY_TYPES:
        raise InvalidRequest(
            f"Unknown entity type {type_!r}.", [field_error("type", f"one of {', '.join(ENTITY_TYPES)}")]
        )
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    out: list[dict[str, Any]] = []
    if type_ in (None, "ServiceArea"):
        out.append(service_area_entity(cfg, base_url, now))
    if type_ in (None, "Vehicle"):
        out += vehicle_entities(ctx, cfg)
    if type_ in (None, "KeyPerformanceIndicator"):
        day = day or local_date(now, cfg.tz) - timedelta(days=1)
        out += kpi_entities(cfg, daily_stats(ctx, tenant_id, day, day))
    return [{**e, "@context": CONTEXT} for e in out]


def ngsi_ld_entity(ctx: Dispatcher, tenant_id: str, base_url: str, entity_id: str) -> dict[str, Any]:
    parts = entity_id.split(":")
    if len(parts) < 4 or parts[:2] != ["urn", "ngsi-ld"] or parts[2] not in ENTITY_TYPES:
        raise NotFound(f"No entity {entity_id}.", code=Code.entity_not_found)
    day = None
    if parts[2] == "KeyPerformanceIndicator":
        try:
            day = date.fromisoformat(parts[-1])
            if out_of_range(day) is not None:  # no service day there: year 1 would overflow
                raise ValueError(parts[-1])
        except ValueError:
            raise NotFound(f"No entity {entity_id}.", code=Code.entity_not_found) from None
    for e in ngsi_ld(ctx, tenant_id, base_url, parts[2], day):
        if e["id"] == entity_id:
            return e
    raise NotFound(f"No entity {entity_id}.", code=Code.entity_not_found)
