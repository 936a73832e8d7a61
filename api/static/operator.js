/* The operator console: phone bookings on a resident's behalf, and today's live board.
 *
 * Sign in (OAuth2 password flow; the token lives in sessionStorage), search a resident by name,
 * kana or phone, then on the resident's card: quote and book a ride, change or cancel one with a
 * reason, notes, the household's grocery orders, pairing a TV box, the phone-page PIN. The board
 * tab polls GET /api/v1/board every 15 s.
 *
 * Every time shown or sent comes from the server's clock (the `now` of the board), never from this
 * computer's clock; times go out as ISO strings with the tenant's offset (+09:00).
 * No framework, nothing from outside the app; the page runs under a strict CSP (no inline code or
 * style attributes).
 */
"use strict";

(function () {
  const TOKEN_KEY = "noriai.operator";
  const BOARD_EVERY_MS = 15000;
  const SEARCH_DELAY_MS = 250;

  const RIDE_LABELS = {
    requested: "受付中",
    confirmed: "予約済み",
    vehicle_arrived: "車両到着",
    on_board: "乗車中",
    completed: "完了",
    refused: "お断り",
    cancelled: "取り消し",
    no_show: "乗車なし",
  };
  const ORDER_LABELS = {
    placed: "受付済み",
    locked: "締め切り後・準備中",
    picked: "店で準備済み",
    at_base: "発送準備中",
    in_flight: "ドローンで配送中",
    on_the_road: "車で配送中",
    at_hall: "公民館に到着",
    handed_over: "お届け済み",
    cancelled: "取り消し",
  };
  const CATEGORY_LABELS = {
    age_65_plus: "65歳以上",
    licence_surrendered: "免許返納",
    disability: "障がい",
  };
  const KIND_LABELS = {
    hospital: "病院",
    clinic: "診療所",
    supermarket: "買い物",
    station: "駅",
    city_hall: "役所・支所",
    community_hall: "公民館・集会所",
    post_office: "郵便局",
    bank: "銀行",
    school: "学校",
    other: "その他",
  };
  const KIND_ORDER = Object.keys(KIND_LABELS);
  const FIELD_LABELS = {
    resident_id: "利用者",
    origin: "出発地",
    destination: "行き先",
    pickup_after: "迎えの時刻",
    arrive_by: "到着の時刻",
    party_size: "人数",
    code: "テレビの番号",
    household_id: "世帯",
    pin: "暗証番号",
    text: "メモ",
    lines: "品物",
    reason: "理由",
    request: "予約内容",
  };
  const WEEKDAYS = "日月火水木金土";

  const state = {
    token: null,
    user: "",
    offsetMs: 0, // the server's clock minus this computer's clock
    tz: "+09:00",
    places: [],
    placeById: {},
    vehicleNames: {}, // vehicle key -> name (from the board)
    resident: null,
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

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === undefined || v === null || v === false) return;
      if (k === "text") e.textContent = v;
      else if (k === "cls") e.className = v;
      else if (k === "on") Object.entries(v).forEach(([ev, fn]) => e.addEventListener(ev, fn));
      else e.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach((c) => {
      if (c === null || c === undefined || c === false) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function button(label, onclick, attrs) {
    return el("button", Object.assign({ type: "button", text: label, on: { click: onclick } }, attrs || {}));
  }
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }
  function show(node, on) {
    node.hidden = !on;
  }
  function newKey() {
    const a = new Uint32Array(4);
    window.crypto.getRandomValues(a);
    return Array.from(a, (x) => x.toString(16).padStart(8, "0")).join("-");
  }
  function yen(n) {
    return n === null || n === undefined ? "―" : n.toLocaleString("ja-JP") + "円";
  }
  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /* ---------- the server's clock ---------- */

  function setServerNow(iso) {
    const m = /([+-]\d\d:\d\d)$/.exec(iso);
    if (m) state.tz = m[1];
    state.offsetMs = parseIso(iso).getTime() - Date.now();
    tickClock();
  }
  function parseIso(iso) {
    // at most milliseconds, which every Date parser reads
    return new Date(iso.replace(/(\.\d{3})\d+/, "$1"));
  }
  function serverNow() {
    return new Date(Date.now() + state.offsetMs);
  }
  function tzMinutes() {
    const sign = state.tz[0] === "-" ? -1 : 1;
    return sign * (parseInt(state.tz.slice(1, 3), 10) * 60 + parseInt(state.tz.slice(4, 6), 10));
  }
  /* Wall-clock parts of an instant in the tenant's zone. */
  function parts(d) {
    const t = new Date(d.getTime() + tzMinutes() * 60000);
    return {
      y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(),
      h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds(), wd: t.getUTCDay(),
    };
  }
  function today() {
    const p = parts(serverNow());
    return p.y + "-" + pad(p.mo) + "-" + pad(p.d);
  }
  function isoNow() {
    const p = parts(serverNow());
    return today() + "T" + pad(p.h) + ":" + pad(p.mi) + ":" + pad(p.s) + state.tz;
  }
  /* "HH:MM" today -> ISO with the tenant's offset. */
  function isoToday(hhmmStr) {
    return today() + "T" + hhmmStr + ":00" + state.tz;
  }
  /* Local "H:MM" of an ISO string the server sent (already in local time with offset). */
  function hm(iso) {
    if (!iso) return "";
    return iso.slice(11, 16).replace(/^0/, "");
  }
  function hhmmOf(iso) {
    return iso ? iso.slice(11, 16) : "";
  }
  function dateJa(isoDate) {
    const y = +isoDate.slice(0, 4), m = +isoDate.slice(5, 7), d = +isoDate.slice(8, 10);
    const wd = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
    return m + "月" + d + "日（" + WEEKDAYS[wd] + "）";
  }
  function stamp(iso) {
    if (!iso) return "";
    return +iso.slice(5, 7) + "/" + +iso.slice(8, 10) + " " + hm(iso);
  }
  /* A time input's default: now + minutes, rounded up to 5 minutes. */
  function suggestTime(minutes) {
    const t = new Date(serverNow().getTime() + minutes * 60000);
    const p = parts(t);
    let mi = Math.ceil(p.mi / 5) * 5, h = p.h;
    if (mi >= 60) { mi -= 60; h += 1; }
    return pad(Math.min(h, 23)) + ":" + pad(mi);
  }
  function tickClock() {
    if (!state.token) { $("clock").textContent = ""; return; }
    const p = parts(serverNow());
    $("clock").textContent = p.mo + "月" + p.d + "日（" + WEEKDAYS[p.wd] + "） " + p.h + ":" + pad(p.mi);
  }

  /* ---------- the API and its problems in plain Japanese ---------- */

  function api(method, path, body, headers, form) {
    const h = Object.assign({ Accept: "application/json" }, headers || {});
    if (state.token) h.Authorization = "Bearer " + state.token;
    let payload;
    if (form) {
      payload = new URLSearchParams(form);
    } else if (body !== undefined) {
      h["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(path, { method: method, headers: h, body: payload }).then(
      (r) => r.text().then((t) => {
        let data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        if (!r.ok) {
          const err = new Error(japanese(r.status, data || {}));
          err.status = r.status;
          err.data = data || {};
          if (r.status === 401 && path.indexOf("/auth/token") < 0) {
            signOut("ログインの有効期限が切れました。もう一度ログインしてください。");
          }
          throw err;
        }
        return data;
      }),
      () => {
        const err = new Error("サーバーと通信できません。ネットワークを確認して、もう一度ためしてください。");
        err.status = 0;
        err.data = {};
        throw err;
      }
    );
  }

  function fieldMessage(field, message) {
    const m = message || "";
    let x;
    if ((x = /it is now (\d\d:\d\d)/.exec(m))) return "その時刻はもう過ぎています（いま " + x[1].replace(/^0/, "") + "）";
    if (/in the past/.test(m)) return "その時刻はもう過ぎています";
    if (/can be booked for today/.test(m)) return "予約できるのは今日の分だけです";
    if (/there is no service/.test(m)) return "その日は運行がありません";
    if ((x = /service hours (\S+)/.exec(m))) return "運行時間（" + x[1] + "）の中で指定してください";
    if ((x = /earliest possible arrival is (\d\d:\d\d)/.exec(m))) return "その到着時刻には間に合いません（いちばん早い到着 " + x[1].replace(/^0/, "") + "）";
    if (/outside the service area/.test(m)) return "運行区域の外です";
    if (/same place as the origin/.test(m)) return "出発地と同じ場所です";
    if (/unknown place/.test(m)) return "登録されていない場所です";
    if ((x = /at most (\d+) persons/.exec(m))) return "1回の予約は " + x[1] + " 人までです";
    if (/no vehicle takes/.test(m)) return "この人数" + (/wheelchair/.test(m) ? "と車いす" : "") + "を乗せられる車両がありません";
    if (/not eligible/.test(m)) return "この方は利用の対象になっていません（登録内容を確認してください）";
    if (/no registered resident/.test(m)) return "登録されていない利用者です";
    if (/no box is showing the code/.test(m)) return "その番号を表示しているテレビがありません。テレビの画面の番号をもう一度聞いてください";
    if (/no household/.test(m)) return "世帯が見つかりません";
    if (/4 to 8 digits/.test(m)) return "4〜8けたの数字にしてください";
    if (/too easy to guess/.test(m)) return "推測されやすい番号です（同じ数字のくり返しや 1234 など）。別の番号にしてください";
    if ((x = /write 1 to (\d+) characters/.exec(m))) return "1〜" + x[1] + " 文字で書いてください";
    if (/no shopping membership/.test(m)) return "この世帯は買い物の会員ではありません";
    if ((x = /^(.*) is sold out/.exec(m))) return x[1] + " は今日は売り切れです";
    if (/no product/.test(m)) return "品物が見つかりません";
    if ((x = /at most (\d+) of one item/.exec(m))) return "1つの品物は " + x[1] + " 個までです";
    if ((x = /at most (\d+) lines/.exec(m))) return "1回の注文は " + x[1] + " 品までです";
    if (/reused with a different body/.test(m)) return "前の操作と内容が違います。もう一度やり直してください";
    if (/is required/.test(m)) return "入力してください";
    if (/exactly one of pickup_after or arrive_by/.test(m)) return "迎えの時刻か到着の時刻のどちらかを指定してください";
    return m;
  }

  function fieldLabel(field) {
    const f = (field || "").replace(/^body\./, "");
    const head = f.split(/[.[]/)[0];
    return FIELD_LABELS[head] || f;
  }

  /* A problem+json answer as a sentence an operator can act on (the original stays in `title`). */
  function japanese(status, p) {
    const detail = p.detail || "";
    if (p.reason === "no_vehicle_available") {
      return "その時間は空いている車両がありません。" +
        (p.alternatives && p.alternatives.length ? "下の時間なら予約できます。" : "ほかの時間をためしてください。");
    }
    if (p.reason === "after_cutoff") return "今日の注文の締め切りを過ぎています。商品はもう準備に入っています。";
    if (p.title === "Cannot cancel") return "この注文はもう取り消せません（締め切り後か、準備が始まっています）。";
    if (Array.isArray(p.errors) && p.errors.length) {
      const lines = p.errors.map((e) => {
        const label = fieldLabel(e.field);
        return (label ? label + "：" : "") + fieldMessage(e.field, e.message);
      });
      return Array.from(new Set(lines)).join("／");
    }
    if (status === 401) return detail === "Wrong user name or password." ? "ユーザー名またはパスワードが違います。5回続けて間違えると15分間サインインできません（管理者が解除できます）。" : "ログインしてください。";
    if (status === 403) return "この操作をする権限がありません。";
    if (status === 404) return "見つかりませんでした。画面を更新して、もう一度選んでください。";
    if (/only a confirmed ride/.test(detail) || /cannot become/.test(detail)) return "この予約はもう変更・取り消しできません（状態が変わっています）。";
    if (/already revoked/.test(detail)) return "このテレビはもう取り消されています。";
    if (status === 429) return "操作が多すぎます。" + (p.retry_after_seconds || 60) + "秒ほど待ってから、もう一度ためしてください。";
    if (/[\u3040-\u30ff\u4e00-\u9fff]/.test(detail)) return detail;
    if (status === 409) return "いまはその操作ができません（" + detail + "）";
    return "うまくいきませんでした" + (detail ? "（" + detail + "）" : "。");
  }

  function showError(id, err) {
    const e = $(id);
    e.textContent = err.message || String(err);
    e.title = (err.data && err.data.detail) || "";
    e.hidden = false;
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

  /* ---------- sign-in ---------- */

  function saveSession() {
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token: state.token, user: state.user }));
  }

  function showLogin(message) {
    ["residents-view", "board-view"].forEach((v) => show($(v), false));
    show($("tabs"), false);
    show($("logout"), false);
    $("who").textContent = "";
    show($("login-view"), true);
    if (message) {
      $("login-error").textContent = message;
      $("login-error").hidden = false;
    }
    $("login-user").focus();
  }

  /* Revoke the token on the server too: a lost or shared device keeps nothing that works. */
  function revoke(token) {
    fetch("/api/v1/auth/sign-out", { method: "POST", headers: { Authorization: "Bearer " + token } })
      .catch(function () { /* offline: the token lapses by itself */ });
  }

  function signOut(message) {
    if (state.token) revoke(state.token);
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearInterval(state.boardTimer);
    clearInterval(state.clockTimer);
    state.resident = null;
    state.catalog = null;
    $("watch-banner").hidden = true;
    $("optimizer-banner").hidden = true;
    // nothing of the last caller stays on screen for whoever signs in next
    $("search").value = "";
    clear($("results"));
    show($("resident"), false);
    show($("detail-empty"), true);
    if (history.replaceState) history.replaceState(null, "", location.pathname);
    tickClock();
    showLogin(message);
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    hideError("login-error");
    const username = $("login-user").value.trim();
    const password = $("login-pass").value;
    if (!username || !password) {
      showError("login-error", new Error("ユーザー名とパスワードを入れてください。"));
      return;
    }
    $("login-submit").disabled = true;
    api("POST", "/api/v1/auth/token", undefined, {}, { username: username, password: password })
      .then((t) => {
        state.token = t.access_token;
        state.user = username;
        saveSession();
        $("login-pass").value = "";
        return startSession();
      })
      .catch((err) => showError("login-error", err))
      .finally(() => { $("login-submit").disabled = false; });
  });

  $("logout").addEventListener("click", () => signOut(""));
  $("watch-banner-open").addEventListener("click", () => selectTab("board"));

  /* After sign-in: the server's clock (from the board), the places, then the console. */
  function startSession() {
    return Promise.all([api("GET", "/api/v1/board"), api("GET", "/api/v1/places")]).then(
      ([board, places]) => {
        state.places = places;
        state.placeById = {};
        places.forEach((p) => { state.placeById[p.id] = p; });
        renderBoard(board);
        show($("login-view"), false);
        hideError("login-error");
        show($("tabs"), true);
        show($("logout"), true);
        $("who").textContent = state.user;
        fillPlaceSelects();
        selectTab(state.tab);
        clearInterval(state.boardTimer);
        clearInterval(state.clockTimer);
        state.boardTimer = setInterval(refreshBoard, BOARD_EVERY_MS);
        state.clockTimer = setInterval(tickClock, 5000);
        const m = /r=(\d+)/.exec(location.hash);
        if (m) openResident(+m[1]);
        else $("search").focus();
      },
      (err) => {
        if (err.status === 403) {
          state.token = null;
          sessionStorage.removeItem(TOKEN_KEY);
          showLogin("このユーザーはオペレーター画面を使えません。");
        } else if (err.status !== 401) {
          showLogin(err.message);
        }
      }
    );
  }

  /* ---------- tabs ---------- */

  function selectTab(name) {
    state.tab = name;
    document.querySelectorAll("#tabs .tab").forEach((t) => {
      t.setAttribute("aria-selected", t.getAttribute("data-tab") === name ? "true" : "false");
    });
    show($("residents-view"), name === "residents");
    show($("board-view"), name === "board");
    if (name === "board") refreshBoard();
  }
  document.querySelectorAll("#tabs .tab").forEach((t) => {
    t.addEventListener("click", () => selectTab(t.getAttribute("data-tab")));
  });

  /* ---------- search ---------- */

  /* Katakana -> hiragana and full-width digits -> ASCII: the directory stores kana in hiragana. */
  function normalise(s) {
    return s
      .replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60))
      .replace(/[\uff10-\uff19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
      .replace(/[\uff0d\u2212\u30fc](?=\d)|(?<=\d)[\uff0d\u2212\u30fc]/g, "-")
      .trim();
  }

  /* The server matches one substring; several words ("いとう かずこ") or a phone number without
     hyphens are narrowed here. */
  function searchPlan(raw) {
    const words = normalise(raw).split(/[\s\u3000]+/).filter(Boolean);
    if (!words.length) return null;
    const digitsOnly = (w) => /^[\d-]+$/.test(w) && w.replace(/-/g, "").length >= 4;
    let serverQ = words.reduce((a, b) => (b.length > a.length ? b : a));
    if (words.length === 1 && digitsOnly(words[0]) && words[0].indexOf("-") < 0) {
      serverQ = words[0].slice(-4); // a number typed without hyphens: ask for its last digits
    }
    return { words: words, q: serverQ, limit: words.length > 1 || serverQ !== words[0] ? 200 : 50 };
  }
  function matches(r, words) {
    const name = r.name.replace(/\s/g, ""), kana = r.kana.replace(/\s/g, "");
    const phone = (r.phone || "").replace(/-/g, "");
    return words.every((w) => {
      const bare = w.replace(/-/g, "");
      return name.indexOf(w) >= 0 || kana.indexOf(w) >= 0 || (/^\d+$/.test(bare) && phone.indexOf(bare) >= 0) ||
        (r.phone || "").indexOf(w) >= 0 || String(r.id) === w;
    });
  }

  $("search").addEventListener("input", () => {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(runSearch, SEARCH_DELAY_MS);
  });
  $("search").addEventListener("keydown", (ev) => {
    const first = $("results").querySelector("button");
    if (ev.key === "ArrowDown" && first) { ev.preventDefault(); first.focus(); }
    if (ev.key === "Enter" && first) { ev.preventDefault(); clearTimeout(state.searchTimer); first.click(); }
  });
  $("results").addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    const all = Array.from($("results").querySelectorAll("button"));
    const i = all.indexOf(document.activeElement);
    if (i < 0) return;
    ev.preventDefault();
    if (ev.key === "ArrowUp" && i === 0) $("search").focus();
    else (all[ev.key === "ArrowDown" ? Math.min(i + 1, all.length - 1) : i - 1]).focus();
  });
  document.addEventListener("keydown", (ev) => {
    const tag = (document.activeElement && document.activeElement.tagName) || "";
    if (ev.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(tag) && state.token) {
      ev.preventDefault();
      selectTab("residents");
      $("search").focus();
      $("search").select();
    }
  });

  function runSearch() {
    const plan = searchPlan($("search").value);
    const seq = ++state.searchSeq;
    const list = $("results");
    if (!plan) {
      clear(list);
      $("search-status").textContent = "名前・ふりがな・電話番号の一部を入れてください。";
      return;
    }
    $("search-status").textContent = "さがしています…";
    api("GET", "/api/v1/residents?limit=" + plan.limit + "&q=" + encodeURIComponent(plan.q)).then(
      (rows) => {
        if (seq !== state.searchSeq) return; // a newer search is under way
        const found = rows.filter((r) => matches(r, plan.words));
        clear(list);
        $("search-status").textContent = found.length
          ? found.length + " 人" + (found.length >= plan.limit ? "以上（もっとくわしく入れてください）" : "")
          : "見つかりません。別の書き方（ふりがな・電話番号）でためしてください。";
        found.forEach((r) => list.appendChild(resultItem(r)));
      },
      (err) => {
        if (seq === state.searchSeq) $("search-status").textContent = err.message;
      }
    );
  }

  function age(birth) {
    const p = parts(serverNow());
    const y = +birth.slice(0, 4), m = +birth.slice(5, 7), d = +birth.slice(8, 10);
    return p.y - y - (p.mo < m || (p.mo === m && p.d < d) ? 1 : 0);
  }

  function resultItem(r) {
    const flags = [];
    if (!r.eligible) flags.push(el("span", { cls: "badge muted-badge", text: "対象外" }));
    if (r.wheelchair) flags.push(el("span", { cls: "badge info", text: "車いす" }));
    const current = state.resident && state.resident.id === r.id;
    const b = el("button", {
      type: "button", cls: "result", "data-id": "resident-" + r.id, "aria-current": current ? "true" : null,
      on: { click: () => openResident(r.id) },
    }, [
      el("span", { cls: "line1" }, [el("strong", { text: r.name }), " ", el("span", { cls: "kana", text: r.kana })].concat(flags)),
      el("span", { cls: "line2", text: "No." + r.id + "　" + (r.phone || "電話なし") + "　" + age(r.birth_date) + "歳" }),
    ]);
    return el("li", {}, [b]);
  }

  /* ---------- the resident ---------- */

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
        if (changed) resetBooking(r);
        renderFavourites();
        renderNotes(r.notes_log);
        renderDevices(r.devices);
        renderPin(r.pin);
        if (changed) {
          ["note-error", "order-error", "pair-error", "pin-error", "book-error"].forEach(hideError);
          closeOrderForm();
          $("detail").scrollTop = 0;
          const first = $("fav-row").querySelector("button") || $("dest");
          if (document.activeElement === $("search") || (document.activeElement && document.activeElement.classList.contains("result"))) first.focus();
        }
        loadRides();
        loadOrders();
      },
      (err) => {
        show($("detail-empty"), true);
        show($("resident"), false);
        $("detail-empty").textContent = err.message;
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
    $("r-cats").textContent = r.categories.map((c) => CATEGORY_LABELS[c] || c).join("・") || "―";
    $("r-notes").textContent = r.notes || "―";
    const flags = clear($("r-flags"));
    flags.appendChild(r.eligible
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

  /* ---------- booking ---------- */

  function placeOptions(select, withHome, skip) {
    const groups = {};
    state.places.forEach((p) => { (groups[p.kind] = groups[p.kind] || []).push(p); });
    if (withHome) select.appendChild(el("option", { value: "home", text: "自宅" }));
    KIND_ORDER.forEach((k) => {
      if (!groups[k]) return;
      const g = el("optgroup", { label: KIND_LABELS[k] });
      groups[k].forEach((p) => { if (!skip || !skip[p.id]) g.appendChild(el("option", { value: p.id, text: p.name })); });
      if (g.children.length) select.appendChild(g);
    });
  }

  function fillPlaceSelects() {
    const origin = clear($("origin"));
    placeOptions(origin, true);
  }

  /* Destination: favourites first, then home (for the way back), then every place by kind. */
  function fillDestination(r) {
    const dest = clear($("dest"));
    dest.appendChild(el("option", { value: "", text: "― 行き先を選ぶ ―" }));
    const favs = (r.favourites || []).filter((id) => state.placeById[id]);
    if (favs.length) {
      const g = el("optgroup", { label: "よく行く場所" });
      favs.forEach((id) => g.appendChild(el("option", { value: id, text: state.placeById[id].name })));
      dest.appendChild(g);
    }
    dest.appendChild(el("option", { value: "home", text: "自宅（帰り）" }));
    const skip = {};
    favs.forEach((id) => { skip[id] = true; });
    placeOptions(dest, false, skip);
  }

  function resetBooking(r) {
    fillDestination(r);
    $("dest").value = "";
    $("origin").value = "home";
    $("when-now").checked = true;
    $("when-time").value = "";
    $("when-time").disabled = true;
    $("party").value = "1";
    $("wheelchair").checked = !!r.wheelchair;
    state.retry = null;
    invalidateQuote(true);
  }

  function renderFavourites() {
    const r = state.resident;
    const row = clear($("fav-row"));
    const favs = (r.favourites || []).filter((id) => state.placeById[id]);
    favs.forEach((id, i) => {
      const b = button((i + 1) + " " + state.placeById[id].name, () => {
        $("dest").value = id;
        destChanged();
      }, { cls: "fav", "data-id": "fav-" + id, "aria-pressed": $("dest").value === id ? "true" : "false" });
      row.appendChild(b);
    });
    if (!favs.length) row.appendChild(el("span", { cls: "muted", text: "よく行く場所は未登録です（下で選んで ☆ で追加）" }));
    const cur = $("dest").value;
    const isFav = favs.indexOf(cur) >= 0;
    $("fav-toggle").textContent = isFav ? "★ よく行く場所から外す" : "☆ よく行く場所に追加";
    $("fav-toggle").disabled = !cur || cur === "home" || (!isFav && favs.length >= 9);
  }

  function destChanged() {
    renderFavourites();
    invalidateQuote(true);
  }

  $("dest").addEventListener("change", destChanged);
  $("origin").addEventListener("change", () => invalidateQuote(true));
  $("party").addEventListener("input", () => invalidateQuote(true));
  $("wheelchair").addEventListener("change", () => invalidateQuote(true));
  $("when-time").addEventListener("input", () => invalidateQuote(true));
  document.querySelectorAll('input[name="when"]').forEach((radio) => {
    radio.addEventListener("change", () => {
      const mode = whenMode();
      $("when-time").disabled = mode === "now";
      if (mode !== "now" && !$("when-time").value) $("when-time").value = suggestTime(mode === "arrive" ? 60 : 30);
      if (mode !== "now") $("when-time").focus();
      invalidateQuote(true);
    });
  });

  $("fav-toggle").addEventListener("click", () => {
    const r = state.resident;
    const cur = $("dest").value;
    let favs = (r.favourites || []).slice();
    favs = favs.indexOf(cur) >= 0 ? favs.filter((x) => x !== cur) : favs.concat([cur]);
    api("PUT", "/api/v1/residents/" + r.id + "/favourites", { place_ids: favs }).then(
      (saved) => {
        r.favourites = saved;
        fillDestination(r);
        $("dest").value = cur;
        renderFavourites();
        toast("よく行く場所を更新しました。");
      },
      (err) => showError("book-error", err)
    );
  });

  function whenMode() {
    return document.querySelector('input[name="when"]:checked').value;
  }

  function invalidateQuote(hideResult) {
    state.quoted = null;
    $("book-btn").disabled = true;
    if (hideResult) {
      show($("quote-result"), false);
      hideError("book-error");
    }
  }

  function toLocation(value, r) {
    if (value === "home") return { lat: r.home.lat, lon: r.home.lon };
    return { place_id: value };
  }

  /* The request the form describes, or an Error saying what is missing. */
  function rideRequest() {
    const r = state.resident;
    const dest = $("dest").value;
    if (!dest) throw new Error("行き先を選んでください。");
    const origin = $("origin").value;
    if (dest === origin) throw new Error("出発地と行き先が同じです。");
    const party = parseInt($("party").value, 10);
    if (!(party >= 1)) throw new Error("人数を入れてください。");
    const req = {
      resident_id: r.id,
      origin: toLocation(origin, r),
      destination: toLocation(dest, r),
      party_size: party,
      wheelchair: $("wheelchair").checked,
    };
    const mode = whenMode();
    if (mode === "now") {
      req.pickup_after = isoNow();
    } else {
      const t = $("when-time").value;
      if (!/^\d\d:\d\d$/.test(t)) throw new Error("時刻を入れてください。");
      req[mode === "arrive" ? "arrive_by" : "pickup_after"] = isoToday(t);
    }
    return req;
  }

  function placeName(loc, r) {
    if (loc.place_id) return state.placeById[loc.place_id] ? state.placeById[loc.place_id].name : loc.place_id;
    if (r && r.home && Math.abs(loc.lat - r.home.lat) < 0.0005 && Math.abs(loc.lon - r.home.lon) < 0.0006) return "自宅";
    return "指定の場所";
  }

  function busy(btn, on) {
    btn.disabled = on;
    btn.classList.toggle("busy", on);
  }

  $("quote-btn").addEventListener("click", () => quote());

  function quote() {
    hideError("book-error");
    let req;
    try { req = rideRequest(); } catch (e) { showError("book-error", e); return Promise.resolve(); }
    invalidateQuote(false);
    busy($("quote-btn"), true);
    const res = $("quote-result");
    return api("POST", "/api/v1/rides/quote", req).then(
      (q) => {
        clear(res);
        show(res, true);
        res.className = "quote";
        res.removeAttribute("data-ride");
        if (q.available) {
          state.quoted = req;
          $("book-btn").disabled = false;
          res.appendChild(el("p", { cls: "big", id: "quote-window", text: "迎え " + hm(q.pickup_window.start) + "〜" + hm(q.pickup_window.end) }));
          res.appendChild(el("p", { text: placeName(req.origin, state.resident) + " → " + placeName(req.destination, state.resident) + "　" + hm(q.latest_arrival) + " までに到着" }));
          res.appendChild(el("p", { text: "料金 " + yen(q.fare_yen) + "（" + req.party_size + "人）　車両の予定 " + hm(q.planned_pickup) + " 迎え" }));
          $("book-btn").focus();
        } else {
          res.className = "quote warn-box";
          res.appendChild(el("p", { cls: "strong", text: "その時間は空いている車両がありません。" }));
          alternatives(res, q.alternatives);
        }
      },
      (err) => { show(res, false); showError("book-error", err); }
    ).finally(() => busy($("quote-btn"), false));
  }

  /* Alternative pickup windows as buttons; one click quotes that time. */
  function alternatives(box, alts) {
    if (!alts || !alts.length) {
      box.appendChild(el("p", { text: "近い時間にも空きがありません。時刻か行き先を変えてためしてください。" }));
      return;
    }
    box.appendChild(el("p", { text: "この時間なら空いています（押すと見積もります）：" }));
    const row = el("div", { cls: "alts" });
    alts.forEach((a, i) => {
      row.appendChild(button("迎え " + hm(a.pickup_window.start) + "〜" + hm(a.pickup_window.end), () => {
        $("when-pickup").checked = true;
        $("when-time").disabled = false;
        $("when-time").value = hhmmOf(a.pickup_after);
        quote();
      }, { cls: "alt", "data-id": "alt-" + i }));
    });
    box.appendChild(row);
  }

  $("book-btn").addEventListener("click", () => {
    hideError("book-error");
    let req, key;
    if (state.retry) {
      req = state.retry.req; // the answer to this booking was lost: send the same again
      key = state.retry.key;
    } else {
      try { req = rideRequest(); } catch (e) { showError("book-error", e); return; }
      key = newKey();
    }
    busy($("book-btn"), true);
    const res = $("quote-result");
    api("POST", "/api/v1/rides", req, { "Idempotency-Key": key }).then(
      (ride) => {
        state.retry = null;
        invalidateQuote(false);
        clear(res);
        show(res, true);
        res.className = "quote ok-box";
        res.setAttribute("data-ride", String(ride.id));
        res.appendChild(el("p", { cls: "strong", text: "予約しました（予約番号 " + ride.id + "）。利用者にお伝えください：" }));
        res.appendChild(el("p", { cls: "big", id: "booked-window", text: "迎え " + hm(ride.pickup_window.start) + "〜" + hm(ride.pickup_window.end) }));
        res.appendChild(el("p", { text: placeName(ride.origin, state.resident) + " → " + placeName(ride.destination, state.resident) + "　" + hm(ride.latest_arrival) + " までに到着　料金 " + yen(ride.fare_yen) }));
        res.appendChild(el("p", { cls: "muted", text: "車両 " + (state.vehicleNames[ride.vehicle] || ride.vehicle || "―") }));
        $("book-btn").disabled = true;
        loadRides();
        refreshBoard();
      },
      (err) => {
        if (err.status === 0) {
          state.retry = { req: req, key: key };
          showError("book-error", new Error(err.message + "（もう一度「予約する」を押すと、同じ予約を送り直します。二重にはなりません）"));
          $("book-btn").disabled = false;
          return;
        }
        state.retry = null;
        invalidateQuote(false);
        if (err.status === 409 && err.data.alternatives) {
          clear(res);
          show(res, true);
          res.className = "quote warn-box";
          res.removeAttribute("data-ride");
          res.appendChild(el("p", { cls: "strong", text: err.message }));
          alternatives(res, err.data.alternatives);
          loadRides();
          refreshBoard();
        } else {
          showError("book-error", err);
        }
      }
    ).finally(() => $("book-btn").classList.remove("busy"));
  });

  /* ---------- today's rides: change and cancel with a reason ---------- */

  /* `quiet`: a background refresh, which leaves the list alone while a change or cancel form is open. */
  function loadRides(quiet) {
    const r = state.resident;
    if (quiet && $("ride-list").querySelector(".row-form .inline")) return Promise.resolve();
    return api("GET", "/api/v1/rides?resident_id=" + r.id + "&date=" + today()).then(
      (rides) => {
        if (quiet && $("ride-list").querySelector(".row-form .inline")) return;
        if (state.resident && state.resident.id === r.id) renderRides(rides);
      },
      (err) => renderRidesError(err)
    );
  }

  function renderRidesError(err) {
    const list = clear($("ride-list"));
    list.appendChild(el("li", { cls: "error", text: err.message }));
  }

  function renderRides(rides) {
    const list = clear($("ride-list"));
    if (!rides.length) {
      list.appendChild(el("li", { cls: "muted", text: "今日の予約はありません。" }));
      return;
    }
    rides.sort((a, b) => (a.pickup_window.start < b.pickup_window.start ? -1 : 1));
    rides.forEach((ride) => list.appendChild(rideRow(ride)));
  }

  function rideRow(ride) {
    const r = state.resident;
    const status = el("span", { cls: "badge status-" + ride.status, text: RIDE_LABELS[ride.status] || ride.status });
    const head = el("div", { cls: "row-head" }, [
      el("span", { cls: "when", text: "迎え " + hm(ride.pickup_window.start) + "〜" + hm(ride.pickup_window.end) }),
      status,
    ]);
    const info = el("div", { cls: "row-info", text:
      placeName(ride.origin, r) + " → " + placeName(ride.destination, r) +
      (ride.status === "refused" ? "" : "　" + hm(ride.latest_arrival) + " までに到着　" + yen(ride.fare_yen)) +
      (ride.party_size > 1 ? "　" + ride.party_size + "人" : "") +
      (ride.vehicle ? "　" + (state.vehicleNames[ride.vehicle] || ride.vehicle) : "") +
      "　No." + ride.id });
    const li = el("li", { cls: "ride" + (ride.status === "cancelled" || ride.status === "refused" ? " past" : ""), "data-id": "ride-" + ride.id }, [head, info]);
    if (ride.status === "confirmed") {
      const slot = el("div", { cls: "row-form" });
      const actions = el("div", { cls: "row-actions" }, [
        button("変更", () => changeForm(ride, slot), { cls: "small", "data-id": "change-" + ride.id }),
        button("取り消し", () => cancelForm(ride, slot), { cls: "small danger-quiet", "data-id": "cancel-" + ride.id }),
      ]);
      head.appendChild(actions);
      li.appendChild(slot);
    }
    return li;
  }

  /* The booking confirmation no longer holds once that ride was changed or cancelled. */
  function forget(rideId) {
    const res = $("quote-result");
    if (res.getAttribute("data-ride") === String(rideId)) {
      show(res, false);
      res.removeAttribute("data-ride");
    }
  }

  function cancelForm(ride, slot) {
    clear(slot);
    const reason = el("input", { list: "reasons", maxlength: "500", placeholder: "取り消しの理由（必ず入れてください）", "aria-label": "取り消しの理由", cls: "reason" });
    const err = el("p", { cls: "error", role: "alert", hidden: true });
    reason.addEventListener("input", () => { err.hidden = true; });
    const go = button("取り消す", () => {
      const text = reason.value.trim();
      if (!text) { err.textContent = "理由を入れてください（記録に残ります）。"; err.hidden = false; reason.focus(); return; }
      go.disabled = true;
      api("POST", "/api/v1/rides/" + ride.id + "/cancel", { reason: text }).then(
        () => { toast("予約 No." + ride.id + " を取り消しました。"); forget(ride.id); loadRides(); refreshBoard(); },
        (e) => { err.textContent = e.message; err.hidden = false; go.disabled = false; }
      );
    }, { cls: "danger small", "data-id": "cancel-confirm" });
    slot.appendChild(el("div", { cls: "inline" }, [reason, go, button("やめる", () => clear(slot), { cls: "quiet small" })]));
    slot.appendChild(err);
    reason.focus();
  }

  function changeForm(ride, slot) {
    clear(slot);
    const name = "chg-" + ride.id;
    const pickup = el("input", { type: "radio", name: name, value: "pickup", checked: true });
    const arrive = el("input", { type: "radio", name: name, value: "arrive" });
    const time = el("input", { type: "time", step: "300", "aria-label": "新しい時刻", value: hhmmOf(ride.pickup_window.start), cls: "time" });
    const reason = el("input", { list: "reasons", maxlength: "500", placeholder: "変更の理由（必ず入れてください）", "aria-label": "変更の理由", cls: "reason" });
    const err = el("p", { cls: "error", role: "alert", hidden: true });
    const alts = el("div", { cls: "alts" });
    reason.addEventListener("input", () => { err.hidden = true; });
    let changeKey = newKey(); // kept while an answer is lost on the network, so a retry cannot book twice
    const go = button("変更する", () => {
      const text = reason.value.trim();
      err.hidden = true;
      clear(alts);
      if (!/^\d\d:\d\d$/.test(time.value)) { err.textContent = "新しい時刻を入れてください。"; err.hidden = false; return; }
      if (!text) { err.textContent = "理由を入れてください（記録に残ります）。"; err.hidden = false; reason.focus(); return; }
      const req = {
        resident_id: ride.resident_id,
        origin: ride.origin.place_id ? { place_id: ride.origin.place_id } : { lat: ride.origin.lat, lon: ride.origin.lon },
        destination: ride.destination.place_id ? { place_id: ride.destination.place_id } : { lat: ride.destination.lat, lon: ride.destination.lon },
        party_size: ride.party_size,
        wheelchair: ride.wheelchair,
      };
      req[arrive.checked ? "arrive_by" : "pickup_after"] = isoToday(time.value);
      go.disabled = true;
      api("POST", "/api/v1/rides/" + ride.id + "/change", { request: req, reason: text }, { "Idempotency-Key": changeKey }).then(
        (nr) => {
          toast("変更しました：新しい迎え " + hm(nr.pickup_window.start) + "〜" + hm(nr.pickup_window.end) + "（予約番号 " + nr.id + "）");
          forget(ride.id);
          loadRides();
          refreshBoard();
        },
        (e) => {
          go.disabled = false;
          if (e.status) changeKey = newKey(); // a definite answer: the next try is a new request
          err.textContent = e.message + (e.status === 409 ? "　元の予約はそのままです。" : "");
          err.hidden = false;
          (e.data.alternatives || []).forEach((a, i) => {
            alts.appendChild(button("迎え " + hm(a.pickup_window.start) + "〜" + hm(a.pickup_window.end), () => {
              pickup.checked = true;
              time.value = hhmmOf(a.pickup_after);
            }, { cls: "alt small", "data-id": "change-alt-" + i }));
          });
        }
      );
    }, { cls: "primary small", "data-id": "change-confirm" });
    slot.appendChild(el("div", { cls: "inline" }, [
      el("label", { cls: "radio" }, [pickup, " 迎え"]),
      el("label", { cls: "radio" }, [arrive, " 到着"]),
      time,
    ]));
    slot.appendChild(el("div", { cls: "inline" }, [reason, go, button("やめる", () => clear(slot), { cls: "quiet small" })]));
    slot.appendChild(err);
    slot.appendChild(alts);
    time.focus();
  }

  /* ---------- notes ---------- */

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

  /* ---------- shopping ---------- */

  function loadOrders() {
    const r = state.resident;
    if (!r.household_id) { renderOrders([]); return Promise.resolve(); }
    return api("GET", "/api/v1/orders?household_id=" + r.household_id).then(
      (orders) => { if (state.resident && state.resident.id === r.id) renderOrders(orders); },
      (err) => showError("order-error", err)
    );
  }

  function renderOrders(orders) {
    const list = clear($("order-list"));
    const recent = orders.slice().reverse().slice(0, 6);
    if (!recent.length) list.appendChild(el("li", { cls: "muted", text: "注文はありません。" }));
    recent.forEach((o) => {
      const names = o.lines.map((x) => x.name + "×" + x.quantity);
      const li = el("li", { cls: "order" + (o.status === "cancelled" ? " past" : ""), "data-id": "order-" + o.id }, [
        el("div", { cls: "row-head" }, [
          el("span", { cls: "when", text: dateJa(o.delivery_date) + " お届け" }),
          el("span", { cls: "badge order-" + o.status, text: ORDER_LABELS[o.status] || o.status }),
          el("span", { cls: "amount", text: yen(o.total_yen) }),
        ]),
        el("div", { cls: "row-info", text: names.slice(0, 4).join("、") + (names.length > 4 ? " ほか" + (names.length - 4) + "品" : "") }),
      ]);
      if (o.status === "placed") {
        const cancel = button("注文を取り消す", () => {
          if (cancel.getAttribute("data-armed") !== "1") {
            cancel.setAttribute("data-armed", "1");
            cancel.textContent = "本当に取り消す";
            return;
          }
          cancel.disabled = true;
          api("POST", "/api/v1/orders/" + o.id + "/cancel").then(
            () => { toast("注文を取り消しました。"); loadOrders(); },
            (err) => { cancel.disabled = false; showError("order-error", err); }
          );
        }, { cls: "small danger-quiet", "data-id": "order-cancel-" + o.id });
        li.firstChild.appendChild(cancel);
      }
      list.appendChild(li);
    });
  }

  $("order-open").addEventListener("click", () => {
    hideError("order-error");
    const ready = state.catalog ? Promise.resolve(state.catalog) : api("GET", "/api/v1/catalog").then((c) => { state.catalog = c; return c; });
    ready.then(
      (items) => {
        const cats = [];
        items.forEach((p) => { if (cats.indexOf(p.category) < 0) cats.push(p.category); });
        const sel = clear($("category"));
        cats.forEach((c) => sel.appendChild(el("option", { value: c, text: c })));
        show($("order-form"), true);
        show($("order-open"), false);
        renderProducts();
        sel.focus();
      },
      (err) => showError("order-error", err)
    );
  });
  $("order-close").addEventListener("click", closeOrderForm);
  $("category").addEventListener("change", renderProducts);

  function closeOrderForm() {
    state.cart = {};
    state.orderRetry = null;
    show($("order-form"), false);
    show($("order-open"), true);
    updateCart();
  }

  function renderProducts() {
    const cat = $("category").value;
    const rows = clear($("product-rows"));
    (state.catalog || []).filter((p) => p.category === cat).forEach((p) => {
      const qty = el("input", {
        type: "number", min: "0", max: "99", value: String(state.cart[p.id] ? state.cart[p.id].quantity : 0),
        "aria-label": p.name + " の数", "data-id": "qty-" + p.id, cls: "qty",
      });
      qty.addEventListener("input", () => {
        const n = Math.max(0, Math.min(99, parseInt(qty.value, 10) || 0));
        if (n) state.cart[p.id] = { product: p, quantity: n };
        else delete state.cart[p.id];
        state.orderRetry = null;
        updateCart();
      });
      rows.appendChild(el("tr", {}, [el("td", { text: p.name }), el("td", { cls: "num", text: yen(p.price_yen) }), el("td", { cls: "num" }, [qty])]));
    });
  }

  function updateCart() {
    const lines = Object.values(state.cart);
    const total = lines.reduce((a, x) => a + x.quantity * x.product.price_yen, 0);
    $("cart-summary").textContent = lines.length
      ? "かご：" + lines.map((x) => x.product.name + "×" + x.quantity).join("、") + "　合計 " + yen(total)
      : "数を入れると、かごに入ります。";
    $("order-submit").disabled = !lines.length;
  }

  $("order-submit").addEventListener("click", () => {
    hideError("order-error");
    const lines = Object.values(state.cart).map((x) => ({ product_id: x.product.id, quantity: x.quantity }));
    if (!lines.length) return;
    const body = { household_id: state.resident.household_id, lines: lines };
    const key = state.orderRetry || newKey();
    busy($("order-submit"), true);
    api("POST", "/api/v1/orders", body, { "Idempotency-Key": key }).then(
      (o) => {
        toast("注文しました：" + dateJa(o.delivery_date) + " お届け　合計 " + yen(o.total_yen));
        closeOrderForm();
        loadOrders();
      },
      (err) => {
        state.orderRetry = err.status === 0 ? key : null;
        showError("order-error", err);
        $("order-submit").disabled = false;
      }
    ).finally(() => $("order-submit").classList.remove("busy"));
  });

  /* ---------- TV boxes ---------- */

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
        const revoke = button("使えなくする", () => {
          if (revoke.getAttribute("data-armed") !== "1") {
            revoke.setAttribute("data-armed", "1");
            revoke.textContent = "本当に使えなくする";
            return;
          }
          revoke.disabled = true;
          api("POST", "/api/v1/devices/" + d.id + "/revoke").then(
            () => { toast("テレビ No." + d.id + " を使えなくしました。"); loadDevices(); },
            (err) => { revoke.disabled = false; showError("pair-error", err); }
          );
        }, { cls: "small danger-quiet", "data-id": "revoke-" + d.id });
        li.firstChild.appendChild(revoke);
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
      () => { $("pair-code").value = ""; toast("テレビを登録しました。テレビにメニューが出ます。"); loadDevices(); },
      (err) => showError("pair-error", err)
    ).finally(() => busy($("pair-btn"), false));
  });

  /* ---------- PIN ---------- */

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

  /* ---------- the board ---------- */

  $("board-refresh").addEventListener("click", () => refreshBoard());

  function refreshBoard() {
    if (!state.token) return Promise.resolve();
    return api("GET", "/api/v1/board").then(
      (b) => {
        hideError("board-error");
        renderBoard(b);
        if (state.resident && state.tab === "residents") loadRides(true); // statuses move on
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
            ? button(x.rider || "No." + x.resident_id, () => { selectTab("residents"); openResident(x.resident_id); }, { cls: "link" })
            : el("span", { text: x.rider || "―" }),
        ]),
        el("div", { cls: "row-info", text: "希望 " + hm(x.asked_pickup_from) + " 迎え" +
          (x.alternatives.length ? "　代わりの時間 " + x.alternatives.map(hm).join("・") : "　代わりの時間なし") }),
      ]));
    });
    const badge = $("board-badge");
    badge.textContent = risks ? "遅れ注意 " + risks : "";
    badge.hidden = !risks;
    renderDeliveries(b.deliveries);
    renderWatch(b.watch || []);
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

  /* Watch-over alerts: a household's TV silent too long. Escalated ones (the family did not answer)
     raise a banner over every tab until an operator deals with them. */
  function renderWatch(alerts) {
    const list = clear($("watch-list"));
    if (!alerts.length) list.appendChild(el("li", { cls: "muted", text: "ありません。" }));
    alerts.forEach((a) => {
      const status = a.acknowledged ? "確認済み" : a.escalated ? "ご家族から返事なし" : "ご家族に連絡済み";
      list.appendChild(el("li", { "data-id": "watch-" + a.id, cls: a.escalated && !a.acknowledged ? "late" : "" }, [
        el("div", { cls: "row-head" }, [
          el("span", { cls: "badge " + (a.escalated && !a.acknowledged ? "warn" : "caution"), text: status }),
          button(a.residents.join("・") || "世帯 " + a.household_id, () => {
            fetchHousehold(a.household_id);
          }, { cls: "link" }),
        ]),
        el("div", { cls: "row-info", text: "テレビ最終利用 " + stamp(a.inactive_since) + "　電話 " + (a.phone || "―") }),
        el("div", { cls: "row-info", text: "ご家族: " + (a.contacts.map((c) => c.name + (c.relation ? "（" + c.relation + "）" : "")).join("、") || "登録なし") }),
        a.acknowledged ? null : button("確認した", () => {
          api("POST", "/api/v1/watch/alerts/" + a.id + "/ack", { note: "" }).then(refreshBoard, (err) => showError("board-error", err));
        }, { cls: "small", "data-id": "watch-ack-" + a.id }),
      ]));
    });
    const open = alerts.filter((a) => a.escalated && !a.acknowledged);
    $("watch-banner-text").textContent = open.length
      ? "見守り：ご家族から返事がありません（" + open.length + "件）。本人かご家族に電話してください。"
      : "";
    $("watch-banner").hidden = !open.length;
  }

  function fetchHousehold(householdId) {
    return api("GET", "/api/v1/residents?limit=500").then((list) => {
      const r = list.find((x) => x.household_id === householdId);
      if (r) { selectTab("residents"); openResident(r.id); }
    });
  }

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
          el("span", { cls: "when", text: hm(f.departure) + " 発" }),
          el("span", { text: "第" + f.number + "便 " + f.drone }),
          el("span", { cls: "badge" + (f.status === "aborted" ? " warn" : ""), text: FLIGHT_LABELS[f.status] || f.status }),
        ]),
        el("div", { cls: "row-info", text: "公民館 " + f.halls.length + "か所（着陸 " + landed + "）" }),
      ]));
    });
  }

  /* ---------- start ---------- */

  try {
    const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
    if (saved && saved.token) {
      state.token = saved.token;
      state.user = saved.user || "";
    }
  } catch (e) { /* nothing saved */ }
  updateCart();
  if (state.token) startSession();
  else showLogin("");
})();
