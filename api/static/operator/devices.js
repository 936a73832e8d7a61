/* The household's TV boxes: the list, revoking one, pairing a new one by the code it shows. */
"use strict";

(() => {
  const { el, clear, $, state, armedButton, busy, land, normalise, stamp, api, showError, hideError, toast } = Operator;

  function renderDevices(devices) {
    const list = clear($("device-list"));
    const live = devices.filter((d) => !d.revoked_at);
    if (!devices.length) list.appendChild(el("li", { cls: "muted", text: "この世帯のテレビは登録されていません。" }));
    devices.slice().reverse().forEach((d) => {
      const li = el("li", { cls: "device" + (d.revoked_at ? " past" : ""), "data-id": "device-" + d.id }, [
        el("div", { cls: "row-head" }, [
          el("span", { cls: "when", text: "テレビ No." + d.id }),
          d.revoked_at
            ? el("span", { cls: "badge status-cancelled", text: "取り消し済み " + stamp(d.revoked_at) })
            : el("span", { cls: "badge ok", text: "利用中" }),
        ]),
        el("div", { cls: "row-info", text:
          "登録 " + stamp(d.paired_at) + "（" + (d.paired_by || "").replace(/^user:/, "") + "）" +
          "　最後の接続 " + (d.last_seen_at ? stamp(d.last_seen_at) : "―") }),
      ]);
      if (!d.revoked_at) {
        li.firstChild.appendChild(armedButton("使えなくする", "本当に使えなくする", "/api/v1/devices/" + d.id + "/revoke", "pair-error",
          () => { toast("テレビ No." + d.id + " を使えなくしました。"); loadDevices(); },
          { cls: "small danger-quiet", "data-id": "revoke-" + d.id }));
      }
      list.appendChild(li);
    });
    $("tv").setAttribute("data-live", String(live.length));
  }

  function loadDevices() {
    const r = state.resident;
    return api("GET", "/api/v1/devices?household_id=" + r.household_id).then(
      (devices) => { if (state.resident && state.resident.id === r.id) renderDevices(devices); },
      (err) => showError("pair-error", err)
    );
  }

  $("pair-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    hideError("pair-error");
    const code = normalise($("pair-code").value).replace(/[\s-]/g, "");
    if (!/^\d{6}$/.test(code)) { showError("pair-error", new Error("テレビの画面に出ている 6けたの番号を入れてください。")); return; }
    if (!state.resident.household_id) { showError("pair-error", new Error("この方は世帯が登録されていません。")); return; }
    busy($("pair-btn"), true);
    api("POST", "/api/v1/devices/pair", { code: code, household_id: state.resident.household_id }).then(
      (paired) => {
        $("pair-code").value = "";
        toast("テレビを登録しました。テレビにメニューが出ます。");
        // the focus on the result: the new TV in the list
        loadDevices().then(() => land($("device-list").querySelector('[data-id="device-' + paired.id + '"]')));
      },
      (err) => showError("pair-error", err)
    ).finally(() => busy($("pair-btn"), false));
  });

  Object.assign(Operator, { renderDevices });
})();
