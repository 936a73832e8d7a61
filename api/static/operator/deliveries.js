/* Today's deliveries on the board: sellers ready, orders by status, every flight with its status. */
"use strict";

(() => {
  const { T, el, clear, $ } = Operator;
  const hm = T.short;

  const FLIGHT_LABELS = { planned: "予定", loaded: "積込済み", departed: "飛行中", returned: "帰還", aborted: "中止→陸送" };
  const ORDER_SHORT = {
    placed: "受付", locked: "締切", picked: "集荷OK", at_base: "基地", in_flight: "飛行中",
    on_the_road: "陸送中", at_hall: "公民館", handed_over: "お届け済み", cancelled: "取消",
  };

  /* The delivery afternoon: sellers ready, orders by status, every flight with its status. */
  function renderDeliveries(d) {
    const sum = clear($("delivery-summary"));
    const list = clear($("flight-list"));
    if (!d) { sum.textContent = "買い物のサービスはありません。"; return; }
    const ready = Object.keys(d.sellers_ready).length;
    const counts = Object.keys(d.orders_by_status).map((k) => (ORDER_SHORT[k] || k) + " " + d.orders_by_status[k]);
    sum.textContent = "販売店の準備 " + ready + "/" + d.sellers.length + "　注文 " + (counts.join("・") || "なし");
    if (!d.flights.length) list.appendChild(el("li", { cls: "muted", text: "飛行の予定はありません。" }));
    d.flights.forEach((f) => {
      const landed = Object.keys(f.landed || {}).length;
      list.appendChild(el("li", { "data-id": "flight-" + f.id }, [
        el("div", { cls: "row-head" }, [
          el("span", { cls: "when", text: f.took_off ? hm(f.took_off) + " 離陸" : hm(f.departure) + " 発" }),
          el("span", { text: "第" + f.number + "便 " + (f.drone_name || f.drone) }),
          el("span", { cls: "badge" + (f.status === "aborted" ? " warn" : ""), text: FLIGHT_LABELS[f.status] || f.status }),
        ]),
        el("div", { cls: "row-info", text: "集会所・公民館 " + f.halls.length + "か所（着陸 " + landed + "）" }),
      ]));
    });
  }

  Object.assign(Operator, { renderDeliveries });
})();
