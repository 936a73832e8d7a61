"""Plain-Japanese messages for residents: the TV and phone pages show `detail` as it is.

The dispatcher's problems are written for staff and developers; for the resident channels they are
rewritten here into what an 80-year-old can act on, keeping the machine-readable members."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dispatcher.errors import DomainError

CALL = "わからないときは、オペレーターに電話してください。"


def _field_message(field: str, message: str) -> str | None:
    m = message.lower()
    if field in ("pickup_after", "arrive_by"):
        if "in the past" in m:
            return "その時刻は、もう過ぎています。ほかの時刻を選んでください。"
        if "today" in m:
            return "タクシーの予約は、その日の分だけです。"
        if "no service" in m:
            return "今日はタクシーが走っていません。"
        if "service hours" in m:
            return "運行時間の中で時刻を選んでください（" + message.rsplit(" ", 1)[-1] + "）。"
        if "too soon" in m:
            return "その到着時刻には間に合いません。もっと遅い時刻を選んでください。"
    if field.startswith(("origin", "destination")):
        if "outside the service area" in m:
            return "その場所は、タクシーの走る地域の外です。"
        if "same place" in m:
            return "出発と行き先が同じ場所です。"
        return "行き先がわかりません。選びなおしてください。"
    if field == "party_size":
        return "人数が多すぎます。人数を減らすか、オペレーターに電話してください。"
    if field == "resident_id":
        return "この方は、まだタクシーを使う登録がありません。" + CALL
    if field == "household_id" and "membership" in m:
        return "お買い物の会員登録がありません。" + CALL
    if field.startswith("lines"):
        return "買えない品物があります。かごを見なおしてください。"
    return None


def japanese(err: DomainError) -> DomainError:
    """The same problem with a Japanese detail."""
    reason = err.extra.get("reason")
    if err.title == "Cannot cancel":
        detail = "もう取り消しできません（締め切りを過ぎたか、準備が始まっています）。" + CALL
    elif reason == "no_vehicle_available":
        alts = err.extra.get("alternatives") or []
        detail = "その時間は、タクシーがいっぱいです。" + (
            "下の時刻なら予約できます。" if alts else "ほかの時刻を選ぶか、オペレーターに電話してください。"
        )
    elif reason == "after_cutoff":
        detail = "今日の注文は、締め切りました。次のお届け日に、また注文してください。"
    elif err.errors:
        msgs = [_field_message(e.get("field", ""), e.get("message", "")) for e in err.errors]
        known = [m for m in msgs if m]
        detail = " ".join(dict.fromkeys(known)) if known else "入力に問題があります。" + CALL
    elif err.status == 404:
        detail = "見つかりませんでした。画面を戻って、もう一度選んでください。"
    elif err.status == 409:
        detail = "いまは、その操作はできません。" + CALL
    elif any("\u3040" <= ch <= "\u30ff" for ch in err.detail):
        return err  # already Japanese
    else:
        detail = "うまくいきませんでした。もう一度ためすか、" + CALL.removeprefix("わからないときは、")
    out = DomainError(detail, err.errors, status=err.status, title=err.title, **err.extra)
    return out


@contextmanager
def in_japanese() -> Iterator[None]:
    try:
        yield
    except DomainError as e:
        raise japanese(e) from e
