/* Today's board: every vehicle with its next stops and late risks, today's refused requests, the
   tab's badge, and the banner when a re-optimization failed. Refreshed every 15 s while signed in. */
"use strict";

(() => {
  const { T, el, clear, $, state, button, setServerNow, api, showError, hideError, selectTab } = Operator;
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
          el("span", { cls: "where", text: s.place_name || (s.kind === "pickup" ? "自宅など" : "指定の場所") }),
          el("span", { cls: "slack", text: "余裕 " + s.slack_minutes + "分" }),
          s.late_risk ? el("span", { cls: "badge warn", text: "遅れ注意" }) : null,
        ]));
      });
      if (!v.next_stops.length) stops.appendChild(el("li", { cls: "muted", text: "―" }));
      rows.appendChild(el("tr", { "data-id": "vehicle-" + v.key, cls: v.late_risk ? "late" : "" }, [
        el("td", {}, [el("strong", { text: v.name }), el("div", { cls: "muted small-text", text: v.key })]),
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
    if (b.refused.length) sum.appendChild(el("span", { cls: "badge caution", text: "お断り " + b.refused.length }));
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
    badge.textContent = risks ? "遅れ注意 " + risks : "";
    badge.hidden = !risks;
    Operator.renderDeliveries(b.deliveries);
    Operator.renderWatch(b.watch || []);
    renderOptimizer(b.optimizer);
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
