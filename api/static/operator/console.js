/* The operator console (/operator): phone bookings on a resident's behalf, and today's live board.
 *
 * Sign in, search a resident by name, kana or phone, then on the resident's card: quote and book a
 * ride, change or cancel one with a reason, notes, the household's grocery orders, pairing a TV
 * box, the phone-page PIN. The board tab polls GET /api/v1/board every 15 s.
 *
 * One file per concern, loaded by templates/operator.html in this order after the common scripts:
 * console.js (this: the shared state and small helpers, the clock, requests and their problems,
 * messages, the tabs), search.js, resident.js, booking.js, rides.js, notes.js, orders.js,
 * devices.js, tvqueue.js (TV boxes waiting for pairing: list, remove one or all), pin.js, family.js, board.js, watch.js, deliveries.js, services.js (the household's
 * services: shopping membership, watch-over with consent, TV reminders, direct debit),
 * servicemap.js (the service area drawn as a map), registration.js (the resident's registration
 * and eligibility), register.js (新規登録: a new household), and last ../operator.js (sign-in, the
 * session and the start). Each file adds its functions to `Operator`; a file calls another's
 * through `Operator.name(...)` (they are all loaded before anything runs).
 *
 * Every time shown or sent comes from the server's clock (the `now` of the board, NoriaiTime), never
 * from this computer's clock; times go out as ISO strings with the tenant's offset (+09:00).
 * No framework, nothing from outside the app; the page runs under a strict CSP (no inline code or
 * style attributes). ES2017 (office PCs).
 */
"use strict";

const Operator = (() => {
  const T = NoriaiTime; // common/servertime.js
  const el = NoriaiDom.el, clear = NoriaiDom.clear; // common/dom.js

  const state = {
    token: null,
    user: "",
    places: [],
    placeById: {},
    vehicleNames: {}, // vehicle key -> name (from the board)
    resident: null,
    area: null, // GET /api/v1/service-area: the map and the categories (operator/servicemap.js)
    areaPromise: null,
    quoted: null, // the request a successful quote was for
    retry: null, // {req, key} of a booking whose answer was lost on the network
    catalog: null,
    cart: {}, // product id -> {product, quantity}
    orderRetry: null,
    searchSeq: 0,
    searchTimer: null,
    boardTimer: null,
    clockTimer: null,
    tab: "residents",
  };

  const $ = (id) => document.getElementById(id);

  /* ---------- small helpers ---------- */

  function button(label, onclick, attrs) {
    return el("button", Object.assign({ type: "button", text: label, on: { click: onclick } }, attrs || {}));
  }
  /* A button that asks once more ("本当に…") and then posts `path`; done() after, errors in errorId. */
  function armedButton(label, armedLabel, path, errorId, done, attrs) {
    const b = button(label, () => {
      if (b.getAttribute("data-armed") !== "1") {
        b.setAttribute("data-armed", "1");
        b.textContent = armedLabel;
        return;
      }
      b.disabled = true;
      api("POST", path).then(done, (err) => { b.disabled = false; showError(errorId, err); });
    }, attrs);
    return b;
  }
  function show(node, on) {
    node.hidden = !on;
  }
  /* Keep the keyboard where the person is: focus `node` (the result of an action, or the control
     again after a redraw), focusable from script only when it is not a control itself. */
  function land(node) {
    if (!node || node.hidden) return;
    if (!node.matches("button, input, select, textarea, a[href], [tabindex]")) node.setAttribute("tabindex", "-1");
    node.focus();
  }
  /* A button disabled while its request is out. Pressed with the keyboard, it lost the focus (to the
     page's top) as it was disabled: the focus comes back to it when it is ready again, unless the
     action has put the focus somewhere else meanwhile. */
  function busy(btn, on) {
    if (on && document.activeElement === btn) btn.setAttribute("data-had-focus", "");
    btn.disabled = on;
    btn.classList.toggle("busy", on);
    if (!on && btn.hasAttribute("data-had-focus")) {
      btn.removeAttribute("data-had-focus");
      const a = document.activeElement;
      if ((!a || a === document.body) && btn.isConnected && !btn.hidden) btn.focus();
    }
  }
  /* Katakana -> hiragana and full-width digits -> ASCII: the directory stores kana in hiragana. */
  function normalise(s) {
    return s
      .replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60))
      .replace(/[\uff10-\uff19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
      .replace(/[\uff0d\u2212\u30fc](?=\d)|(?<=\d)[\uff0d\u2212\u30fc]/g, "-")
      .trim();
  }

  /* ---------- the server's clock (common/servertime.js) ---------- */

  function setServerNow(iso) {
    T.sync(iso);
    tickClock();
  }
  /* "HH:MM" today -> ISO with the tenant's offset. */
  function isoToday(hhmmStr) {
    return T.iso(T.at(hhmmStr));
  }
  /* "HH:MM" of an ISO string the server sent (already in local time with offset). */
  function hhmmOf(iso) {
    return iso ? iso.slice(11, 16) : "";
  }
  /* "11/24 8:05" */
  function stamp(iso) {
    if (!iso) return "";
    return +iso.slice(5, 7) + "/" + +iso.slice(8, 10) + " " + T.short(iso);
  }
  /* A time input's default: now + minutes, rounded up to 5 minutes. */
  function suggestTime(minutes) {
    const p = T.parts(new Date(T.now().getTime() + minutes * 60000));
    let mi = Math.ceil(p.mi / 5) * 5, h = p.h;
    if (mi >= 60) { mi -= 60; h += 1; }
    return T.pad(Math.min(h, 23)) + ":" + T.pad(mi);
  }
  /* Age in years today (by the server's clock) of a "YYYY-MM-DD" birth date. */
  function age(birth) {
    const p = T.parts(T.now());
    const y = +birth.slice(0, 4), m = +birth.slice(5, 7), d = +birth.slice(8, 10);
    return p.y - y - (p.mo < m || (p.mo === m && p.d < d) ? 1 : 0);
  }
  function tickClock() {
    $("clock").textContent = state.token ? T.dayLabel(T.now()) + " " + T.hhmm(T.now()) : "";
  }

  /* ---------- requests (common/api.js) and their problems (common/problem.js) ---------- */

  const client = NoriaiApi.client({
    token: () => state.token,
    onUnauthorized: () => Operator.signOut("ログインの有効期限が切れました。もう一度ログインしてください。"),
  });
  function api(method, path, body, headers) {
    return client.request(method, path, body, { headers: headers });
  }

  /* How a problem reads here where no problem document came back (no answer, a proxy's page). */
  const PROBLEM = {
    texts: {
      0: "サーバーと通信できません。ネットワークを確認して、もう一度ためしてください。",
      401: "ログインしてください。",
    },
  };
  /* The lead alone, for a status line. */
  function say(err) {
    return NoriaiProblem.lead(err, PROBLEM);
  }
  /* A problem (or a page's own Error) in an error element: the lead, the server's words below. */
  function showError(idOrNode, err, more) {
    NoriaiProblem.fill(typeof idOrNode === "string" ? $(idOrNode) : idOrNode, err, PROBLEM, more);
  }
  function hideError(id) {
    $(id).hidden = true;
    $(id).textContent = "";
  }

  let toastTimer = null;
  function toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  /* ---------- tabs ---------- */

  function selectTab(name) {
    state.tab = name;
    document.querySelectorAll("#tabs .tab").forEach((t) => {
      t.setAttribute("aria-selected", t.getAttribute("data-tab") === name ? "true" : "false");
    });
    document.querySelectorAll("#tabs .tab").forEach((t) => {
      const view = $(t.getAttribute("data-tab") + "-view");
      if (view) show(view, t.getAttribute("data-tab") === name);
    });
    if (name === "board") Operator.refreshBoard();
    if (name === "register") Operator.openRegister();
    if (name === "tvqueue") Operator.loadWaiting();
  }
  document.querySelectorAll("#tabs .tab").forEach((t) => {
    t.addEventListener("click", () => selectTab(t.getAttribute("data-tab")));
  });

  return {
    T, el, clear, $, state, button, armedButton, show, land, busy, normalise, newKey: NoriaiApi.newKey,
    setServerNow, isoToday, hhmmOf, stamp, suggestTime, age, tickClock,
    api, PROBLEM, say, showError, hideError, toast, selectTab,
  };
})();
