/* Watch-over alerts on the board: a household's TV silent too long. Escalated ones (the family did
   not answer) raise a banner over every tab until an operator deals with them. */
"use strict";

(() => {
  const { el, clear, $, button, land, stamp, api, showError, selectTab } = Operator;

  $("watch-banner-open").addEventListener("click", () => selectTab("board"));

  /* Drawn again at every refresh of the board (15 s): the control the operator is on keeps the focus;
     an alert just answered lands it on the list's heading. */
  function renderWatch(alerts) {
    const list = $("watch-list");
    const on = list.contains(document.activeElement) ? document.activeElement.getAttribute("data-id") : null;
    clear(list);
    if (!alerts.length) list.appendChild(el("li", { cls: "muted", text: "ありません。" }));
    alerts.forEach((a) => {
      const status = a.acknowledged ? "確認済み" : a.escalated ? "ご家族から返事なし" : "ご家族に連絡済み";
      list.appendChild(el("li", { "data-id": "watch-" + a.id, cls: a.escalated && !a.acknowledged ? "late" : "" }, [
        el("div", { cls: "row-head" }, [
          el("span", { cls: "badge " + (a.escalated && !a.acknowledged ? "warn" : "caution"), text: status }),
          button(a.residents.join("・") || "世帯 " + a.household_id, () => {
            fetchHousehold(a.household_id);
          }, { cls: "link", "data-id": "watch-open-" + a.id }),
        ]),
        el("div", { cls: "row-info", text: "テレビ最終利用 " + stamp(a.inactive_since) + "　電話 " + (a.phone || "―") }),
        el("div", { cls: "row-info", text: "ご家族: " + (a.contacts.map((c) => c.name + (c.relation ? "（" + c.relation + "）" : "")).join("、") || "登録なし") }),
        a.acknowledged ? null : button("確認した", () => {
          api("POST", "/api/v1/watch/alerts/" + a.id + "/ack", { note: "" }).then(
            () => Operator.refreshBoard().then(() => land($("watch-heading"))),
            (err) => showError("board-error", err)
          );
        }, { cls: "small", "data-id": "watch-ack-" + a.id }),
      ]));
    });
    if (on) land(list.querySelector('[data-id="' + on + '"]'));
    const open = alerts.filter((a) => a.escalated && !a.acknowledged);
    $("watch-banner-text").textContent = open.length
      ? "見守り：ご家族から返事がありません（" + open.length + "件）。本人かご家族に電話してください。"
      : "";
    $("watch-banner").hidden = !open.length;
  }

  function fetchHousehold(householdId) {
    return api("GET", "/api/v1/residents?limit=500").then((list) => {
      const r = list.find((x) => x.household_id === householdId);
      if (r) { selectTab("residents"); Operator.openResident(r.id); }
    });
  }

  Object.assign(Operator, { renderWatch });
})();
