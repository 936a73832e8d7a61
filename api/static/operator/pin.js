/* The phone page's PIN of the resident: its state (locked after wrong tries) and setting a new one. */
"use strict";

(() => {
  const { el, clear, $, state, busy, normalise, api, showError, hideError, toast } = Operator;

  function renderPin(pin) {
    const p = $("pin-state");
    clear(p);
    if (!pin) p.appendChild(el("span", { cls: "badge muted-badge", text: "未設定" }));
    else if (pin.locked) p.appendChild(el("span", { cls: "badge warn", text: "ロック中（" + pin.failures + "回まちがい）— 新しい番号を設定すると解除されます" }));
    else p.appendChild(el("span", { cls: "badge ok", text: "設定済み" + (pin.failures ? "（まちがい " + pin.failures + "回）" : "") }));
  }

  $("pin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    hideError("pin-error");
    const pin = normalise($("pin-input").value);
    if (!/^\d{4,8}$/.test(pin)) { showError("pin-error", new Error("4〜8けたの数字を入れてください。")); return; }
    busy($("pin-btn"), true);
    const id = state.resident.id;
    api("PUT", "/api/v1/residents/" + id + "/pin", { pin: pin }).then(
      () => {
        $("pin-input").value = "";
        toast("暗証番号を設定しました。利用者にお伝えください。");
        return api("GET", "/api/v1/residents/" + id).then((r) => { if (state.resident.id === id) renderPin(r.pin); });
      },
      (err) => showError("pin-error", err)
    ).finally(() => busy($("pin-btn"), false));
  });

  Object.assign(Operator, { renderPin });
})();
