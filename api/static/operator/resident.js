/* The resident on the right: open one (from the search, the household, the board or the address
   #r=ID), the card with the registered facts, then every section of the card fills itself. */
"use strict";

(() => {
  const { el, clear, $, state, button, show, api, say, hideError, age } = Operator;

  const CATEGORY_LABELS = {
    age_65_plus: "年齢",
    licence_surrendered: "運転免許返納",
    disability: "障害者手帳",
  };

  function openResident(id) {
    return api("GET", "/api/v1/residents/" + id).then(
      (r) => {
        const changed = !state.resident || state.resident.id !== r.id;
        state.resident = r;
        if (history.replaceState) history.replaceState(null, "", "#r=" + r.id);
        $("results").querySelectorAll("button.result").forEach((b) => {
          if (b.getAttribute("data-id") === "resident-" + r.id) b.setAttribute("aria-current", "true");
          else b.removeAttribute("aria-current");
        });
        show($("detail-empty"), false);
        show($("resident"), true);
        renderCard(r);
        if (changed) Operator.resetBooking(r);
        Operator.renderFavourites();
        Operator.renderNotes(r.notes_log);
        Operator.renderDevices(r.devices);
        Operator.renderPin(r.pin);
        Operator.loadFamily(r, changed);
        Operator.loadRegistration(r);
        if (changed) {
          ["note-error", "order-error", "pair-error", "pin-error", "book-error"].forEach(hideError);
          Operator.closeOrderForm();
          $("detail").scrollTop = 0;
          const first = $("fav-row").querySelector("button") || $("dest");
          if (document.activeElement === $("search") || (document.activeElement && document.activeElement.classList.contains("result"))) first.focus();
        }
        Operator.loadRides();
        Operator.loadOrders();
        Operator.loadServices();
      },
      (err) => {
        show($("detail-empty"), true);
        show($("resident"), false);
        $("detail-empty").textContent = say(err);
      }
    );
  }

  function renderCard(r) {
    $("r-name").textContent = r.name;
    $("r-kana").textContent = r.kana;
    $("r-id").textContent = String(r.id);
    $("r-birth").textContent = r.birth_date.replace(/-/g, "/") + "（" + age(r.birth_date) + "歳）";
    $("r-phone").textContent = r.phone || "―";
    $("r-address").textContent = r.address || "―";
    // the municipality's own names (its age threshold, its own categories) once the area is loaded
    const named = (c) => {
      const own = state.area && state.area.categories.filter((x) => x.id === c)[0];
      return own ? own.name : CATEGORY_LABELS[c] || c;
    };
    $("r-cats").textContent = r.categories.map(named).join("・") || "―";
    if (!state.area && Operator.serviceArea) {
      Operator.serviceArea().then(() => {
        if (state.resident === r) $("r-cats").textContent = r.categories.map(named).join("・") || "―";
      }, () => {});
    }
    $("r-notes").textContent = r.notes || "―";
    const flags = clear($("r-flags"));
    flags.appendChild(r.status === "ended"
      ? el("span", { cls: "badge warn", text: "登録終了" })
      : r.status === "paused"
        ? el("span", { cls: "badge warn", text: "休止中" })
        : r.eligible
          ? el("span", { cls: "badge ok", text: "タクシー利用可" })
          : el("span", { cls: "badge warn", text: "タクシー対象外" }));
    if (r.wheelchair) flags.appendChild(el("span", { cls: "badge info", text: "車いす" }));
    const hh = clear($("r-household"));
    const others = r.household.filter((m) => m.id !== r.id);
    if (!others.length) hh.textContent = "ひとり暮らし（登録上）";
    others.forEach((m) => {
      hh.appendChild(button(m.name + "（No." + m.id + "）", () => openResident(m.id), { cls: "link", "data-id": "member-" + m.id }));
    });
  }

  Object.assign(Operator, { openResident });
})();
