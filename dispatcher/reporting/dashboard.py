"""The municipality dashboard's tables: the statistics of a date range as labelled tables.

One definition serves the page (`/municipality`), the CSV and .xlsx exports and the monthly report,
so every place shows the same numbers. Values stay numbers (rates as fractions 0..1, money in yen);
`kind` tells how to show them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

from dispatcher.context import Dispatcher
from dispatcher.reporting.stats import Facts, Group, load_facts, ridership_from, shopping_from

Kind = Literal["text", "int", "float", "rate", "yen"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = ""
    kind: Kind = "int"


PERIOD = Column("label", "期間", kind="text")
RIDERSHIP = (
    Column("trips", "乗車件数", "件"),
    Column("passengers", "乗車人数", "人"),
    Column("riders", "利用者数", "人"),
    Column("sharing_rate", "乗合率", "%", "rate"),
    Column("on_time_rate", "迎車の定時率", "%", "rate"),
    Column("wait_minutes_mean", "希望時刻からの待ち（平均）", "分", "float"),
    Column("ride_minutes_mean", "乗車時間（平均）", "分", "float"),
    Column("detour_factor", "直行比（乗車時間÷直行時間）", "倍", "float"),
    Column("vehicle_hours", "車両稼働時間", "時間", "float"),
    Column("passengers_per_vehicle_hour", "稼働1時間あたり人数", "人", "float"),
    Column("km", "走行距離", "km", "float"),
    Column("empty_km_share", "空車走行の割合", "%", "rate"),
    Column("requests", "予約の申込み", "件"),
    Column("cancelled", "取消し", "件"),
    Column("no_shows", "不在（乗車なし）", "件"),
    Column("refused", "お断り", "件"),
)
BY_PERSON = (
    Column("riders", "利用者数", "人"),
    Column("trips", "乗車件数", "件"),
    Column("passengers", "乗車人数", "人"),
)
SHOPPING = (
    Column("orders", "注文件数", "件"),
    Column("households", "注文世帯数", "世帯"),
    Column("items", "品数", "点"),
    Column("sales_yen", "売上", "円", "yen"),
    Column("by_drone", "ドローン配送", "件"),
    Column("by_ground", "陸送", "件"),
    Column("drone_share", "ドローンの割合", "%", "rate"),
    Column("on_time_delivery_rate", "期限内の配達率", "%", "rate"),
    Column("cancelled_orders", "取消し", "件"),
)
SHOPPING_AREA = (
    Column("households", "注文世帯数", "世帯"),
    Column("orders", "注文件数", "件"),
    Column("items", "品数", "点"),
    Column("sales_yen", "売上", "円", "yen"),
)
SUMMARY = (
    ("registered_users", "登録利用者数", "人", "int"),
    ("active_users", "利用した人の数", "人", "int"),
    ("trips", "乗車件数", "件", "int"),
    ("passengers", "乗車人数", "人", "int"),
    ("sharing_rate", "乗合率", "%", "rate"),
    ("on_time_rate", "迎車の定時率", "%", "rate"),
    ("wait_minutes_mean", "希望時刻からの待ち（平均）", "分", "float"),
    ("detour_factor", "直行比（乗車時間÷直行時間）", "倍", "float"),
    ("passengers_per_vehicle_hour", "稼働1時間あたり人数", "人", "float"),
    ("empty_km_share", "空車走行の割合", "%", "rate"),
    ("cancelled", "取消し", "件", "int"),
    ("no_shows", "不在（乗車なし）", "件", "int"),
    ("refused", "お断り", "件", "int"),
    ("unreviewed_records", "確認待ちの記録（集計に含めず）", "件", "int"),
)
SHOPPING_SUMMARY = (
    ("members", "買い物の会員世帯", "世帯", "int"),
    ("orders", "注文件数", "件", "int"),
    ("items", "品数", "点", "int"),
    ("sales_yen", "売上", "円", "yen"),
    ("drone_share", "ドローンの割合", "%", "rate"),
    ("on_time_delivery_rate", "期限内の配達率", "%", "rate"),
)
REASONS = {"no_vehicle_available": "空き車両なし（その時間は満車）", "unknown": "理由の記録なし"}
GROUP_LABEL = {"day": "日別", "week": "週別", "month": "月別"}


def _table(
    name: str, title: str, first: Column, columns: tuple[Column, ...], rows: list[dict[str, Any]]
) -> dict:
    cols = [first, *columns]
    return {
        "name": name,
        "title": title,
        "columns": [asdict(c) for c in cols],
        "rows": [
            {"values": [r.get(c.key) for c in cols], "suppressed": bool(r.get("suppressed"))} for r in rows
        ],
    }


def _summary(name: str, title: str, spec: tuple[tuple[str, str, str, str], ...], totals: dict) -> dict:
    return {
        "name": name,
        "title": title,
        "columns": [
            asdict(Column("label", "指標", kind="text")),
            asdict(Column("value", "値", kind="float")),
            asdict(Column("unit", "単位", kind="text")),
        ],
        "rows": [
            {"values": [label, totals.get(key), unit], "kinds": ["text", kind, "text"], "suppressed": False}
            for key, label, unit, kind in spec
        ],
    }


def dashboard(
    ctx: Dispatcher, tenant_id: str, start: date, end: date, group: Group = "day"
) -> dict[str, Any]:
    """Every table of the municipality dashboard for service days start..end."""
    facts = load_facts(ctx, tenant_id, start, end)
    return dashboard_from(facts, group)


def dashboard_from(facts: Facts, group: Group) -> dict[str, Any]:
    if group not in GROUP_LABEL:
        group = "day"
    ride = ridership_from(facts, group)
    by_age = ridership_from(facts, "age")
    by_area = ridership_from(facts, "area")
    shop = shopping_from(facts, group)
    shop_area = shopping_from(facts, "area")
    refused = ride["totals"]["refused_by_reason"]
    g = GROUP_LABEL[group]
    tables = [
        _summary("summary", "主な指標（乗合タクシー）", SUMMARY, ride["totals"]),
        _table("ridership", f"乗合タクシーの利用（{g}）", PERIOD, RIDERSHIP, ride["rows"]),
        _table(
            "ridership_age",
            "年齢層別の利用",
            Column("label", "年齢層", kind="text"),
            BY_PERSON,
            by_age["rows"],
        ),
        _table(
            "ridership_area", "地区別の利用", Column("label", "地区", kind="text"), BY_PERSON, by_area["rows"]
        ),
        _table(
            "refusals",
            "お断りした予約（理由別）",
            Column("label", "理由", kind="text"),
            (Column("count", "件数", "件"),),
            [{"label": REASONS.get(k, k), "count": v} for k, v in refused.items()],
        ),
        _summary("shopping_summary", "主な指標（買い物）", SHOPPING_SUMMARY, shop["totals"]),
        _table("shopping", f"買い物の注文と配達（{g}）", PERIOD, SHOPPING, shop["rows"]),
        _table(
            "shopping_area",
            "地区別の注文",
            Column("label", "地区", kind="text"),
            SHOPPING_AREA,
            shop_area["rows"],
        ),
    ]
    return {
        "tenant": facts.cfg.id,
        "municipality": facts.cfg.name,
        "from": facts.start.isoformat(),
        "to": facts.end.isoformat(),
        "group": group,
        "min_cell": ride["min_cell"],
        "generated_at": facts.now.astimezone(facts.cfg.tz).isoformat(),
        "ridership": ride,
        "shopping": shop,
        "tables": tables,
    }


def table(dash: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((t for t in dash["tables"] if t["name"] == name), None)
