/* Today's rides of the resident: the list with statuses, changing one (a new request with a
   reason; the old ride stays when the new one does not fit) and cancelling one with a reason. */
"use strict";

(() => {
  const { T, el, clear, $, state, button, show, land, newKey, isoToday, hhmmOf, api, showError, toast } = Operator;
  const hm = T.short, yen = T.yen;

  const RIDE_LABELS = {
    requested: "受付中",
    confirmed: "予約済み",
    vehicle_arrived: "車両到着",
    on_board: "乗車中",
    completed: "完了",
    refused: "お断り",
    cancelled: "取り消し",
    no_show: "乗車なし",
  };

  /* `quiet`: a background refresh, which leaves the list alone while a change or cancel form is open. */
  function loadRides(quiet) {
    const r = state.resident;
    if (quiet && $("ride-list").querySelector(".row-form .inline")) return Promise.resolve();
    return api("GET", "/api/v1/rides?resident_id=" + r.id + "&date=" + T.today()).then(
      (rides) => {
        if (quiet && $("ride-list").querySelector(".row-form .inline")) return;
        if (state.resident && state.resident.id === r.id) renderRides(rides);
      },
      (err) => renderRidesError(err)
    );
  }

  function renderRidesError(err) {
    const list = clear($("ride-list"));
    const li = list.appendChild(el("li", { cls: "error" }));
    showError(li, err);
  }

  /* Drawn again by the board's refresh every 15 s: the control the operator is on keeps the focus. */
  function renderRides(rides) {
    const list = $("ride-list");
    const on = list.contains(document.activeElement) ? document.activeElement.getAttribute("data-id") : null;
    clear(list);
    if (!rides.length) {
      list.appendChild(el("li", { cls: "muted", text: "今日の予約はありません。" }));
      return;
    }
    rides.sort((a, b) => (a.pickup_window.start < b.pickup_window.start ? -1 : 1));
    rides.forEach((ride) => list.appendChild(rideRow(ride)));
    if (on) land(list.querySelector('[data-id="' + on + '"]')); // a ride's row too, where an action landed
  }

  /* The fare, or for a cancelled ride what the cancellation cost: charged, waived or none applied. */
  function money(ride) {
    if (ride.status !== "cancelled") return yen(ride.fare_yen);
    if (ride.cancel_outcome === "charged") return "取消し料 " + yen(ride.cancelled_fee_yen) + "（請求）";
    return ride.cancel_outcome === "waived" ? "取消し料 免除" : "取消し料なし";
  }

  function rideRow(ride) {
    const r = state.resident;
    const status = el("span", { cls: "badge status-" + ride.status, text: RIDE_LABELS[ride.status] || ride.status });
    const head = el("div", { cls: "row-head" }, [
      el("span", { cls: "when", text: "迎え " + hm(ride.pickup_window.start) + "〜" + hm(ride.pickup_window.end) }),
      status,
    ]);
    const info = el("div", { cls: "row-info", text:
      Operator.rideEnds(ride) +
      (ride.status === "refused" ? "" : "　" + hm(ride.latest_arrival) + " までに到着　" + money(ride)) +
      (ride.party_size > 1 ? "　" + ride.party_size + "人" : "") +
      (ride.vehicle ? "　" + (state.vehicleNames[ride.vehicle] || ride.vehicle) : "") +
      "　No." + ride.id });
    const li = el("li", { cls: "ride" + (ride.status === "cancelled" || ride.status === "refused" ? " past" : ""), "data-id": "ride-" + ride.id }, [head, info]);
    if (ride.status === "confirmed") {
      const slot = el("div", { cls: "row-form" });
      const actions = el("div", { cls: "row-actions" }, [
        button("変更", () => changeForm(ride, slot), { cls: "small", "data-id": "change-" + ride.id }),
        button("取り消し", () => cancelForm(ride, slot), { cls: "small danger-quiet", "data-id": "cancel-" + ride.id }),
      ]);
      head.appendChild(actions);
      li.appendChild(slot);
    } else if (ride.status === "cancelled" && ride.cancel_outcome === "charged") {
      /* the resident cancelled late on the TV or phone: the operator may still waive the fee */
      const slot = el("div", { cls: "row-form" });
      head.appendChild(el("div", { cls: "row-actions" }, [
        button("取消し料を免除", () => waiveForm(ride, slot), { cls: "small", "data-id": "waive-" + ride.id }),
      ]));
      li.appendChild(slot);
    }
    return li;
  }

  /* Waiving a fee already charged: a reason, then a credit of the fee on this month's statement. */
  function waiveForm(ride, slot) {
    clear(slot);
    const reason = el("input", { maxlength: "500", placeholder: "免除の理由（必ず入れてください）", "aria-label": "免除の理由", cls: "reason" });
    const err = el("p", { cls: "error", role: "alert", hidden: true });
    reason.addEventListener("input", () => { err.hidden = true; });
    const go = button("免除する", () => {
      const text = reason.value.trim();
      if (!text) { err.textContent = "理由を入れてください（請求書に載ります）。"; err.hidden = false; reason.focus(); return; }
      go.disabled = true;
      api("POST", "/api/v1/rides/" + ride.id + "/waive-fee", { reason: text }).then(
        () => {
          toast("予約 No." + ride.id + " の取消し料 " + yen(ride.cancelled_fee_yen) + " を免除しました（今月の請求から差し引きます）。");
          loadRides().then(() => land($("ride-list").querySelector('[data-id="ride-' + ride.id + '"]')));
        },
        (e) => {
          showError(err, e);
          go.disabled = false;
          go.focus();
        }
      );
    }, { cls: "small", "data-id": "waive-confirm" });
    slot.appendChild(el("div", { cls: "inline" }, [reason, go, button("やめる", () => closeForm(slot, "waive-" + ride.id), { cls: "quiet small" })]));
    slot.appendChild(err);
    reason.focus();
  }

  /* The booking confirmation no longer holds once that ride was changed or cancelled. */
  function forget(rideId) {
    const res = $("quote-result");
    if (res.getAttribute("data-ride") === String(rideId)) {
      show(res, false);
      res.removeAttribute("data-ride");
    }
  }

  /* やめる: the form goes, the focus goes back to the button that opened it. */
  function closeForm(slot, opener) {
    clear(slot);
    land(slot.parentNode.querySelector('[data-id="' + opener + '"]'));
  }

  function cancelForm(ride, slot) {
    clear(slot);
    const reason = el("input", { list: "reasons", maxlength: "500", placeholder: "取り消しの理由（必ず入れてください）", "aria-label": "取り消しの理由", cls: "reason" });
    const err = el("p", { cls: "error", role: "alert", hidden: true });
    reason.addEventListener("input", () => { err.hidden = true; });
    /* A late cancellation costs a fee: say so, with the amount, and let the operator waive it. */
    const fee = el("p", { cls: "warn-text strong", "data-id": "cancel-fee", hidden: true });
    const waive = el("input", { type: "checkbox", "data-id": "waive-fee" });
    const waiver = el("label", { cls: "inline", hidden: true }, [waive, "取消し料をとらない（免除の理由を上の欄に）"]);
    let due = 0;
    const showFee = (r) => {
      due = r.cancel_fee_yen || 0;
      fee.textContent = r.cancel_fee_text || "";
      fee.hidden = waiver.hidden = !due;
    };
    showFee(ride);
    api("GET", "/api/v1/rides/" + ride.id).then(showFee, () => {}); // the fee as of now, not of the list
    const go = button("取り消す", () => {
      const text = reason.value.trim();
      if (!text) { err.textContent = "理由を入れてください（記録に残ります）。"; err.hidden = false; reason.focus(); return; }
      go.disabled = true;
      const waived = due > 0 && waive.checked;
      /* the fee shown goes along: when the fee due has changed since (the cut-off passed), nothing is
         cancelled, and the new fee is shown for the operator to decide again */
      api("POST", "/api/v1/rides/" + ride.id + "/cancel", { reason: text, fee_waived: waived, expected_fee_yen: due }).then(
        () => {
          const money = waived ? "取消し料は免除しました。" : due > 0 ? "取消し料 " + yen(due) + " は月末の請求に入ります。" : "";
          toast("予約 No." + ride.id + " を取り消しました。" + money);
          forget(ride.id);
          loadRides().then(() => land($("ride-list").querySelector('[data-id="ride-' + ride.id + '"]')));
          Operator.refreshBoard();
        },
        (e) => {
          if (e.data && e.data.code === "ride.fee_changed") showFee(e.data);
          showError(err, e);
          go.disabled = false;
          go.focus();
        }
      );
    }, { cls: "danger small", "data-id": "cancel-confirm" });
    slot.appendChild(el("div", { cls: "inline" }, [reason, go, button("やめる", () => closeForm(slot, "cancel-" + ride.id), { cls: "quiet small" })]));
    slot.appendChild(fee);
    slot.appendChild(waiver);
    slot.appendChild(err);
    reason.focus();
  }

  function changeForm(ride, slot) {
    clear(slot);
    const name = "chg-" + ride.id;
    const pickup = el("input", { type: "radio", name: name, value: "pickup", checked: true });
    const arrive = el("input", { type: "radio", name: name, value: "arrive" });
    const time = el("input", { type: "time", step: "300", "aria-label": "新しい時刻", value: hhmmOf(ride.pickup_window.start), cls: "time" });
    const reason = el("input", { list: "reasons", maxlength: "500", placeholder: "変更の理由（必ず入れてください）", "aria-label": "変更の理由", cls: "reason" });
    const err = el("p", { cls: "error", role: "alert", hidden: true });
    const alts = el("div", { cls: "alts" });
    reason.addEventListener("input", () => { err.hidden = true; });
    let changeKey = newKey(); // kept while an answer is lost on the network, so a retry cannot book twice
    const go = button("変更する", () => {
      const text = reason.value.trim();
      err.hidden = true;
      clear(alts);
      if (!/^\d\d:\d\d$/.test(time.value)) { err.textContent = "新しい時刻を入れてください。"; err.hidden = false; return; }
      if (!text) { err.textContent = "理由を入れてください（記録に残ります）。"; err.hidden = false; reason.focus(); return; }
      const req = {
        resident_id: ride.resident_id,
        origin: ride.origin.place_id ? { place_id: ride.origin.place_id } : { lat: ride.origin.lat, lon: ride.origin.lon },
        destination: ride.destination.place_id ? { place_id: ride.destination.place_id } : { lat: ride.destination.lat, lon: ride.destination.lon },
        party_size: ride.party_size,
        wheelchair: ride.wheelchair,
      };
      req[arrive.checked ? "arrive_by" : "pickup_after"] = isoToday(time.value);
      go.disabled = true;
      api("POST", "/api/v1/rides/" + ride.id + "/change", { request: req, reason: text }, { "Idempotency-Key": changeKey }).then(
        (nr) => {
          toast("変更しました：新しい迎え " + hm(nr.pickup_window.start) + "〜" + hm(nr.pickup_window.end) + "（予約番号 " + nr.id + "）");
          forget(ride.id);
          loadRides().then(() => land($("ride-list").querySelector('[data-id="ride-' + nr.id + '"]')));
          Operator.refreshBoard();
        },
        (e) => {
          go.disabled = false;
          go.focus();
          if (e.status) changeKey = newKey(); // a definite answer: the next try is a new request
          showError(err, e, e.status === 409 ? "　元の予約はそのままです。" : "");
          (e.data.alternatives || []).forEach((a, i) => {
            alts.appendChild(button("迎え " + hm(a.pickup_window.start) + "〜" + hm(a.pickup_window.end), () => {
              pickup.checked = true;
              time.value = hhmmOf(a.pickup_after);
            }, { cls: "alt small", "data-id": "change-alt-" + i }));
          });
        }
      );
    }, { cls: "primary small", "data-id": "change-confirm" });
    slot.appendChild(el("div", { cls: "inline" }, [
      el("label", { cls: "radio" }, [pickup, " 迎え"]),
      el("label", { cls: "radio" }, [arrive, " 到着"]),
      time,
    ]));
    slot.appendChild(el("div", { cls: "inline" }, [reason, go, button("やめる", () => closeForm(slot, "change-" + ride.id), { cls: "quiet small" })]));
    slot.appendChild(err);
    slot.appendChild(alts);
    time.focus();
  }

  Object.assign(Operator, { loadRides });
})();
