/* TV boxes waiting for pairing (the tab テレビの登録待ち): how many wait and which, removing one,
   or all of them after a flood of fake boxes (every removal is an event on the server). A real box
   among them asks again by itself and shows a new code. */
"use strict";

(() => {
  const { el, clear, $, button, stamp, api, showError, hideError, toast, busy, land } = Operator;

  /* A button that asks once more ("本当に…") before it sends DELETE `path`. */
  function armedDelete(label, armedLabel, path, done, attrs) {
    const b = button(label, () => {
      if (b.getAttribute("data-armed") !== "1") {
        b.setAttribute("data-armed", "1");
        b.textContent = armedLabel;
        return;
      }
      busy(b, true);
      hideError("tvqueue-error");
      api("DELETE", path).then(done, (err) => { busy(b, false); showError("tvqueue-error", err); b.focus(); });
    }, attrs);
    return b;
  }

  let order = []; // the ids of the boxes on screen

  function render(q) {
    order = q.devices.map((d) => d.id);
    $("tvqueue-summary").textContent = q.waiting + "台が登録待ち（" + q.limit + "台まで）";
    $("tvqueue-summary").className = q.waiting >= q.limit ? "badge warn" : "";
    $("tvqueue-view").setAttribute("data-waiting", String(q.waiting));
    const rows = clear($("tvqueue-rows"));
    if (!q.devices.length) {
      rows.appendChild(el("tr", {}, [el("td", { colspan: "5", cls: "muted empty-row", text: "登録を待っているテレビはありません。" })]));
    }
    q.devices.forEach((d) => {
      rows.appendChild(el("tr", { "data-id": "waiting-" + d.id }, [
        el("td", { text: "テレビ No." + d.id }),
        el("td", { text: stamp(d.created_at) }),
        el("td", { text: d.last_seen_at ? stamp(d.last_seen_at) : "―" }),
        el("td", { text: d.showing_code ? "表示中（" + stamp(d.code_expires_at) + " まで）" : "期限切れ" }),
        el("td", {}, [armedDelete("取り消す", "本当に取り消す", "/api/v1/devices/waiting/" + d.id,
          () => {
            const before = order.slice();
            toast("テレビ No." + d.id + " の登録待ちを取り消しました。");
            loadWaiting().then(() => landAfter(d.id, before));
          },
          { cls: "small danger-quiet", "data-id": "remove-" + d.id })]),
      ]));
    });
    const all = $("tvqueue-clear");
    all.disabled = !q.waiting;
    all.removeAttribute("data-armed");
    all.textContent = "登録待ちをすべて取り消す";
  }

  /* After a box is removed the list is drawn again: the focus goes to the 取り消す of the box that
     followed it (else the one before), else to the count, never to the page's top. */
  function landAfter(id, before) {
    const i = before.indexOf(id);
    const pick = [...before.slice(i + 1), ...before.slice(0, Math.max(i, 0)).reverse()]
      .map((x) => document.querySelector('#tvqueue-rows [data-id="remove-' + x + '"]'))
      .find((b) => b);
    land(pick || $("tvqueue-summary"));
  }

  function loadWaiting() {
    hideError("tvqueue-error");
    return api("GET", "/api/v1/devices/waiting").then(render, (err) => showError("tvqueue-error", err));
  }

  $("tvqueue-refresh").addEventListener("click", loadWaiting);
  $("tvqueue-clear").addEventListener("click", () => {
    const b = $("tvqueue-clear");
    if (b.getAttribute("data-armed") !== "1") {
      b.setAttribute("data-armed", "1");
      b.textContent = "本当にすべて取り消す（" + $("tvqueue-view").getAttribute("data-waiting") + "台）";
      return;
    }
    busy(b, true);
    hideError("tvqueue-error");
    api("DELETE", "/api/v1/devices/waiting").then(
      (r) => {
        busy(b, false);
        toast(r.removed + "台の登録待ちを取り消しました。");
        return loadWaiting().then(() => land($("tvqueue-summary"))); // the count, now 0
      },
      (err) => { busy(b, false); showError("tvqueue-error", err); b.focus(); }
    );
  });

  Object.assign(Operator, { loadWaiting });
})();
