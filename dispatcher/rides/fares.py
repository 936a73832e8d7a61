"""The tenant's fare rule in words, and what a cancellation costs: one place for every surface.

A tenant's fares are either paid on board (`fares.payment: on_board`: the driver takes the fare,
the monthly statement holds no rides) or billed monthly (`monthly`: nothing is paid in the
vehicle, the rides are on the month's statement, collected with the cable-TV bill when the tenant
has a collector). The TV, the phone page, the operator console, the driver's manifest, the notices
and the open data all take their wording from here, so they say the same thing.

A cancellation is late when it is made less than `billing.late_cancel_minutes` before the pickup
window opens (and more than FREE_CHANGE_OF_MIND after booking); with `late_cancel_charge: fare`
it costs the ride's fare. Screens announce the fee before the cancel button is pressed
(`cancel_fee_yen`, `cancel_fee_text`). Amounts are integer yen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from dispatcher.models import Ride, RideStatus
from dispatcher.tenant_config import TenantConfig

FREE_CHANGE_OF_MIND = timedelta(minutes=5)  # a booking cancelled this soon after it was made is free

# GTFS fare_attributes.txt payment_method: 0 paid on board, 1 paid before boarding (a monthly bill
# is settled outside the vehicle: nothing is paid when boarding).
GTFS_PAYMENT_METHOD = {"on_board": 0, "monthly": 1}


def yen(amount: int) -> str:
    """500 -> '500円', 1500 -> '1,500円'."""
    return f"{amount:,}円"


def billed_with(cfg: TenantConfig) -> str:
    """Who sends the monthly bill, in words: the cable-TV company when it collects, else the town."""
    return "ケーブルテレビ料金と一緒に" if cfg.billing.collector is not None else ""


def how_paid(cfg: TenantConfig) -> str:
    """The rule alone: 「車の中でお支払いください」 or 「車の中では払いません。月末に…まとめて請求します」."""
    if cfg.fares.payment == "on_board":
        return "車の中でお支払いください"
    return f"車の中では払いません。月末に{billed_with(cfg)}まとめて請求します"


def fare_text(cfg: TenantConfig, fare_yen: int | None) -> str:
    """What a rider is told about the fare of a ride: 「料金 500円（車の中でお支払いください）」,
    「料金 500円（車の中では払いません。月末にまとめて請求します）」, or 「料金 無料」 (0 yen)."""
    if fare_yen is None:
        return ""
    if fare_yen == 0:
        return "料金 無料"
    return f"料金 {yen(fare_yen)}（{how_paid(cfg)}）"


def collect_text(cfg: TenantConfig, fare_yen: int | None) -> str:
    """What the driver does about the fare at a pickup: 「500円を受け取る」 (paid on board) or
    「料金は月末にまとめて請求」 (billed monthly: take nothing); 「料金なし」 for a free ride."""
    if not fare_yen:
        return "料金なし"
    if cfg.fares.payment == "on_board":
        return f"{yen(fare_yen)}を受け取る"
    return "料金は月末にまとめて請求"


def is_late(minutes: int, window_opens: datetime, confirmed_at: datetime, at: datetime) -> bool:
    """Whether a cancellation at `at` is late: closer than `minutes` (the tenant's
    `billing.late_cancel_minutes`; 0: never late) to the opening of the pickup window, and not a
    change of mind within FREE_CHANGE_OF_MIND of booking."""
    if minutes <= 0:
        return False
    return at > window_opens - timedelta(minutes=minutes) and at > confirmed_at + FREE_CHANGE_OF_MIND


def late_fee_yen(cfg: TenantConfig, ride: Ride, at: datetime) -> int:
    """Yen the tenant charges for cancelling `ride` at `at` by its household's choice: the ride's
    fare when the cancellation is late and the tenant charges late cancellations
    (`billing.late_cancel_charge: fare`), else 0. A waiver or a change is the caller's to check."""
    if cfg.billing.late_cancel_charge != "fare" or ride.pickup_window_start is None or not ride.fare_yen:
        return 0
    late = is_late(cfg.billing.late_cancel_minutes, ride.pickup_window_start, ride.created_at, at)
    return ride.fare_yen if late else 0


def cancel_fee_yen(cfg: TenantConfig, ride: Ride, at: datetime) -> int:
    """Yen a cancellation of `ride` at `at` would cost (0: free; only a confirmed ride can be
    cancelled)."""
    return late_fee_yen(cfg, ride, at) if ride.status == RideStatus.confirmed else 0


def cancel_fee_text(cfg: TenantConfig, fee_yen: int) -> str:
    """The warning on a cancellation's confirmation step: 「いま取り消すと、取消し料 500円が
    かかります（迎えの30分前を過ぎたため）。月末に…請求します。」, or '' when it is free."""
    if fee_yen <= 0:
        return ""
    return (
        f"いま取り消すと、取消し料 {yen(fee_yen)}がかかります"
        f"（迎えの{cfg.billing.late_cancel_minutes}分前を過ぎたため）。"
        f"月末に{billed_with(cfg)}請求します。"
    )


def cancelled_fee_text(cfg: TenantConfig, fee_yen: int, waived: bool) -> str:
    """What the notice of a cancellation says about money: 「取消し料 500円を月末に請求します。」,
    「取消し料はかかりません。」 when an operator waived it, '' when none was due."""
    if fee_yen > 0:
        return f"取消し料 {yen(fee_yen)}を月末に{billed_with(cfg)}請求します。"
    if waived:
        return "取消し料はかかりません。"
    return ""


@dataclass(frozen=True)
class Cancelled:
    """What a cancelled ride cost: the late fee that was due (`due_yen`, 0: none applied) and
    whether an operator waived it (then nothing is charged)."""

    due_yen: int
    waived: bool = False

    @property
    def charged_yen(self) -> int:
        return 0 if self.waived else self.due_yen

    @property
    def outcome(self) -> Literal["charged", "waived", "free"]:
        return "waived" if self.waived and self.due_yen > 0 else "charged" if self.due_yen > 0 else "free"


def cancelled_ride_text(cfg: TenantConfig, cancelled: Cancelled) -> str:
    """A cancelled ride's money line, in place of its fare: 「取消し料 500円（月末に…請求します）」,
    「取消し料は免除されました」 (an operator waived it) or 「取消し料はかかりません」."""
    if cancelled.outcome == "charged":
        return f"取消し料 {yen(cancelled.charged_yen)}（月末に{billed_with(cfg)}請求します）"
    return "取消し料は免除されました" if cancelled.outcome == "waived" else "取消し料はかかりません"


def fare_fields(
    cfg: TenantConfig, ride: Ride, now: datetime, cancelled: Cancelled | None = None
) -> dict[str, object]:
    """The fare and fee words a ride carries in the API (resident and operator views alike). A
    cancelled ride's `fare_text` says what the cancellation cost instead of the fare (`cancelled`:
    from its cancellation event, `dispatcher.rides.cancellation.cancellations`; None: no fee known),
    with `cancel_outcome` (charged / waived / free) and `cancelled_fee_yen` (the yen charged)."""
    fee = cancel_fee_yen(cfg, ride, now)
    gone = (cancelled or Cancelled(0)) if ride.status == RideStatus.cancelled else None
    return {
        "fare_text": fare_text(cfg, ride.fare_yen) if gone is None else cancelled_ride_text(cfg, gone),
        "fare_payment": cfg.fares.payment,
        "cancel_fee_yen": fee,
        "cancel_fee_text": cancel_fee_text(cfg, fee),
        "cancel_outcome": gone.outcome if gone else None,
        "cancelled_fee_yen": gone.charged_yen if gone else None,
    }
