/* Today's board: every vehicle with its next stops and late risks, the rides to review (確認が必要:
   the pickup window passed with no tap from the driver; settled here as the driver says), today's
   refused requests, the tab's badge, when the plan was last improved, and the banner when a
   re-optimization failed. Refreshed every 15 s while signed in. */
"use strict";

(() => {
  const { T, el, clear, $, state, button, land, setServerNow, api, showError, hideError, selectTab } = Operator;
  const hm = T.short;

  $("board-refresh").addEventListener("click", () => refreshBoard());

  function refreshBoard() {
    if (!state.token) return Promise.resolve();
    return api("GET", "/api/v1/board").then(
      (b) => {
        hideError("board-error");
        renderBoard(b);
        if (state.resident && state.tab === "residents") Operator.loadRides(true); // statuses move on
      },
      (err) => showError("board-error", err)
    );
  }

  function renderBoard(b) {
    setServerNow(b.now);
    $("board-updated").textContent = hm(b.now) + " 現在（15秒ごとに更新）";
    const rows = clear($("vehicle-rows"));
    let risks = 0;
    b.vehicles.forEach((v) => {
      state.vehicleNames[v.key] = v.name;
      const flags = [];
      if (v.late_risk) flags.push(el("span", { cls: "badge warn", text: "遅れ注意" }));
      if (v.position_stale) flags.push(el("span", { cls: "badge caution", text: "位置情報が古い" }));
      if (!v.pending) flags.push(el("span", { cls: "badge muted-badge", text: "予定なし" }));
      flags.push(el("div", { cls: "muted small-text", text: "済 " + v.done + "・残 " + v.pending + (v.last_position_at ? "　位置 " + hm(v.last_position_at) : "") }));
      const stops = el("ol", { cls: "stops" });
      v.next_stops.forEach((s) => {
        if (s.late_risk) risks += 1;
        stops.appendChild(el("li", { cls: s.late_risk ? "late" : "", "data-ride": String(s.ride_id), "data-kind": s.kind }, [
          el("span", { cls: "t", text: hm(s.planned_time) }),
          el("span", { cls: "k " + s.kind, text: s.kind === "pickup" ? "乗" : "降" }),
          el("span", { cls: "who", text: s.ride_kind === "freight" ? "荷物" : (s.rider || "―") }),
          el("span", { cls: "where", text: s.place_name }), // named by the server: 自宅, a place, the drone base
          el("span", { cls: "slack", text: "余裕 " + s.slack_minutes + "分" }),
          s.late_risk ? el("span", { cls: "badge warn", text: "遅れ注意" }) : null,
        ]));
      });
      if (!v.next_stops.length) stops.appendChild(el("li", { cls: "muted", text: "―" }));
      rows.appendChild(el("tr", { "data-id": "vehicle-" + v.key, cls: v.late_risk ? "late" : "" }, [
        el("td", {}, [el("strong", { text: v.name })]), // the tenant file's name, never its id
        el("td", { text: v.operator }),
        el("td", {}, flags),
        el("td", {}, [stops]),
      ]));
    });
    const working = b.vehicles.filter((v) => v.pending).length;
    const pending = b.vehicles.reduce((a, v) => a + v.pending, 0);
    const sum = clear($("board-summary"));
    sum.appendChild(el("span", { text: "車両 " + b.vehicles.length + "台（予定あり " + working + "台）・これからの停車 " + pending }));
    if (risks) sum.appendChild(el("span", { cls: "badge warn", text: "遅れ注意 " + risks }));
    const review = b.review || [];
    if (review.length) sum.appendChild(el("span", { cls: "badge warn", text: "確認が必要 " + review.length }));
    if (b.refused.length) sum.appendChild(el("span", { cls: "badge caution", text: "お断り " + b.refused.length }));
    renderReview(review);
    Operator.renderFieldFlags(b.field_flags || []); // operator/fieldchecks.js
    const refused = clear($("refused-list"));
    if (!b.refused.length) refused.appendChild(el("li", { cls: "muted", text: "ありません。" }));
    b.refused.forEach((x) => {
      refused.appendChild(el("li", { "data-id": "refused-" + x.ride_id }, [
        el("div", { cls: "row-head" }, [
          el("span", { cls: "when", text: hm(x.at) + " 受付" }),
          x.resident_id
            ? button(x.rider || "No." + x.resident_id, () => { selectTab("residents"); Operator.openResident(x.resident_id); }, { cls: "link" })
            : el("span", { text: x.rider || "―" }),
        ]),
        el("div", { cls: "row-info", text: "希望 " + hm(x.asked_pickup_from) + " 迎え" +
          (x.alternatives.length ? "　代わりの時間 " + x.alternatives.map(hm).join("・") : "　代わりの時間なし") }),
      ]));
    });
    const badge = $("board-badge");
    const alerts = [];
    if (review.length) alerts.push("確認 " + review.length);
    if (risks) alerts.push("遅れ注意 " + risks);
    badge.textContent = alerts.join("・");
    badge.hidden = !alerts.length;
    Operator.renderDeliveries(b.deliveries);
    Operator.renderWatch(b.watch || []);
    renderOptimizer(b.optimizer);
    renderImproved(b.optimizer);
  }

  /* Rides whose pickup window passed with no tap: who to call, and the three ways to settle one.
     Each button asks once more before it sends (a wrong tap would change a rider's record). */
  const OUTCOMES = [
    ["picked_up", "乗車済み", "「乗車済み」で確定", "乗車済みにしました。"],
    ["no_show", "乗車なし", "「乗車なし」で確定", "乗車なしにしました。"],
    ["cancelled", "取り消し", "「取り消し」で確定", "取り消しました。"],
  ];
  /* Drawn again at every refresh (15 s): the button or link the operator is on keeps the focus, and
     a button asking once more keeps asking, so the refresh never takes the keyboard away. */
  function renderReview(list) {
    const ul = $("review-list");
    const armedIds = new Set([...ul.querySelectorAll('[data-armed="1"]')].map((b) => b.getAttribute("data-id")));
    const on = ul.contains(document.activeElement) ? document.activeElement.getAttribute("data-id") : null;
    clear(ul);
    const count = $("review-count");
    count.textContent = list.length ? list.length + "件" : "";
    count.hidden = !list.length;
    if (!list.length) ul.appendChild(el("li", { cls: "muted", text: "ありません。" }));
    list.forEach((x) => {
      const who = x.kind === "freight" ? "荷物" : (x.rider || "―");
      const phones = el("div", { cls: "row-info phones" }, x.phones.length
        ? x.phones.map((p, i) => el("a", { href: "tel:" + p.number, cls: "phone", text: p.label + " " + p.number, "data-id": "review-tel-" + x.ride_id + "-" + i }))
        : [el("span", { cls: "muted", text: "電話番号が登録されていません" })]);
      const actions = el("div", { cls: "inline" }, OUTCOMES.map(([outcome, label, armed, done]) => {
        const id = "review-" + outcome + "-" + x.ride_id;
        const b = button(label, () => {
          if (b.getAttribute("aria-disabled") === "true") return; // sent: waiting for the answer
          if (b.getAttribute("data-armed") !== "1") {
            b.setAttribute("data-armed", "1");
            b.textContent = armed;
            return;
          }
          b.setAttribute("aria-disabled", "true"); // busy, not disabled: a disabled button loses the focus
          api("POST", "/api/v1/rides/" + x.ride_id + "/review", { outcome: outcome }).then(
            () => {
              hideError("review-error");
              Operator.toast("予約 No." + x.ride_id + " を" + done);
              refreshBoard().then(() => land($("review-heading"))); // settled: the focus on the list
            },
            (err) => { b.removeAttribute("aria-disabled"); showError("review-error", err); }
          );
        }, { cls: outcome === "cancelled" ? "small danger-quiet" : "small", "data-id": id });
        if (armedIds.has(id)) {
          b.setAttribute("data-armed", "1");
          b.textContent = armed;
        }
        return b;
      }));
      ul.appendChild(el("li", { "data-id": "review-" + x.ride_id }, [
        el("div", { cls: "row-head" }, [
          el("span", { cls: "badge warn", text: "確認が必要" }),
          el("strong", { text: "No." + x.ride_id + " " + who }),
        ]),
        el("div", { cls: "row-info", "data-id": "review-ends-" + x.ride_id, text: x.origin_name + " → " + x.destination_name }),
        el("div", { cls: "row-info", text: "迎え " + hm(x.pickup_window.start) + "〜" + hm(x.pickup_window.end) +
          "（" + x.overdue_minutes + "分過ぎ）　" + x.vehicle + (x.operator ? "・" + x.operator : "") +
          (x.status === "vehicle_arrived" ? "　到着の報告あり" : "　報告なし") }),
        phones,
        actions,
      ]));
    });
    if (on) {
      const again = ul.querySelector('[data-id="' + on + '"]');
      if (again) again.focus({ preventScroll: true });
      else land($("review-heading")); // its ride was settled elsewhere meanwhile
    }
  }

  /* When a re-optimization last stored a better plan, and the driving time it saved. */
  const DISCARDED = {
    not_better: "これ以上よい計画はありませんでした",
    no_gain: "計算中の変更を合わせると改善になりませんでした",
    merge_conflict: "計算中に入った予約が新しい計画に入りませんでした",
  };
  function renderImproved(o) {
    const t = $("optimizer-improved");
    if (!o) { t.textContent = ""; return; }
    let text = "計画の改善はまだありません";
    if (o.last_improved_at) {
      const m = Math.round((o.last_improvement_seconds || 0) / 60);
      text = "計画の最終改善 " + hm(o.last_improved_at) + "（走行 " + (m > 0 ? "−" + m : m < 0 ? "+" + -m : "±0") + "分）";
    }
    if (o.last_run_at && o.last_outcome === "discarded" && DISCARDED[o.last_outcome_reason]) {
      text += "　最終計算 " + hm(o.last_run_at) + "：" + DISCARDED[o.last_outcome_reason];
    }
    t.textContent = text;
  }

  /* The re-optimization failed: the plan in force stays and bookings go on by insertion. A banner
     over every tab says so until a re-optimization succeeds again. */
  const OPTIMIZER_REASONS = {
    error: "計算中にエラーが起きました。",
    no_solution: "すべての約束を守れる計画が見つかりませんでした。",
    cannot_repair: "遅れている車両の約束を守れる計画がありません。",
    invalid_plan: "計算結果が検査に通りませんでした。",
    stale: "計算中に状況が変わり、結果を使えませんでした。",
  };
  function renderOptimizer(o) {
    const failed = !!o && o.status === "failed";
    $("optimizer-banner-text").textContent = failed
      ? "最適化に失敗しました（" + hm(o.last_failure_at) + "）。現在の計画のまま運行しています。"
      : "";
    $("optimizer-banner-reason").textContent = failed
      ? (OPTIMIZER_REASONS[o.reason] || "") + "予約はこれまでどおり受けられます。"
      : "";
    $("optimizer-banner").hidden = !failed;
  }

  Object.assign(Operator, { refreshBoard, renderBoard });
})();
