"""What a stop is called: one wording of places for every page, notice and command.

A stop (where a vehicle picks up or drops off) is named, first match wins:

1. the tenant's place it was booked at (`place_id`): a hospital, a station, a community hall, a
   resident's favourite place (favourites are tenant places), or the drone base (`drones.base`);
2. the rider's home, when the stop is within `NEAR_M` metres of it;
3. the drone base or a tenant place within `NEAR_M` metres (a stop booked by coordinates);
4. else 「指定の場所」 (a point the operator typed in).

The board, the driver page, `noriai plan show`, the published manifests, the notices, the
reminders and the resident pages all name stops through `name_stop`, so they say the same.

`wait_at` is the phrase a resident reads before 「お待ちください」: 「家の前で」 only at home,
a place's `pickup_note` from the tenant file when it has one (「正面玄関前のタクシー乗り場で」),
else the place's name with where to stand (「伊那中央病院の玄関で」).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dispatcher.tenant_config import Place, TenantConfig
from routing.geo import Point, haversine_m

NEAR_M = 50.0  # metres: a stop this close to a home or a place is at it
HOME = "自宅"
HOME_POLITE = "ご自宅"  # how notices to the household say it
ELSEWHERE = "指定の場所"
StopKind = Literal["home", "place", "drone_base", "other"]
# where riders stand at a place of this kind, when the tenant file gives no pickup note
_FRONT_OF = {"station", "other"}  # 「伊那市駅の前で」; every other kind: 「…の玄関で」


@dataclass(frozen=True)
class StopName:
    """A stop's name and how residents are told to wait there."""

    name: str  # 「自宅」, 「伊那中央病院」, 「長谷ドローン基地（道の駅）」, 「指定の場所」
    kind: StopKind
    place_id: str | None  # the tenant place (or drone base) it is, None for a home or a typed point
    wait_at: str  # 「家の前で」, 「伊那中央病院の玄関で」, a pickup note, 「指定の場所で」

    @property
    def polite(self) -> str:
        """The name as the household's notices say it: 「ご自宅」 for home."""
        return HOME_POLITE if self.kind == "home" else self.name


def _wait_at(place: Place) -> str:
    if place.pickup_note:
        return place.pickup_note
    return f"{place.name}の前で" if place.kind in _FRONT_OF else f"{place.name}の玄関で"


def _of_place(cfg: TenantConfig, place: Place) -> StopName:
    base = cfg.drones.base if cfg.drones is not None else None
    kind: StopKind = "drone_base" if base is not None and place.id == base.id else "place"
    return StopName(place.name, kind, place.id, _wait_at(place))


def tenant_place(cfg: TenantConfig, place_id: str) -> Place | None:
    """A place of the tenant file by id, the drone base included."""
    p = cfg.place(place_id)
    if p is None and cfg.drones is not None and cfg.drones.base.id == place_id:
        return cfg.drones.base
    return p


def name_stop(
    cfg: TenantConfig, place_id: str | None, lat: float, lon: float, home: Point | None
) -> StopName:
    """The name of a stop at (lat, lon) degrees booked at `place_id` (None: by coordinates), for a
    rider living at `home` (None: freight, or a reader who does not know the home)."""
    if place_id:
        p = tenant_place(cfg, place_id)
        if p is not None:
            return _of_place(cfg, p)
    here = Point(lat, lon)
    if home is not None and haversine_m(home, here) < NEAR_M:
        return StopName(HOME, "home", None, "家の前で")
    candidates = ([cfg.drones.base] if cfg.drones is not None else []) + list(cfg.places)
    near = [(haversine_m(Point(p.lat, p.lon), here), p) for p in candidates]
    close = [x for x in near if x[0] < NEAR_M]
    if close:
        return _of_place(cfg, min(close, key=lambda x: x[0])[1])
    return StopName(ELSEWHERE, "other", None, f"{ELSEWHERE}で")


def navigation_url(lat: float, lon: float) -> str:
    """A link that opens turn-by-turn navigation to (lat, lon) degrees on Android and on iOS.

    Google Maps' documented cross-platform URL (`/maps/dir/?api=1&destination=LAT,LON`): Android
    opens it in the Google Maps app, iOS in the Google Maps app when installed and otherwise in
    Safari, where it shows the route and offers the app. A `geo:` URI opens nothing on iOS, and a
    maps.apple.com link opens only a web page on Android. It is a link the driver taps, not a
    resource the page loads: nothing is fetched from the internet until then."""
    return f"https://www.google.com/maps/dir/?api=1&destination={lat:.6f},{lon:.6f}&travelmode=driving"
