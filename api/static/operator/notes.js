/* Notes on the resident for the next call. */
"use strict";

(() => {
  const { el, clear, $, state, busy, stamp, api, showError, hideError } = Operator;

  function renderNotes(notes) {
    const list = clear($("note-list"));
    if (!notes.length) list.appendChild(el("li", { cls: "muted", text: "メモはまだありません。" }));
    notes.forEach((n) => {
      list.appendChild(el("li", { "data-id": "note-" + n.id }, [
        el("div", { cls: "note-meta", text: stamp(n.at) + "　" + (n.author || "").replace(/^user:/, "") }),
        el("div", { cls: "note-text", text: n.text }),
      ]));
    });
  }

  $("note-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    hideError("note-error");
    const text = $("note-text").value.trim();
    if (!text) { showError("note-error", new Error("メモを書いてください。")); return; }
    busy($("note-add"), true);
    api("POST", "/api/v1/residents/" + state.resident.id + "/notes", { text: text }).then(
      (notes) => { $("note-text").value = ""; renderNotes(notes); },
      (err) => showError("note-error", err)
    ).finally(() => busy($("note-add"), false));
  });
  $("note-text").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); $("note-form").requestSubmit(); }
  });

  Object.assign(Operator, { renderNotes });
})();
