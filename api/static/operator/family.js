/* The resident's family members (their own sign-in on the phone page): the links with what each may
   do and the resident's consent (when, how, who recorded it), revoking one, and a form that makes a
   family account and links it with the resident's consent. */
"use strict";

(() => {
  const { el, clear, $, state, T, armedButton, busy, land, api, showError, hideError, toast, show } = Operator;

  const PERMISSION = { view: "見るだけ", book: "見る・予約" };
  const CONSENT = { written: "書面", phone: "電話", counter: "窓口" };

  function ymd(iso) {
    return iso ? +iso.slice(5, 7) + "/" + +iso.slice(8, 10) : "";
  }

  function renderFamily(links) {
    const list = clear($("family-list"));
    if (!links.length) list.appendChild(el("li", { cls: "muted", text: "ご家族は登録されていません。" }));
    links.forEach((l) => {
      const m = l.family_member;
      const live = !l.revoked_at;
      const head = el("div", { cls: "row-head" }, [
        el("span", { cls: "when", text: m.name }),
        live
          ? el("span", { cls: "badge " + (l.permission === "book" ? "ok" : "info"), text: PERMISSION[l.permission] || l.permission })
          : el("span", { cls: "badge status-cancelled", text: "取り消し済み " + ymd(l.revoked_at) }),
        m.locked_until ? el("span", { cls: "badge warn", text: "サインイン停止中" }) : null,
      ]);
      if (live) {
        head.appendChild(armedButton("取り消す", "本当に取り消す", "/api/v1/family-links/" + l.id + "/revoke", "family-error",
          () => {
            toast(m.name + " さんの登録を取り消しました。");
            // the row drawn again (取り消し済み): the focus on it, not on the page's top
            loadFamily(state.resident, false).then(() => land($("family-list").querySelector('[data-id="family-' + l.id + '"]')));
          },
          { cls: "small danger-quiet", "data-id": "family-revoke-" + l.id }));
      }
      list.appendChild(el("li", { cls: live ? "" : "past", "data-id": "family-" + l.id }, [
        head,
        el("div", { cls: "row-info", text:
          "ID " + m.login_id + (m.phone ? "　電話 " + m.phone : "") +
          "　同意 " + ymd(l.consent_on) + " " + (CONSENT[l.consent_method] || l.consent_method) +
          "（" + l.recorded_by.replace(/^user:/, "") + "）" }),
      ]));
    });
  }

  /* Called by resident.js whenever a resident is opened (changed: another resident than before). */
  function loadFamily(r, changed) {
    if (changed) {
      hideError("family-error");
      closeForm();
    }
    return api("GET", "/api/v1/residents/" + r.id + "/family").then(
      (links) => { if (state.resident && state.resident.id === r.id) renderFamily(links); },
      (err) => showError("family-error", err)
    );
  }

  /* The form closed from within (やめる, or registered): the focus goes back to the button that opened it. */
  function closeForm() {
    const within = $("family-form").contains(document.activeElement);
    show($("family-form"), false);
    show($("family-open"), true);
    ["family-name", "family-login", "family-password"].forEach((id) => { $(id).value = ""; });
    if (within) land($("family-open"));
  }

  $("family-open").addEventListener("click", () => {
    show($("family-form"), true);
    show($("family-open"), false);
    $("family-permission").value = "view";
    $("family-consent-method").value = "written";
    $("family-consent-on").value = T.today(); // the server's day, in the town's zone
    $("family-name").focus();
  });
  $("family-close").addEventListener("click", closeForm);

  $("family-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    hideError("family-error");
    const name = $("family-name").value.trim();
    const login = $("family-login").value.trim();
    const password = $("family-password").value;
    if (!name || !login || !password) {
      showError("family-error", new Error("名前・ログインID・最初のパスワードを入れてください。"));
      return;
    }
    if (!$("family-consent-on").value) {
      showError("family-error", new Error("ご本人が同意した日を入れてください。"));
      return;
    }
    const id = state.resident.id;
    busy($("family-submit"), true);
    api("POST", "/api/v1/residents/" + id + "/family", {
      member: { name: name, login_id: login, password: password },
      permission: $("family-permission").value,
      consent_on: $("family-consent-on").value,
      consent_method: $("family-consent-method").value,
    }).then(
      (link) => {
        closeForm();
        toast(link.family_member.name + " さんを登録しました。ログインID「" + link.family_member.login_id + "」と最初のパスワードをお伝えください。");
        // the new member's row is the result: the focus on it (else on ＋ ご家族を登録)
        return loadFamily(state.resident, false).then(() => land($("family-list").querySelector('[data-id="family-' + link.id + '"]') || $("family-open")));
      },
      (err) => showError("family-error", err)
    ).finally(() => busy($("family-submit"), false));
  });

  Object.assign(Operator, { loadFamily });
})();
