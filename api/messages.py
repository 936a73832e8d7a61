"""Plain-Japanese texts for people, chosen by problem code (`dispatcher.errors.Code`).

Every problem document carries its `code` and `message_ja`, the text below for that code with its
parameters filled in from the problem's members (e.g. `retry_after_seconds`). Staff pages show
`message_ja` alone (never the English `detail`); the residents' endpoints (TV and phone,
RESIDENT_PATHS) answer with it as the `detail` itself, worded for an 80-year-old (TO_RESIDENTS). No text
is ever derived from the English wording, which may change. tests/test_messages.py fails for a
code without a text here.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from dispatcher.errors import Code

CALL = "わからないときは、オペレーターに電話してください。"
# The residents' endpoints (TV box, phone page, the family's acknowledgement page): their problems
# answer with the Japanese text as `detail`.
RESIDENT_PATHS = ("/api/v1/me/", "/api/v1/m/", "/api/v1/tv/", "/watch/")

# The text of every code. Parameters in braces come from the problem's members or the field error.
JA: dict[Code, str] = {
    Code.bad_request: "送られた内容を読めませんでした。画面を開きなおして、もう一度ためしてください。",
    Code.invalid_request: "入力に問題があります。赤く示された項目を直してください。",
    Code.method_not_allowed: "この操作はできません。画面を開きなおしてください。",
    Code.cross_origin: "ほかのサイトからの操作は受け付けません。Noriai の画面から操作してください。",
    Code.rate_limited: "操作が多すぎます。{retry_after_seconds}秒ほど待ってから、もう一度ためしてください。",
    Code.not_found: "見つかりませんでした。画面を戻って、もう一度選んでください。",
    Code.conflict: "いまは、その操作はできません。画面を開きなおしてください。",
    Code.forbidden: "この操作をする権限がありません。",
    Code.internal: "こちらのシステムで問題が起きました。何も変更されていません。もう一度ためしてください。",
    Code.not_signed_in: "サインインしてください。",
    Code.sign_in_failed: "ユーザー名またはパスワードが違います。{lock}",
    Code.sign_in_busy: "ただいまサインインが混み合っています。{retry_after_seconds}秒ほど待ってから、"
    "もう一度ためしてください。",
    Code.role_forbidden: "この操作は、いまサインインしている役割ではできません。",
    Code.sign_in_other_tenant: "このユーザーは{home_tenant}の職員用です。"
    "{home_tenant}の画面（/t/{home_tenant_id}/…）からサインインしてください。",
    Code.user_not_found: "その利用者（職員）は見つかりません。",
    Code.pin_sign_in_failed: "利用者番号か暗証番号がちがいます。{then}",
    Code.pin_locked: "暗証番号を{max_failures}回まちがえたため、{locked}。"
    "オペレーターに電話して、新しい暗証番号を決めてください。",
    Code.device_not_paired: "このテレビはまだ登録されていません。画面の番号をオペレーターに伝えてください。",
    Code.device_unknown: "このテレビの登録が取り消されました。新しい番号を表示します。",
    Code.device_pairing_busy: "いま登録を待っているテレビが多すぎます。"
    "少し待ってから、もう一度ためしてください。",
    Code.device_not_found: "そのテレビは見つかりません。",
    Code.device_already_revoked: "このテレビはもう取り消されています。",
    Code.family_sign_in_failed: "ログインIDかパスワードがちがいます。{then}",
    Code.family_view_only: "この方の予定は、見ることだけができます。"
    "予約や取り消しは、ご本人かオペレーターにお願いしてください。",
    Code.family_household_only: "お買い物・見守り・請求は、ご本人の世帯のテレビから使えます。"
    "ご家族の画面では使えません。",
    Code.family_choose_resident: "どなたの予定を見るか、えらんでください。",
    Code.family_not_linked: "いま、ご家族として登録されている方がいません。オペレーターに電話してください。",
    Code.family_member_not_found: "そのご家族のアカウントは見つかりません。",
    Code.family_member_ended: "このご家族のアカウントは、もう終了しています。",
    Code.family_link_not_found: "そのご家族の登録は見つかりません。",
    Code.family_already_linked: "このご家族は、この方にもう登録されています。"
    "権限を変えるときは「変更」を使ってください。",
    Code.family_link_revoked: "このご家族の登録は、もう取り消されています。",
    Code.tenant_unknown: "その市町村は見つかりません。",
    Code.household_not_found: "その世帯は見つかりません。",
    Code.household_not_yours: "この方の予約はできません。",
    Code.resident_not_found: "その利用者は見つかりません。",
    Code.ride_not_found: "その予約は見つかりません。",
    Code.ride_illegal_transition: "この予約はもう変更・取り消しできません（状態が変わっています）。",
    Code.ride_fee_not_due: "この予約には、免除する取消し料がありません"
    "（取り消されていないか、取消し料がかかっていないか、免除済みです）。",
    Code.ride_not_changeable: "この予約はもう変更・取り消しできません（状態が変わっています）。",
    Code.ride_wrong_vehicle: "この予約は、この車の担当ではありません。",
    Code.ride_not_for_review: "この予約は確認が必要な状態ではありません。画面を更新してください。",
    Code.ride_overlaps: "この方には、時間の重なる予約があります（{existing}）。"
    "同じ方は一度に一台しか乗れません。まちがいでないときだけ「それでも予約する」を押してください。",
    Code.ride_duplicate: "同じ予約がもうあります（{existing}）。二重には予約できません。",
    Code.ride_fee_changed: "取消し料が変わりました。{fee_now}。まだ取り消していません。"
    "よければ、もう一度「取り消す」を押してください。",
    Code.no_show_too_early: "まだ「乗車なし」にできません。{wait_until} まで待ってください。",
    Code.no_vehicle_available: "その時間は、タクシーがいっぱいです。{then}",
    Code.report_out_of_step: "いまはその操作ができません（予定の状態と合いません）。"
    "画面を開きなおしてください。",
    Code.arrive_first: "先に「到着」を押してください。着いてから待ち時間がすぎると「乗車なし」にできます。",
    Code.cargo_not_ready: "まだ積めません。お店の準備（集荷OK）ができていない荷物があります{orders_ja}。",
    Code.vehicle_not_found: "その車両は見つかりません。",
    Code.vehicle_not_yours: "ほかの会社の車両です。",
    Code.shopping_not_offered: "この市町村では、お買い物サービスはありません。",
    Code.order_not_found: "その注文は見つかりません。",
    Code.ordering_closed: "今日の注文は、締め切りました。次のお届け日に、また注文してください。",
    Code.order_not_cancellable: "この注文はもう取り消せません（締め切り後か、準備が始まっています）。",
    Code.order_illegal_transition: "この注文は、いまその状態にはできません。",
    Code.order_in_flight: "この荷物はまだ飛行中です。ドローンが着いてから受け渡してください。",
    Code.order_not_your_hall: "この注文は、あなたの公民館のものではありません。",
    Code.seller_not_linked: "このアカウントは、お店に結びついていません。管理者に連絡してください。",
    Code.picklist_too_early: "注文の締め切り{cutoff_ja}の前なので、まだ集荷リストは確定していません。"
    "締め切りのあとで押してください。",
    Code.picklist_already_ready: "この日の集荷OKは、もう送ってあります。",
    Code.delivery_too_early: "まだ注文の受付中です{cutoff_until}。締め切りの後に計画してください。",
    Code.flight_not_found: "その飛行は見つかりません。",
    Code.flight_illegal_step: "この飛行では、いまその操作はできません{why}。",
    Code.flight_orders_not_ready: "お店の準備（集荷OK）ができていない荷物があります{orders_ja}。"
    "まだ積めません。",
    Code.flight_landed_too_soon: "まだ{hall_name}に着陸したことにはできません。{took_off} に離陸した便は、"
    "{earliest} より前には着けません（予定の飛行 約{flight_minutes}分）。着陸してから押してください。",
    Code.billing_month_not_over: "その月はまだ終わっていません。月が終わってから締めてください。",
    Code.billing_month_closed: "その月はもう締めてあります。訂正は翌月に入ります。",
    Code.billing_month_not_closed: "その月はまだ締めていません。先に月を締めてください。",
    Code.billing_no_collector: "ケーブルテレビ会社の口座情報が設定されていません。管理者に連絡してください。",
    Code.watch_not_set_up: "この世帯は、見守りを使っていません。",
    Code.watch_link_invalid: "このリンクは使えません。",
    Code.watch_alert_not_found: "その見守りのお知らせは見つかりません。",
    Code.watch_not_a_box: "テレビの利用は、その世帯のテレビだけが知らせます。",
    Code.reminder_not_found: "そのお知らせは見つかりません。",
    Code.notice_gone: "このお知らせは、もう表示されていません。",
    Code.stats_table_not_found: "その表は見つかりません。",
    Code.entity_not_found: "そのデータは見つかりません。",
    Code.subscription_not_found: "その連携先は見つかりません。",
    Code.webhook_target_internal: "その送り先は内部のネットワークを指しています。"
    "インターネット上の送り先を指定してください。",
    Code.webhook_https_required: "個人情報を含む通知は https:// の送り先にだけ送れます。",
    Code.job_not_found: "その処理は見つかりません。",
    Code.field_required: "入力してください。",
    Code.field_invalid: "この項目を直してください。",
    Code.field_unknown: "使えない項目が含まれています。",
    Code.idempotency_key_required: "画面を開きなおして、もう一度ためしてください。",
    Code.idempotency_key_reused: "画面を開きなおして、もう一度ためしてください。",
    Code.time_in_past: "その時刻は、もう過ぎています。ほかの時刻を選んでください。",
    Code.time_not_today: "タクシーの予約は、その日の分だけです。",
    Code.time_no_service: "その日はタクシーが走っていません。",
    Code.time_outside_hours: "運行時間（{hours}）の中で時刻を選んでください。",
    Code.time_too_soon: "その到着時刻には間に合いません。"
    "もっと遅い時刻を選んでください（いちばん早くて{earliest}）。",
    Code.time_after_last_pickup: "{close} までに着く必要があるため、{then}",
    Code.time_before_first_arrival: "タクシーは {open} から走るため、"
    "着く時刻は {earliest_arrival} からです。",
    Code.period_reversed: "期間を確認してください（はじめ ≦ おわり）。",
    Code.period_too_long: "期間を確認してください（{days}日以内）。",
    Code.time_in_future: "この端末の時計が進んでいます。もう一度押してください。",
    Code.report_out_of_order: "前の報告より古い時刻の報告です。画面を開きなおしてください。",
    Code.field_flag_not_found: "その記録は見つかりません。画面を更新してください。",
    Code.field_flag_reviewed: "この記録は、もう確認済みです。画面を更新してください。",
    Code.field_flag_decision: "この記録には、その操作はできません。",
    Code.field_flag_time_needed: "直す時刻を入れてください。",
    Code.field_flag_time_future: "まだ来ていない時刻にはできません。",
    Code.field_flag_time_order: "乗った時刻は降りた時刻より前に、"
    "降りた時刻は乗った時刻より後にしてください。",
    Code.field_flag_time_other_day: "運行日（{day}）の時刻にしてください。",
    Code.field_flag_time_too_early: "迎えの時間（{window}）より{minutes_early}分も早い乗車にはできません。"
    "乗車の時刻は {earliest} からにしてください。",
    Code.field_flag_time_too_soon: "乗車 {picked_up} から降車 {dropped_off} までが短すぎます"
    "（車で約{direct_minutes}分の道のりです）。{then}",
    Code.place_outside_area: "その場所は、タクシーの走る地域の外です。",
    Code.place_same: "出発と行き先が同じ場所です。",
    Code.place_unknown: "行き先がわかりません。選びなおしてください。",
    Code.party_too_large: "人数が多すぎます。人数を減らすか、オペレーターに電話してください。",
    Code.party_no_vehicle: "この人数（車いす）で乗れる車がありません。オペレーターに電話してください。",
    Code.resident_not_registered: "この方は、まだタクシーを使う登録がありません。",
    Code.resident_not_eligible: "この方は{day_ja}タクシーの対象になっていません（{why}）。"
    "事情が変わったときは、登録の内容（証明書など）を直してください。",
    Code.resident_paused: "この方の登録は{since}から休止中です。再開してから予約してください。",
    Code.resident_ended: "この方の登録は終了しています。",
    Code.resident_duplicate_suspected: "同じ方がすでに登録されているかもしれません。"
    "一覧を確かめ、別の方のときだけ「別人として登録」を押してください。",
    Code.registration_no_taken: "登録番号 {number} はすでに使われています。",
    Code.birth_date_impossible: "生年月日がありえない日付です。",
    Code.home_outside_area: "その場所は、サービスの区域の外です。地図で場所を確かめてください。",
    Code.text_nul: "入力に使えない記号（NUL）が含まれています。入れなおしてください。",
    Code.text_control: "入力に使えない制御文字が含まれています。入れなおしてください。",
    Code.body_too_large: "送られた内容が大きすぎます（{limit_bytes}バイトまで）。"
    "小さくして送りなおしてください。",
    Code.date_out_of_range: "日付は{earliest}から{latest}までで入れてください。",
    Code.billing_month_before_service: "{month}はサービスが始まる前の月です（最初の月は{first_month}）。",
    Code.watch_away_too_far: "お出かけの期間は{max_days}日先までで入れてください。",
    Code.hall_required: "集落支援員には、担当の公民館を決めてください。",
    Code.hall_unknown: "その公民館は見つかりません。",
    Code.database_unavailable: "いま、システムが混みあっているか、点検中です。"
    "{retry_after_seconds}秒ほど待ってから、もう一度ためしてください。何も変更されていません。",
    Code.end_before_registration: "登録した日（{registered}）より前の日付は使えません。",
    Code.end_in_future: "登録の終了は、今日（{today}）かそれより前の日付で記録してください。",
    Code.evidence_age_derived: "年齢の条件は生年月日から決まります。証明として登録する必要はありません。",
    Code.evidence_category_unknown: "この市町村にない対象区分です（{category}）。",
    Code.evidence_dates: "有効期限が開始日より前になっています。",
    Code.evidence_incomplete: "対象区分の証明に足りない項目があります（日付・番号・手帳の種類・等級）。",
    Code.kana_invalid: "ふりがなは、ひらがなかカタカナで書いてください。",
    Code.coordinates_invalid: "緯度・経度を読めないか、ありえない値です（{value}）。"
    "35.8275 のように、度の小数で書いてください。",
    Code.date_unreadable: "日付を読めません（{value}）。"
    "2024-04-01、2024/4/1、R6.4.1 のように書いてください。",
    Code.import_unreadable: "ファイルを読めませんでした（{reason_ja}）。"
    "文字コード（UTF-8 か Shift_JIS）と、1行目の見出しを確かめてください。",
    Code.import_duplicate_row: "登録番号 {number} が、ファイルの中に2回以上あります（{lines}行目）。"
    "どちらも取り込んでいません。",
    Code.import_household_mismatch: "世帯番号 {household_no} の世帯の項目（{column}）が、"
    "{first_line}行目とちがいます。同じ世帯の行は、世帯の項目をそろえてください。",
    Code.export_not_encodable: "Shift_JIS で書けない文字があります（登録番号 {numbers}）。"
    "UTF-8 で書き出してください。",
    Code.change_keeps_rider: "変更では、乗る人は変えられません。",
    Code.not_a_member: "お買い物の会員登録がありません。",
    Code.product_unknown: "買えない品物があります。かごを見なおしてください。",
    Code.product_sold_out: "売り切れの品物があります。かごを見なおしてください。",
    Code.order_too_large: "品物の数が多すぎます。かごを見なおしてください。",
    Code.flight_not_there: "この飛行は、その公民館には行きません。",
    Code.flight_unknown_step: "その操作は、飛行の手順にありません。",
    Code.checklist_unconfirmed: "飛ぶ前の確認（バッテリー、天気、経路）をすべて済ませてください。",
    Code.pairing_code_unknown: "その番号を出しているテレビはありません。"
    "テレビの画面の番号を、もう一度読んでください。",
    Code.pin_format: "暗証番号は、4けたから8けたの数字にしてください。",
    Code.pin_too_easy: "推測されやすい番号です（同じ数字のくり返しや 1234 など）。別の番号にしてください。",
    Code.login_id_format: "ログインIDは、4〜64文字の半角英数字と記号（. _ - @）にしてください。",
    Code.login_id_taken: "そのログインIDは、もう使われています。別のIDにしてください。",
    Code.password_too_weak: "パスワードは8文字以上にしてください（ログインIDと同じものは使えません）。",
    Code.password_wrong: "今のパスワードがちがいます。",
    Code.membership_overlaps: "この世帯は、すでにお買い物の会員です（{period}）。"
    "新しく登録するときは、先にその会員を終了してください。",
    Code.membership_not_running: "この世帯には、終了できるお買い物の会員登録がありません。",
    Code.membership_month_closed: "{month_ja}の請求はもう締めてあります。"
    "{earliest_ja}以降の日付にしてください。",
    Code.household_no_active_member: "この世帯には登録中の方がいないため、お申し込みを受けられません。",
    Code.billing_account_not_found: "この世帯の引き落とし口座は、まだ登録されていません。",
    Code.watch_consent_missing: "見守りを始めるには、ご本人の同意"
    "（同意した日・方法・同意した方のお名前）を記録してください。",
    Code.consent_in_future: "同意した日は、今日かそれより前の日付にしてください。",
    Code.bank_unknown: "金融機関コード {bank_code} の銀行は、全銀協の一覧にありません。"
    "4けたの番号を確かめてください。",
    Code.branch_unknown: "店番号 {branch_code} の支店は、{bank_name}にありません。"
    "3けたの店番号を確かめてください。",
    Code.holder_not_kana: "口座名義は、通帳のとおりカナで入れてください（漢字は使えません）。",
    Code.holder_too_long: "口座名義が長すぎます（半角で{width}文字まで）。",
}

# Residents read some codes with a hint where to turn (the rest read as in JA).
TO_RESIDENTS: dict[Code, str] = {
    Code.conflict: "いまは、その操作はできません。" + CALL,
    Code.ride_illegal_transition: "{state_now}" + CALL,
    Code.ride_not_changeable: "いまは、その操作はできません。" + CALL,
    Code.order_not_cancellable: "もう取り消しできません（締め切りを過ぎたか、準備が始まっています）。" + CALL,
    Code.invalid_request: "入力に問題があります。" + CALL,
    Code.field_invalid: "入力に問題があります。" + CALL,
    Code.field_required: "入力に問題があります。" + CALL,
    Code.internal: "うまくいきませんでした。もう一度ためすか、オペレーターに電話してください。",
    Code.resident_not_registered: "この方は、まだタクシーを使う登録がありません。" + CALL,
    Code.resident_not_eligible: "この方は{day_ja}タクシーの対象になっていません（{why}）。" + CALL,
    Code.resident_paused: "この方の登録はいま休止中です。" + CALL,
    Code.resident_ended: "この方の登録は終了しています。" + CALL,
    Code.not_a_member: "お買い物の会員登録がありません。" + CALL,
    Code.ride_overlaps: "この方は、時間の重なるタクシーをもう予約しています（{existing}）。"
    "一度に乗れるのは一台だけです。「予約の確認」で見られます。" + CALL,
    Code.ride_duplicate: "同じタクシーを、もう予約しています（{existing}）。「予約の確認」で見られます。",
    Code.ride_fee_changed: "取消し料が変わりました。{fee_now}。まだ取り消していません。"
    "取り消すときは、もう一度「はい、取り消す」を押してください。",
}


# A flight's status in the drone operator's words (as on the drone page).
FLIGHT_STATUS_JA = {
    "planned": "予定",
    "loaded": "積み込み済み",
    "departed": "飛行中",
    "returned": "帰還済み",
    "aborted": "中止",
    "cancelled": "取り消し",
}


class _Params(dict[str, Any]):
    """Format parameters; a missing one reads as nothing rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


def text(code: str | Code, params: Mapping[str, Any], residents: bool = False) -> str:
    """The Japanese text of a code with its parameters filled in."""
    try:
        c = Code(code)
    except ValueError:
        c = Code.invalid_request
    template = (TO_RESIDENTS.get(c) if residents else None) or JA[c]
    return string.Formatter().vformat(template, (), _Params(_derived(c, params)))


def _derived(code: Code, params: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if code == Code.no_vehicle_available:
        out["then"] = (
            "下の時刻なら予約できます。"
            if params.get("alternatives")
            else "ほかの時刻を選ぶか、オペレーターに電話してください。"
        )
    if code in (Code.ride_overlaps, Code.ride_duplicate) and params.get("existing_pickup"):
        out["existing"] = f"{params['existing_pickup']} 迎え、{params.get('existing_to') or '指定の場所'}行き"
    if code == Code.ride_illegal_transition:
        out["state_now"] = (
            "このご予約はすでに取り消されています。"
            if params.get("ride_status") == "cancelled"
            else "いまは、その操作はできません。"
        )
    if code == Code.ride_fee_changed:
        fee = params.get("cancel_fee_yen") or 0
        out["fee_now"] = (
            f"いま取り消すと、取消し料 {fee:,}円がかかります" if fee else "いまは取消し料はかかりません"
        )
    if code == Code.time_after_last_pickup:
        out["then"] = (
            f"迎えは {params['last_pickup']} までです。"
            if params.get("last_pickup")
            else "この行き先へは、今日はもう迎えに行けません。"
        )
    if code == Code.pin_sign_in_failed:
        # one answer whether the resident has a PIN or not: it does not tell which
        out["then"] = (
            f"{params.get('max_failures') or 5}回続けてまちがえると、ロックされます。"
            "暗証番号がまだない方は、オペレーターに電話してください。"
        )
    if code == Code.sign_in_failed and params.get("max_failures"):
        out["lock"] = (
            f"{params['max_failures']}回続けて間違えると{params.get('lock_minutes')}分間サインインできません"
            "（管理者が解除できます）。"
        )
    if code == Code.resident_not_eligible:
        out["day_ja"] = _day_ja(params.get("day"))
        day = str(params.get("day") or "")
        out["why"] = "、".join(
            _rule_ja(part, day) for part in str(params.get("failed") or "").split(";") if part
        )
    if code == Code.resident_paused and isinstance(params.get("since"), str) and len(params["since"]) == 10:
        since = params["since"]  # "2026-11-24" -> "11月24日"
        out["since"] = f"{int(since[5:7])}月{int(since[8:10])}日"
    if code == Code.pin_locked:
        out["locked"] = "ロックしました" if params.get("just_locked") else "ロックされています"
    if code == Code.family_sign_in_failed and params.get("max_failures"):
        out["then"] = (
            f"{params['max_failures']}回続けてまちがえると、{params.get('lock_minutes')}分間サインインできません"
            "（オペレーターがパスワードを決めなおすと、すぐ使えます）。"
        )
    if code == Code.membership_overlaps:
        since, until = _date_ja(params.get("starts_on")), _date_ja(params.get("ends_on"))
        out["period"] = f"{since}から{until}まで" if until else f"{since}から"
    if code == Code.membership_month_closed:
        month = str(params.get("month") or "")
        out["month_ja"] = f"{int(month[:4])}年{int(month[5:7])}月" if len(month) == 7 else "その月"
        out["earliest_ja"] = _date_ja(params.get("earliest")) or "今月"
    if code in (Code.flight_orders_not_ready, Code.cargo_not_ready):
        orders = params.get("orders")
        numbers = "、".join(f"#{o}" for o in orders) if isinstance(orders, list) else ""
        out["orders_ja"] = f"（注文 {numbers}）" if numbers else ""
    if code in (Code.picklist_too_early, Code.delivery_too_early):
        cutoff = params.get("cutoff")
        out["cutoff_ja"] = f"（{cutoff}）" if cutoff else ""
        out["cutoff_until"] = f"（{cutoff}まで）" if cutoff else ""
    if code == Code.flight_illegal_step:
        left = params.get("hall_names_left")
        status = FLIGHT_STATUS_JA.get(str(params.get("flight_status") or ""))
        out["why"] = (
            "（まだ着陸を記録していない公民館があります: " + "、".join(map(str, left)) + "）"
            if isinstance(left, list) and left
            else f"（この便はいま「{status}」です）"
            if status
            else ""
        )
    if code == Code.field_flag_time_too_early:
        start, end = _hm(params.get("window_start")), _hm(params.get("window_end"))
        out["window"] = f"{start}〜{end}" if start and end else ""
        out["earliest"] = _hm(params.get("earliest"))
    if code == Code.field_flag_time_too_soon:
        out["picked_up"], out["dropped_off"] = _hm(params.get("picked_up")), _hm(params.get("dropped_off"))
        if params.get("latest"):
            out["then"] = f"乗車の時刻は {_hm(params['latest'])} までにしてください。"
        elif params.get("earliest"):
            out["then"] = f"降車の時刻は {_hm(params['earliest'])} からにしてください。" + (
                "まだその時刻になっていないので、すぎてから直してください。" if params.get("not_yet") else ""
            )
        else:
            out["then"] = "時刻を確かめてください。"
    if code == Code.no_show_too_early and isinstance(params.get("wait_until"), str):
        hour, minute = params["wait_until"][11:13], params["wait_until"][14:16]  # local time, with offset
        out["wait_until"] = f"{int(hour)}:{minute}"  # "2026-11-24T09:25:00+09:00" -> "9:25"
    return out


def _hm(instant: object) -> str:
    """A local ISO time -> '9:05' (no leading zero, as every page writes it); anything else -> ''."""
    if not isinstance(instant, str) or len(instant) < 16:
        return ""
    return f"{int(instant[11:13])}:{instant[14:16]}"


def _date_ja(day: object) -> str:
    """'2026-12-09' -> '2026年12月9日'; anything else -> ''."""
    if not isinstance(day, str) or len(day) != 10:
        return ""
    return f"{int(day[:4])}年{int(day[5:7])}月{int(day[8:10])}日"


def _day_ja(day: object) -> str:
    """'2026-12-09' -> '12月9日は'."""
    if not isinstance(day, str) or len(day) != 10:
        return "いま"
    return f"{int(day[5:7])}月{int(day[8:10])}日は"


def _rule_ja(part: str, ride_day: str = "") -> str:
    """One failed rule 'category|name|state|date' of an eligibility refusal, in Japanese; a date in
    another year than the ride's carries its year ('65歳以上：2031年5月2日から')."""
    _, name, state, when = (part.split("|") + ["", "", "", ""])[:4]
    day = f"{int(when[5:7])}月{int(when[8:10])}日" if len(when) == 10 else ""
    if day and when[:4] != ride_day[:4]:
        day = f"{int(when[:4])}年{day}"
    if state == "expired":
        return f"{name}：{day}で期限切れ"
    if state == "age":
        return f"{name}：{int(when[:4])}年{day}から" if day else f"{name}：年齢が足りません"
    if state == "from":
        return f"{name}：{day}から有効"
    return f"{name}：登録なし"


def message_ja(
    code: str | Code, extra: Mapping[str, Any], errors: list[dict[str, Any]], residents: bool = False
) -> str:
    """The problem's Japanese text: for refused fields, the texts of their codes (each once), else
    the text of the problem's own code."""
    if errors:
        fields = [text(e["code"], e, residents) for e in errors if e.get("code")]
        if fields and len(fields) == len(errors):
            return " ".join(dict.fromkeys(fields))
        if fields:
            return " ".join(dict.fromkeys([*fields, text(Code.field_invalid, {}, residents)]))
    return text(code, extra, residents)


def field_text(error: Mapping[str, Any], residents: bool = False) -> str:
    """The Japanese text of one field error: its code's, with its parameters (field.invalid when it
    has no code)."""
    return text(error.get("code") or Code.field_invalid, error, residents)


def for_residents(path: str) -> bool:
    """Whether a request path is one of the residents' endpoints."""
    return path.startswith(RESIDENT_PATHS) or path in ("/api/v1/me", "/api/v1/m")
