"""Publishing the day's work: every vehicle's manifest and the day's flight plans, in the morning
(everything) and after that on every real change, to partners by webhook and to taxi companies
without our pages by e-mail with a CSV.

A real change of a manifest is a stop added, removed or reordered, or a promise changed (window,
party); planned times that drift with the traffic are not (the driver's page shows them live), nor
are stops the driver has done. Flight plans change when the day is re-planned. Each publication is
recorded with its content hash (`Publication`), so running a publishing job twice sends nothing
twice, and a partner's e-mail goes out at most every EMAIL_MIN_MINUTES (with the newest state).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import id_of
from dispatcher.exports import csv_text
from dispatcher.integration.subscriptions import emit, enqueue, subscribers
from dispatcher.models import Operator, Publication, Subscription, Vehicle
from dispatcher.rides.manifests import manifest
from dispatcher.rides.plan import PlanState, current_plan
from dispatcher.shopping.delivery import flights

EMAIL_MIN_MINUTES = 15


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def manifest_digest(m: dict[str, Any]) -> str:
    """What makes a manifest different for the people who work it: which stops, in which order,
    with which promises. Done stops count as the stops they were (a pickup being done is no
    change), planned times not at all."""
    return _digest(
        [
            (
                s["ride_id"],
                s["kind"],
                s["window"],
                s["party_size"],
                s["wheelchair"],
                s["place_id"],
                s["lat"],
                s["lon"],
            )
            for s in m["stops"]
        ]
    )


class _SeenDigest(NamedTuple):
    """A vehicle's manifest digest and the sequence of stops it was computed for."""

    route: tuple[tuple[int, str], ...]
    digest: str


def _digest_of(
    ctx: Dispatcher,
    tenant_id: str,
    day: date,
    vid: int,
    state: PlanState,
    manifest_of: Callable[[int], dict[str, Any]],
) -> str:
    """A vehicle's manifest digest. What it hashes is fixed when a ride is booked (window, party,
    places), so it changes only with the vehicle's sequence of stops: while that sequence is the
    one this process last saw, the digest is reused without building the manifest."""
    route = tuple((e["ride_id"], e["kind"]) for e in state.routes.get(vid, []))
    mark = (tenant_id, f"manifest-digest/{vid}", day)
    seen = ctx.marks.get(mark)
    if isinstance(seen, _SeenDigest) and seen.route == route:
        return seen.digest
    digest = manifest_digest(manifest_of(vid))
    ctx.marks[mark] = _SeenDigest(route, digest)
    return digest


def flights_digest(day_flights: list[dict[str, Any]]) -> str:
    return _digest([(f["id"], f["drone"], f["departure"], f["halls"], f["orders"]) for f in day_flights])


def _last(session: Session, tenant_id: str, kind: str, day: date) -> dict[str, Publication]:
    out: dict[str, Publication] = {}
    for p in session.exec(
        select(Publication)
        .where(Publication.tenant_id == tenant_id, Publication.kind == kind, Publication.service_date == day)
        .order_by(col(Publication.id))
    ):
        out[p.key] = p
    return out


def started(ctx: Dispatcher, tenant_id: str, day: date) -> bool:
    """Whether the day's manifests were published (the morning publication happened)."""
    with Session(ctx.engine) as session:
        first = session.exec(
            select(Publication.id)
            .where(
                Publication.tenant_id == tenant_id,
                Publication.kind == "manifest",
                Publication.service_date == day,
            )
            .limit(1)
        ).first()
    return first is not None


def manifest_csv(manifests: list[dict[str, Any]], vehicles: dict[int, Vehicle]) -> str:
    """Manifests as CSV for a taxi company's office (UTF-8 with BOM, Japanese headers)."""
    header = [
        "日付",
        "車両",
        "順番",
        "種別",
        "予定時刻",
        "時間枠（から）",
        "時間枠（まで）",
        "人数",
        "車いす",
        "利用者",
        "電話",
        "場所",
        "緯度",
        "経度",
        "状態",
    ]
    rows = []
    for m in manifests:
        v = vehicles[m["vehicle_id"]]
        for k, s in enumerate(m["stops"], start=1):
            rows.append(
                [
                    m["date"],
                    v.name or v.key,
                    k,
                    "乗車" if s["kind"] == "pickup" else "降車",
                    s["planned_time"][11:16],
                    (s["window"]["start"] or "")[11:16],
                    (s["window"]["end"] or "")[11:16],
                    s["party_size"],
                    "○" if s["wheelchair"] else "",
                    s["rider"] or ("荷物" if s["ride_kind"] == "freight" else ""),
                    s["phone"] or "",
                    s["place_name"] or "",
                    round(s["lat"], 6),
                    round(s["lon"], 6),
                    "済" if s["done"] else "",
                ]
            )
    return csv_text(header, rows)


def publish(ctx: Dispatcher, tenant_id: str, day: date, reason: str) -> dict[str, Any]:
    """Publish what changed since the last publication of the day (everything, the first time).

    reason: "morning" (the day's first publication) or "changed". Returns what went out."""
    cfg = ctx.config(tenant_id)
    now = ctx.clock.now()
    with Session(ctx.engine, expire_on_commit=False) as session:
        vehicles = {
            id_of(v): v
            for v in session.exec(
                select(Vehicle)
                .where(Vehicle.tenant_id == tenant_id, col(Vehicle.active).is_(True))
                .order_by(col(Vehicle.id))
            )
        }
        operators = {o.id: o for o in session.exec(select(Operator).where(Operator.tenant_id == tenant_id))}
        state = current_plan(session, tenant_id, day)  # read once for every vehicle's manifest
    built: dict[int, dict[str, Any]] = {}

    def manifest_of(vid: int) -> dict[str, Any]:
        if vid not in built:
            built[vid] = manifest(ctx, tenant_id, vid, day, state)
        return built[vid]

    digests = {vid: _digest_of(ctx, tenant_id, day, vid, state, manifest_of) for vid in vehicles}
    day_flights = flights(ctx, tenant_id, day) if cfg.drones is not None else []
    out: dict[str, Any] = {"manifests": [], "flightplan": False, "emails": 0, "emails_held": 0, "webhooks": 0}
    with Session(ctx.engine, expire_on_commit=False) as session:
        last = _last(session, tenant_id, "manifest", day)
        for vid in digests:
            prev = last.get(str(vid))
            if prev is not None and prev.content_hash == digests[vid]:
                continue
            m = manifest_of(vid)
            session.add(
                Publication(
                    tenant_id=tenant_id,
                    kind="manifest",
                    service_date=day,
                    key=str(vid),
                    content_hash=digests[vid],
                    published_at=now,
                    reason=reason,
                )
            )
            v = vehicles[vid]
            payload: dict[str, Any] = {
                "date": day.isoformat(),
                "reason": reason,
                "vehicle": {
                    "id": vid,
                    "key": v.key,
                    "name": v.name,
                    "operator": operators[v.operator_id].key,
                },
                "manifest": m,
            }
            out["webhooks"] += len(
                emit(session, tenant_id, "manifest.published", payload, now, operator_id=v.operator_id)
            )
            out["manifests"].append(v.key)
        last_flights = _last(session, tenant_id, "flightplan", day).get("all")
        fd = flights_digest(day_flights)
        if (day_flights or last_flights is not None) and (
            last_flights is None or last_flights.content_hash != fd
        ):
            session.add(
                Publication(
                    tenant_id=tenant_id,
                    kind="flightplan",
                    service_date=day,
                    key="all",
                    content_hash=fd,
                    published_at=now,
                    reason=reason,
                )
            )
            payload = {
                "date": day.isoformat(),
                "reason": reason,
                "flights": [{k: f[k] for k in f if k != "path"} for f in day_flights],
            }
            out["webhooks"] += len(emit(session, tenant_id, "flightplan.published", payload, now))
            out["flightplan"] = True
        out["emails"], out["emails_held"] = _emails(
            session, tenant_id, day, reason, now, manifest_of, digests, vehicles, day_flights, fd
        )
        session.commit()
    return out


def _emails(
    session: Session,
    tenant_id: str,
    day: date,
    reason: str,
    now: datetime,
    manifest_of: Callable[[int], dict[str, Any]],
    digests: dict[int, str],
    vehicles: dict[int, Vehicle],
    day_flights: list[dict[str, Any]],
    flights_hash: str,
) -> tuple[int, int]:
    """One e-mail per partner with everything of theirs, when it differs from the last one sent and
    that one is at least EMAIL_MIN_MINUTES old (the morning's always goes). Returns (sent, held back)."""
    sent = held = 0
    last = _last(session, tenant_id, "email", day)
    subs: list[Subscription] = []
    for op_id in {v.operator_id for v in vehicles.values()}:
        subs += subscribers(session, tenant_id, "manifest.published", "email", op_id)
    subs += [s for s in subscribers(session, tenant_id, "flightplan.published", "email") if s not in subs]
    for sub in subs:
        ids = (
            [vid for vid, v in vehicles.items() if v.operator_id == sub.operator_id]
            if sub.operator_id
            else []
        )
        wants_flights = "flightplan.published" in sub.events and bool(day_flights)
        h = _digest([[digests[vid] for vid in ids], flights_hash if wants_flights else None])
        prev = last.get(f"subscription-{sub.id}")
        if prev is not None and prev.content_hash == h:
            continue
        if prev is not None and now - prev.published_at < timedelta(minutes=EMAIL_MIN_MINUTES):
            held += 1  # goes out in a later run, once the last one is old enough
            continue
        if not ids and not wants_flights:
            continue
        mine = [manifest_of(vid) for vid in ids]
        when = f"{day.month}月{day.day}日"
        attachments = []
        lines = [
            f"{when}の運行表をお送りします（{'朝の発行' if reason == 'morning' else '変更がありました'}）。",
            "",
        ]
        if mine:
            attachments.append(
                {
                    "filename": f"manifest-{day.isoformat()}.csv",
                    "content": manifest_csv(mine, vehicles),
                    "mime": "text/csv",
                }
            )
            for m in mine:
                pending = [s for s in m["stops"] if not s["done"]]
                pickups = sum(1 for s in pending if s["kind"] == "pickup")
                v = vehicles[m["vehicle_id"]]
                lines.append(f"・{v.name or v.key}: のこり {len(pending)} か所（乗車 {pickups} 件）")
        if wants_flights:
            lines.append(f"・ドローン便: {len(day_flights)} 便")
            attachments.append(
                {
                    "filename": f"flights-{day.isoformat()}.json",
                    "content": json.dumps(
                        [{k: f[k] for k in f if k != "path"} for f in day_flights],
                        ensure_ascii=False,
                        indent=1,
                    ),
                    "mime": "application/json",
                }
            )
        lines += ["", "最新の内容は添付のファイルのとおりです。このメールはのりあいから自動で送っています。"]
        subject = f"【のりあい】{when}の運行表" + ("" if reason == "morning" else "（変更）")
        session.add(
            Publication(
                tenant_id=tenant_id,
                kind="email",
                service_date=day,
                key=f"subscription-{sub.id}",
                content_hash=h,
                published_at=now,
                reason=reason,
            )
        )
        enqueue(
            session,
            sub,
            "manifest.published" if mine else "flightplan.published",
            {"subject": subject, "body": "\n".join(lines), "attachments": attachments},
            now,
            f"{day.isoformat()}-{sub.id}-{h[:12]}",
        )
        sent += 1
    return sent, held
