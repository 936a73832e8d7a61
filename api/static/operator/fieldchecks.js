/* The board's 「確認が必要な記録」: drivers' reports that cannot be true (a pickup long before its
   window, a drop-off sooner than the drive allows, a position jump faster than driving). They were
   accepted, and stay out of the statistics until the operator, having asked the driver, confirms
   the time (「この時刻で正しい」) or corrects it (「時刻を直す」); a position is confirmed or left
   out (「この位置は使わない」). Every decision is an event on the server; the driver's report stays.
   The list is redrawn only when its flags change, so a time being typed survives the board's
   15-second refresh. */
"use strict";

(() => {
  const { T, el, clear, $, api, showError, hideError, button } = Operator;
  const hm = T.short;
  let shown = null; // the ids on screen, joined

  const REPORT = { picked_up: "乗車の報告", dropped_off: "降車の報告", position: "位置の報告" };

  function what(x) {
    if (x.check === "pickup_early") {
      const w = x.pickup_window || {};
      return "迎えの時間 " + hm(w.start) + "〜" + hm(w.end) + " より " + x.minutes_early + "分早い乗車です。";
    }
    if (x.check === "dropoff_too_soon") {
      // the pickup may have been corrected since: the gap as it stands now
      const gap = Math.round((Date.parse(x.reported_at) - Date.parse(x.picked_up_at)) / 6000) / 10;
      const road = "（車で少なくとも約 " + Math.round(x.direct_minutes) + "分かかる道のりです）。";
      return gap < 0
        ? "乗車 " + hm(x.picked_up_at) + " より前の降車です" + road
        : "乗車 " + hm(x.picked_up_at) + " から " + gap + "分で降車しています" + road;
    }
    return "前の報告から " + x.minutes + "分で " + x.km + "km 離れた位置です" +
      (x.speed_kmh ? "（時速 約" + x.speed_kmh + "km）。" : "。");
  }

  /* The ISO time of "HH:MM" on the flag's service day, with the offset the server used. */
  function isoOn(x, hhmm) {
    return x.service_date + "T" + hhmm + ":00" + x.reported_at.slice(-6);
  }

  /* `field`: the time input of a correction. A refusal (e.g. a time no driver could have tapped,
     with the time that would do) is said under the heading and the focus goes back to the
     field, marked invalid, so the operator types the time again; else to the pressed button. */
  function send(x, body, btn, done, field) {
    btn.disabled = true;
    return api("POST", "/api/v1/field-flags/" + x.id + "/review", body).then(
      () => {
        hideError("flags-error");
        Operator.toast(done);
        shown = null;
        return Operator.refreshBoard().then(() => $("flags-heading").focus());
      },
      (err) => {
        btn.disabled = false;
        showError("flags-error", err);
        const back = field || btn;
        if (field) {
          field.setAttribute("aria-invalid", "true");
          field.setAttribute("aria-describedby", "flags-error");
        }
        back.focus();
      }
    );
  }

  function armed(label, armedLabel, onGo, id) {
    const b = button(label, () => {
      if (b.getAttribute("data-armed") !== "1") {
        b.setAttribute("data-armed", "1");
        b.textContent = armedLabel;
        return;
      }
      onGo(b);
    }, { cls: "small", "data-id": id });
    return b;
  }

  function item(x) {
    const ride = x.ride_id !== null;
    const who = ride ? "No." + x.ride_id + " " + (x.kind === "freight" ? "荷物" : (x.rider || "―")) : x.vehicle;
    const day = x.service_date && x.service_date !== T.today() ? +x.service_date.slice(5, 7) + "/" + +x.service_date.slice(8, 10) + " " : "";
    const actions = el("div", { cls: "inline" });
    const li = el("li", { "data-id": "flag-" + x.id }, [
      el("div", { cls: "row-head" }, [
        el("span", { cls: "badge warn", text: "確認が必要" }),
        el("strong", { text: who }),
      ]),
      el("div", { cls: "row-info", text: REPORT[x.report] + " " + day + hm(x.reported_at) + "（" + x.vehicle + "）" }),
      el("div", { cls: "row-info", text: what(x) }),
      actions,
    ]);
    if (!ride) {
      actions.appendChild(armed("この位置で正しい", "「正しい」で確定", (b) =>
        send(x, { decision: "confirmed" }, b, "位置の報告を確認しました。"), "flag-confirm-" + x.id));
      actions.appendChild(armed("この位置は使わない", "「使わない」で確定", (b) =>
        send(x, { decision: "discarded" }, b, "この位置は集計に使いません。"), "flag-discard-" + x.id));
      return li;
    }
    actions.appendChild(armed("この時刻で正しい", "「" + hm(x.reported_at) + " で正しい」で確定", (b) =>
      send(x, { decision: "confirmed" }, b, "予約 No." + x.ride_id + " の時刻を確認しました。"), "flag-confirm-" + x.id));
    const fix = el("div", { cls: "inline", hidden: true });
    const inputId = "flag-time-" + x.id;
    const input = el("input", { id: inputId, type: "time", value: x.reported_at.slice(11, 16), required: true });
    const save = button("直した時刻で確定", () => {
      if (!/^\d\d:\d\d$/.test(input.value)) {
        showError("flags-error", new Error("正しい時刻を入れてください。"));
        input.focus();
        return;
      }
      const at = isoOn(x, input.value);
      send(x, { decision: "corrected", at: at }, save,
        "予約 No." + x.ride_id + " の" + (x.report === "picked_up" ? "乗車" : "降車") + "時刻を " + hm(at) + " に直しました。", input);
    }, { cls: "small", "data-id": "flag-save-" + x.id });
    fix.appendChild(el("label", { for: inputId, text: (x.report === "picked_up" ? "乗車" : "降車") + "の正しい時刻" }));
    fix.appendChild(input);
    fix.appendChild(save);
    const open = button("時刻を直す", () => {
      fix.hidden = false;
      open.setAttribute("aria-expanded", "true");
      input.focus();
    }, { cls: "small", "data-id": "flag-fix-" + x.id, "aria-expanded": "false" });
    actions.appendChild(open);
    li.appendChild(fix);
    return li;
  }

  function renderFieldFlags(list) {
    const count = $("flags-count");
    count.textContent = list.length ? list.length + "件" : "";
    count.hidden = !list.length;
    const ids = list.map((x) => x.id).join(",");
    if (ids === shown) return; // unchanged: keep what the operator is typing
    shown = ids;
    const ul = clear($("flags-list"));
    if (!list.length) ul.appendChild(el("li", { cls: "muted", text: "ありません。" }));
    list.forEach((x) => ul.appendChild(item(x)));
  }

  Object.assign(Operator, { renderFieldFlags });
})();
