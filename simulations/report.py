"""The HTML report of a simulation: one self-contained file (inline CSS and SVG, no script, nothing
fetched), so it opens offline and can be mailed to a council. The report is written in English; the
town's own Japanese names in it (the town, a bus line, a place) are marked lang="ja" (WCAG 3.1.1
and 3.1.2), so that a screen reader reads each in its language."""

from __future__ import annotations

import re
from html import escape
from typing import Any

JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")

COLOURS = ("#1f5fa8", "#b3541e", "#2e7d32", "#6a3d9a", "#8a6d00")
W, H, PAD_L, PAD_B, PAD_T = 640, 260, 56, 42, 28


def _words(v: Any) -> str:
    """Text for the page, escaped; in <span lang="ja"> when it holds Japanese."""
    text = escape(str(v))
    return f'<span lang="ja">{text}</span>' if JAPANESE.search(text) else text


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.3f}".rstrip("0").rstrip(".") if abs(v) < 1 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return _words(v)


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list[float]]], unit: str = "") -> str:
    """A grouped bar chart as inline SVG (one group per label, one bar per series)."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = max(values, default=0) or 1
    n, k = max(1, len(labels)), max(1, len(series))
    group = (W - PAD_L - 10) / n
    bar = max(2.0, group * 0.8 / k)
    plot_h = H - PAD_B - PAD_T
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {W} {H}" '
        f'width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{PAD_L}" y="16" class="t">{escape(title)}</text>',
        f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - 10}" y2="{H - PAD_B}" stroke="#333"/>',
    ]
    for f in (0.5, 1.0):
        y = H - PAD_B - plot_h * f
        parts.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - 10}" y2="{y:.1f}" stroke="#ccc"/>')
        parts.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(top * f)}{unit}</text>')
    step = max(1, n // 16)
    for i, label in enumerate(labels):
        x0 = PAD_L + i * group + group * 0.1
        for j, (name, vs) in enumerate(series):
            v = vs[i] if i < len(vs) and vs[i] is not None else 0
            h = plot_h * v / top
            parts.append(
                f'<rect class="bar s{j}" x="{x0 + j * bar:.1f}" y="{H - PAD_B - h:.1f}" '
                f'width="{bar - 1:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(label)} {escape(name)}: '
                f"{_fmt(v)}{unit}</title></rect>"
            )
        if i % step == 0:
            parts.append(
                f'<text x="{x0 + k * bar / 2:.1f}" y="{H - PAD_B + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    lx = PAD_L
    for j, (name, _vs) in enumerate(series):
        if len(series) > 1:
            parts.append(
                f'<rect x="{lx}" y="{H - 14}" width="12" height="12" fill="{COLOURS[j % len(COLOURS)]}"/>'
            )
            parts.append(f'<text x="{lx + 16}" y="{H - 4}">{escape(name)}</text>')
            lx += 24 + 8 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _histogram(title: str, dist: dict[str, Any], unit: str = "") -> str:
    bins = dist.get("histogram") or []
    return bar_chart(title, [str(b["from"]) for b in bins], [("count", [b["count"] for b in bins])], unit)


def _table(columns: list[str], rows: list[dict[str, Any]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def render(sim: dict[str, Any]) -> str:
    """The report of `scenarios.simulate`'s answer as one HTML page."""
    variants = sim["variants"]
    first = variants[0]["summary"]
    tab = sim["table"]
    rows = [
        {**r, "served share": _pct(r["served share"]), "sharing rate": _pct(r["sharing rate"])}
        for r in tab["rows"]
    ]
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Simulation: {escape(sim['tenant_name'])} — {escape(sim['scenario'])}</title>",
        "<style>body{font-family:sans-serif;color:#1a1a1a;background:#fff;margin:24px;max-width:1100px}"
        "h1{font-size:24px}h2{font-size:19px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}"
        "th,td{border:1px solid #999;padding:4px 8px;text-align:right;font-size:14px}th{background:#e8eef6}"
        "td:first-child,th:first-child{text-align:left}.chart{display:block;margin:8px 0;background:#fafafa}"
        ".chart text{font-size:12px;fill:#1a1a1a}.chart .t{font-size:14px;font-weight:bold}"
        ".kpi{display:flex;gap:16px;flex-wrap:wrap}.kpi div{border:1px solid #999;padding:8px 12px}"
        ".kpi b{display:block;font-size:22px}.note{color:#333;font-size:14px}</style></head><body>",
        f"<h1>{_words(sim['tenant_name'])}: {_words(sim['scenario'])} scenario</h1>",
        f"<p class='note'>{sim['days']} day(s) from {escape(sim['from'])}, seed {sim['seed']}, "
        f"registered residents {sim['residents']:,}; re-optimization every "
        f"{_fmt(sim['options']['reoptimize_minutes'])} min "
        f"({sim['options']['solver_iterations']} iterations); "
        f"travel-time noise σ {sim['options']['noise_sigma']}. Costs: "
        f"¥{sim['costs']['vehicle_hour_yen']:,} per contracted vehicle-hour, "
        f"¥{sim['costs']['km_yen']:,} per km, "
        f"¥{sim['costs']['drone_flight_yen']:,} per drone flight.</p>",
        "<div class='kpi'>",
    ]
    d, r, c = first["demand"], first["ridership"], first["costs"]
    for label, value in (
        ("served share", _pct(d["served_share"])),
        ("sharing rate", _pct(r["sharing_rate"])),
        (
            "wait p50 / p90",
            f"{_fmt(first['distributions']['wait_minutes']['p50'])} / "
            f"{_fmt(first['distributions']['wait_minutes']['p90'])} min",
        ),
        ("ride time p50", f"{_fmt(first['distributions']['ride_minutes']['p50'])} min"),
        ("on-time pickups", _pct(r["on_time_rate"])),
        ("cost per ride", f"¥{_fmt(c['cost_per_ride_yen'])}"),
    ):
        out.append(f"<div>{escape(label)}<b>{value}</b></div>")
    out.append(
        f"</div><p class='note'>Key figures of the first variant ({_words(variants[0]['label'])}).</p>"
    )
    out.append("<h2>Variants compared</h2>")
    out.append(_table(tab["columns"], rows, "variants"))
    if len(variants) > 1:
        labels = [v["label"] for v in variants]
        out.append(
            bar_chart(
                "Served share by variant (%)",
                labels,
                [("served", [100 * (v["summary"]["demand"]["served_share"] or 0) for v in variants])],
                "%",
            )
        )
        out.append(
            bar_chart(
                "Cost per ride by variant (yen)",
                labels,
                [
                    ("gross", [v["summary"]["costs"]["cost_per_ride_yen"] or 0 for v in variants]),
                    ("net of fares", [v["summary"]["costs"]["net_cost_per_ride_yen"] or 0 for v in variants]),
                ],
            )
        )
    for v in variants:
        s = v["summary"]
        out.append(f"<h2>{_words(v['label'])}</h2>")
        hours = s["by_hour"]
        out.append(
            bar_chart(
                "Trips asked by hour of the wanted pickup",
                [f"{h['hour']}時" for h in hours],
                [("served", [h["served"] for h in hours]), ("refused", [h["refused"] for h in hours])],
            )
        )
        dist = s["distributions"]
        out.append(
            _histogram(
                "Wait: requested pickup to the vehicle's arrival (minutes, 5-min bins)", dist["wait_minutes"]
            )
        )
        out.append(_histogram("Ride time on board (minutes, 5-min bins)", dist["ride_minutes"]))
        out.append(_histogram("Door to door (minutes, 5-min bins)", dist["door_to_door_minutes"]))
        figures = [
            {"figure": k, "value": val} for k, val in s["ridership"].items() if not isinstance(val, dict)
        ]
        out.append(_table(["figure", "value"], figures))
        sh = s["shopping"]
        out.append(
            f"<p class='note'>Shopping: {sh['orders']} orders, {sh['delivered']} delivered, "
            f"{sh['by_drone']} by drone in {sh['flights']} flights, drone on-time rate "
            f"{_pct(sh['drone_on_time_rate'])}, all deliveries on time "
            f"{_pct(sh['on_time_delivery_rate'])}.</p>"
        )
        bus = s.get("bus_baseline")
        if bus:
            out.append(f"<h2>Fixed-route bus baseline: {_words(bus['line'])}</h2>")
            out.append(
                f"<p class='note'>{bus['runs_per_day']} runs a day over {bus['stops']} stops. Of "
                f"{bus['trips_asked']} trips asked, the bus could carry {bus['accessible_by_bus']} "
                f"({_pct(bus['bus_access_share'])}); the rest: "
                + ", ".join(f"{_words(k)} {n}" for k, n in bus["not_accessible_why"].items())
                + f". Door to door on the {bus['compared_trips']} trips both served: bus "
                f"{_fmt(bus['bus_door_to_door_min_mean'])} min "
                f"(walking {_fmt(bus['bus_walk_min_mean'])} min "
                f"of it), shared taxi {_fmt(bus['on_demand_door_to_door_min_mean'])} min. Bus cost "
                f"¥{bus['bus_cost_yen']:,} ({_fmt(bus['bus_cost_per_accessible_trip_yen'])} yen per trip "
                "it could "
                "carry).</p>"
            )
            n = len(bus["bus_door_to_door_min"])
            if n:
                out.append(
                    bar_chart(
                        "Door to door on the same trips (minutes)",
                        [str(i + 1) for i in range(n)],
                        [
                            ("bus", bus["bus_door_to_door_min"]),
                            ("shared taxi", bus["on_demand_door_to_door_min"]),
                        ],
                    )
                )
        out.append(_table(list(s["per_day"][0].keys()) if s["per_day"] else [], s["per_day"], "days"))
        rp = s["replay"]
        out.append(
            f"<p class='note'>Replayed in {rp['wall_seconds']} s for "
            f"{rp['service_seconds'] / 3600:.1f} service "
            f"hours: {_fmt(rp['faster_than_real_time'])} times faster than real time.</p>"
        )
    out.append("</body></html>")
    return "\n".join(out)
