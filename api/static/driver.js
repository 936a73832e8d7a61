/* The driver page (/driver): a taxi driver's phone in the car.
 *
 * Sign in (staff user name and password), choose the vehicle driven today, then one screen: the
 * next stop on top (pickup or drop-off, the promised time window, the rider, party, wheelchair,
 * notes, a call link and a map link) with the buttons for that stop, delay reports, position
 * reports, and the day's stops in visiting order below.
 *
 * - All times come from the server's clock (the manifest's `now`, servertime.js), never the phone's.
 * - The manifest is fetched every 10 s. A plan change that matters to the driver (a stop added or
 *   taken away, the order of the remaining stops, a promised time window) shows a yellow banner
 *   「予定が変わりました」 and marks the changed stops until the driver taps the banner. The driver's
 *   own reports change the plan too; those are not announced.
 * - A no-show is allowed only after waiting the tenant's no-show time from max(arrival, window
 *   start); until then the button is disabled with a countdown. The server checks it again.
 * - While a vehicle is chosen and within its shift the position is sent every 30 s (geolocation),
 *   and on demand with 「位置を送る」. A refused permission is explained, nothing else breaks.
 * - Errors are RFC 9457 problems, shown by the common renderer (common/problem.js): the server's
 *   Japanese message_ja (or a lead by status); never the server's English.
 *
 * The page runs on the field pages' shell (field.js): sign-in, API client, problem rendering and the
 * server's clock are the common ones. The session (token, role, user, chosen vehicle) is kept in
 * localStorage ("noriai.driver").
 */
"use strict";

(function () {
  var POLL_MS = 10000;
  var POSITION_MS = 30000;

  var T = window.NoriaiTime;
  var short = T.short;
  var app = null; // the field shell (field.js), started at the end

  var state = {
    vehicle: null, // the chosen vehicle {id, key, name, seats, shift, ...}
    vehicles: [],
    m: null, // the last manifest shown
    sig: "", // what was last drawn, to redraw only on a change
    loadSeq: 0, // only the newest manifest request is applied
    busy: false, // a report is being sent
    changes: {}, // stop key -> "追加" | "順番" | "時間" (until the banner is tapped)
    pressed: null, // data-id of the control pressed for a report on its way (the focus returns to it)
    removed: [], // rides whose stops were taken away: {ride_id, who, stops: ["10:00 迎え", ...]}
    confirmNoShow: null, // ride id awaiting the no-show confirmation
    error: null, // the problem of the last refused report
    pos: { text: "位置はまだ送っていません。", cls: "" },
    posSent: false, // the first position report since the vehicle was chosen has been made
    geoDenied: false, // the phone refused the location permission
    timers: []
  };

  var $screen = document.getElementById("screen");
  var $flash = document.getElementById("flash");
  var $banner = document.getElementById("banner");
  var $bannerDetail = document.getElementById("banner-detail");
  var $refresh = document.getElementById("refresh");
  var $brand = document.getElementById("brand");
  var brandText = $brand.textContent;
  var CALL = $screen.getAttribute("data-call") || ""; // the municipality's dispatch centre

  /* ---------- small helpers ---------- */

  var el = NoriaiDom.el, button = NoriaiDom.button; // dom.js

  function callLink() {
    if (!CALL) return null;
    return el("a", { cls: "btn secondary", href: "tel:" + CALL.replace(/[^0-9+]/g, ""), "data-id": "call-centre" }, [
      el("span", { cls: "label", text: "配車センターに電話" }), el("span", { cls: "sub", text: CALL })
    ]);
  }

  function para(text, cls, attrs) {
    var a = attrs || {};
    a.cls = cls;
    a.text = text;
    return el("p", a);
  }

  function flash(text) {
    $flash.removeAttribute("data-stale");
    app.flash(text);
  }

  /* The chosen vehicle is kept with the session. */
  function save() {
    app.save({ vehicle: state.vehicle ? state.vehicle.id : null });
  }

  function key(s) { return s.ride_id + ":" + s.kind; }
  /* "あと12分" / "いま" / "5分すぎ" from the server's clock */
  function eta(iso) {
    var mins = Math.round((T.parse(iso).getTime() - T.now().getTime()) / 60000);
    if (mins > 0) return "あと" + mins + "分";
    if (mins === 0) return "いま";
    return -mins + "分すぎ";
  }
  /* A wait in plain Japanese: "19分40秒", "5分", "40秒" (never "19:40", which reads as a clock time). */
  function waitText(ms) {
    var sec = Math.max(0, Math.ceil(ms / 1000));
    var min = Math.floor(sec / 60);
    sec = sec % 60;
    return (min ? min + "分" : "") + (sec || !min ? sec + "秒" : "");
  }

  /* ---------- problems and signing out ---------- */

  /* The driver's own words for the generic leads (where no problem document came back). */
  var PROBLEM = {
    tag: "p", prefix: "サーバー: ",
    texts: {
      0: "通信できません。電波のよい所で、もう一度押してください。",
      403: "この操作はできません（権限がありません）。",
      404: "見つかりませんでした。「更新」を押してください。",
      409: "いまはその操作ができません（予定の状態と合いません）。",
      429: "操作が多すぎます。{seconds}秒ほど待って、もう一度押してください。",
      500: "うまくいきませんでした。もう一度押すか、配車センターに電話してください。",
      other: "うまくいきませんでした。もう一度押すか、配車センターに電話してください。"
    }
  };

  function errorBox(err) {
    return err ? app.problem(err, null, { id: "error" }) : null;
  }

  /* The shell signed out (the driver, or a lapsed token): nothing of the vehicle stays. */
  function signedOut() {
    stopTimers();
    state.vehicle = null;
    state.m = null;
    state.sig = "";
    state.changes = {};
    state.removed = [];
    showBanner();
    flash("");
    $refresh.hidden = true;
    $brand.textContent = brandText;
  }

  function signOut(notice) {
    app.signOut(notice);
  }

  /* ---------- choosing the vehicle ---------- */

  function chooseVehicle(wanted) {
    stopTimers();
    $refresh.hidden = true;
    $screen.textContent = "";
    $screen.appendChild(el("div", { cls: "stack", "aria-busy": "true" }, [
      el("h1", { tabindex: "-1", text: "車両を選ぶ" }), para("よみこんでいます…", "muted")
    ]));
    return app.api("GET", "/api/v1/vehicles").then(function (list) {
      state.vehicles = list;
      var pick = list.filter(function (v) { return v.id === wanted; })[0];
      if (pick) { startVehicle(pick); return; }
      var box = el("div", { cls: "stack" }, [
        el("h1", { tabindex: "-1", text: "今日乗る車両を選んでください" })
      ]);
      if (!list.length) box.appendChild(para("選べる車両がありません。配車センターに電話してください。", "box warn"));
      list.forEach(function (v) {
        var sub = "定員" + v.seats + "人" + (v.wheelchair_places ? "・車いす" + v.wheelchair_places : "") +
          (v.shift ? "・" + short(v.shift.start) + "〜" + short(v.shift.end) : "");
        box.appendChild(button(v.name, function () { startVehicle(v); }, {
          cls: "pick", id: "vehicle-" + v.key, sub: sub
        }));
      });
      box.appendChild(button("サインアウト", function () { signOut("サインアウトしました。"); }, {
        cls: "secondary", id: "signout"
      }));
      $screen.textContent = "";
      $screen.appendChild(box);
      box.querySelector("h1").focus({ preventScroll: true });
    }, function (err) {
      if (err.handled) return;
      $screen.textContent = "";
      $screen.appendChild(el("div", { cls: "stack" }, [
        el("h1", { tabindex: "-1", text: "車両を選ぶ" }),
        errorBox(err),
        button("もう一度ためす", function () { chooseVehicle(wanted); }, { cls: "primary", id: "retry" }),
        button("サインアウト", function () { signOut(); }, { cls: "secondary", id: "signout" })
      ]));
    });
  }

  function startVehicle(v) {
    state.vehicle = v;
    state.m = null;
    state.sig = "";
    state.changes = {};
    state.removed = [];
    state.error = null;
    state.posSent = false;
    state.geoDenied = false;
    save();
    $brand.textContent = v.name;
    $refresh.hidden = false;
    $screen.textContent = "";
    $screen.appendChild(el("div", { cls: "stack", "aria-busy": "true" }, [
      el("h1", { tabindex: "-1", text: v.name }), para("今日の予定をよみこんでいます…", "muted")
    ]));
    // the button pressed is gone: the focus on the heading, then on the next stop once drawn (render)
    $screen.querySelector("h1").focus({ preventScroll: true });
    load(null).then(function () { window.scrollTo(0, 0); });
    stopTimers();
    state.timers.push(setInterval(poll, POLL_MS));
    state.timers.push(setInterval(tick, 1000));
    state.timers.push(setInterval(function () { reportPosition(false); }, POSITION_MS));
  }

  function stopTimers() {
    state.timers.forEach(function (t) { clearInterval(t); });
    state.timers = [];
  }

  /* ---------- the manifest and its changes ---------- */

  /* Fetch the manifest; `own` is the ride id of a report this page just made (its changes are
   * expected), or true for a report about the whole vehicle. Only the newest request is applied. */
  function load(own) {
    if (!state.vehicle) return Promise.resolve();
    var seq = ++state.loadSeq;
    var vid = state.vehicle.id;
    return app.api("GET", "/api/v1/vehicles/" + vid + "/manifest").then(function (m) {
      if (seq !== state.loadSeq || !state.vehicle || state.vehicle.id !== vid) return;
      apply(m, own);
    }, function (err) {
      if (err.handled || seq !== state.loadSeq) return;
      if (!state.m) {
        $screen.textContent = "";
        $screen.appendChild(el("div", { cls: "stack" }, [
          el("h1", { tabindex: "-1", text: state.vehicle.name }),
          errorBox(err),
          button("もう一度ためす", function () { startVehicle(state.vehicle); }, { cls: "primary", id: "retry" }),
          button("車両を変える", function () { chooseVehicle(); }, { cls: "secondary", id: "change-vehicle" })
        ]));
      } else {
        flash("予定を更新できませんでした（" + (err.status ? "エラー " + err.status : "通信できません") + "）。");
        $flash.setAttribute("data-stale", "1");
      }
    });
  }

  function poll() {
    if (state.busy || document.hidden) return;
    load(null);
  }

  function windowSig(s) { return (s.window.start || "") + "|" + (s.window.end || ""); }

  /* What changed for the driver between two manifests (not counting the ride `own` reported). */
  function diff(prev, next, own) {
    var before = {}, after = {}, changes = {}, removed = [];
    prev.stops.forEach(function (s) { before[key(s)] = s; });
    next.stops.forEach(function (s) { after[key(s)] = s; });
    next.stops.forEach(function (s) {
      if (s.ride_id === own) return;
      var b = before[key(s)];
      if (!b) changes[key(s)] = "追加";
      else if (windowSig(b) !== windowSig(s)) changes[key(s)] = "時間";
    });
    prev.stops.forEach(function (s) {
      if (s.ride_id === own || s.done || after[key(s)]) return;
      removed.push(s);
    });
    var pending = function (list, other) {
      return list.filter(function (s) {
        var o = other[key(s)];
        return !s.done && s.ride_id !== own && o && !o.done;
      }).map(key);
    };
    var p0 = pending(prev.stops, after), p1 = pending(next.stops, before);
    for (var i = 0; i < p1.length; i++) {
      if (p0[i] !== p1[i] && !changes[p1[i]]) changes[p1[i]] = "順番";
    }
    return { changes: changes, removed: removed };
  }

  function apply(m, own) {
    T.sync(m.now);
    if ($flash.getAttribute("data-stale") === "1") flash("");
    var prev = state.m;
    if (prev && prev.vehicle_id === m.vehicle_id && prev.plan_version !== m.plan_version) {
      var d = diff(prev, m, own);
      Object.keys(d.changes).forEach(function (k) { state.changes[k] = d.changes[k]; });
      d.removed.forEach(function (s) {
        var r = state.removed.filter(function (x) { return x.ride_id === s.ride_id; })[0];
        if (!r) {
          r = { ride_id: s.ride_id, who: whoShort(s), stops: [] };
          state.removed.push(r);
        }
        r.stops.push(short(s.planned_time) + " " + kindLabel(s));
      });
    }
    state.m = m;
    // forget marks of stops that are gone or done
    var live = {};
    m.stops.forEach(function (s) { if (!s.done) live[key(s)] = 1; });
    Object.keys(state.changes).forEach(function (k) { if (!live[k]) delete state.changes[k]; });
    showBanner();
    if (!state.posSent) { // the first report as soon as the server's clock is known
      state.posSent = true;
      reportPosition(false);
    }
    var sig = JSON.stringify([m.plan_version, m.stops, m.delayed_until, state.changes, state.removed.length]);
    if (sig !== state.sig) {
      state.sig = sig;
      render();
    }
    tick();
  }

  function showBanner() {
    var n = Object.keys(state.changes).length;
    if (!n && !state.removed.length) {
      $banner.hidden = true;
      document.documentElement.style.scrollPaddingTop = "";
      return;
    }
    var parts = [], added = {}, order = [], other = 0;
    (state.m ? state.m.stops : []).forEach(function (s) {
      var c = state.changes[key(s)];
      if (!c) return;
      if (c !== "追加") { other++; return; }
      if (!added[s.ride_id]) {
        added[s.ride_id] = { who: whoShort(s), stops: [] };
        order.push(s.ride_id);
      }
      added[s.ride_id].stops.push(short(s.planned_time) + " " + kindLabel(s));
    });
    order.forEach(function (id) { parts.push("追加：" + added[id].who + "（" + added[id].stops.join("・") + "）"); });
    state.removed.forEach(function (r) { parts.push(goneLabel(r.ride_id) + r.who + "（" + r.stops.join("・") + "）"); });
    if (other) parts.push("順番・時間の変更 " + other + "か所（黄色の印）");
    $bannerDetail.textContent = "";
    parts.forEach(function (t) { $bannerDetail.appendChild(el("span", { text: t })); });
    $banner.hidden = false;
    // the sticky banner never covers the focused control (WCAG 2.4.11): focus scrolls it clear
    document.documentElement.style.scrollPaddingTop = $banner.offsetHeight + 12 + "px";
  }

  /* Why a ride's stops left this vehicle: cancelled, no-show (reported from elsewhere), else moved. */
  function goneLabel(rideId) {
    var ended = ((state.m && state.m.ended) || []).filter(function (x) { return x.ride_id === rideId; })[0];
    if (!ended) return "ほかの車へ：";
    return ended.status === "no_show" ? "乗車なし：" : "取り消し：";
  }

  $banner.addEventListener("click", function () {
    state.changes = {};
    state.removed = [];
    showBanner();
    if (state.m) { state.sig = ""; apply(state.m, null); }
    refocus("next"); // the banner is gone: the focus goes to the next stop, not to the top
  });

  $refresh.addEventListener("click", function () {
    flash("");
    state.error = null;
    state.sig = "";
    load(null);
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.vehicle) poll();
  });

  /* ---------- drawing ---------- */

  function whoShort(s) { return s.ride_kind === "freight" ? "荷物" : (s.rider || "") + "さん"; }

  function kindLabel(s) {
    if (s.ride_kind === "freight") return s.kind === "pickup" ? "積込" : "配達";
    return s.kind === "pickup" ? "迎え" : "降車";
  }
  function kindCls(s) { return s.ride_kind === "freight" ? "freight" : s.kind; }

  function windowText(s) {
    if (s.kind === "pickup" && s.window.start) return "約束 " + short(s.window.start) + "〜" + short(s.window.end);
    return short(s.window.end) + " までに着く";
  }

  // The server names every stop (自宅, a place, the drone base); a home comes with its address.
  function placeText(s) {
    return s.address ? s.place_name + "　" + s.address : s.place_name;
  }

  function hallName(s) {
    var c = s.cargo || {};
    var drop = state.m.stops.filter(function (x) { return x.ride_id === s.ride_id && x.kind === "dropoff"; })[0];
    return (drop && drop.place_name) || c.hall_id || "";
  }

  function cargoText(s) {
    var c = s.cargo || {};
    var orders = Array.isArray(c.orders) ? c.orders.length : (c.orders || 0);
    var bits = ["注文 " + orders + "件"];
    if (c.weight_kg !== undefined && c.weight_kg !== null) bits.push(c.weight_kg + "kg");
    var hall = hallName(s);
    if (hall) bits.push("届け先 " + hall);
    return bits.join("・");
  }

  function whoLine(s, big) {
    if (s.ride_kind === "freight") return el("p", { cls: big ? "who" : "who-s", text: cargoText(s) });
    return el("p", { cls: big ? "who" : "who-s" }, [
      el("span", { cls: "name", text: (s.rider || "名前なし") + " さん" }),
      " ",
      el("span", { cls: "party", text: s.party_size + "人" }),
      s.wheelchair ? el("span", { cls: "chair", text: "車いす" }) : null
    ]);
  }

  function waitUntil(s) {
    if (!s.arrived_at) return null;
    var start = T.parse(s.arrived_at);
    if (s.window.start) {
      var ws = T.parse(s.window.start);
      if (ws > start) start = ws;
    }
    return new Date(start.getTime() + state.m.no_show_wait_minutes * 60000);
  }

  function nextStop() {
    return state.m.stops.filter(function (s) { return !s.done; })[0] || null;
  }

  /* The control a redraw keeps the focus on: its data-id (or id), when the focus is in the screen,
     or the one pressed for a report on its way (a report disables it while it is sent). */
  function focusKey() {
    var a = document.activeElement;
    if (a && a !== $screen && $screen.contains(a)) return a.getAttribute("data-id") || a.id || "next";
    return state.pressed || null;
  }
  /* After a redraw: the same control again, else the next stop (the result of a report). */
  function refocus(key) {
    state.pressed = null;
    if (!key) return;
    var e = $screen.querySelector('[data-id="' + key + '"]') || document.getElementById(key);
    if (!e || e.disabled || !$screen.contains(e)) e = document.getElementById("next");
    if (!e) return;
    if (!e.matches("button, a[href], input, [tabindex]")) e.setAttribute("tabindex", "-1");
    e.focus({ preventScroll: true });
  }

  /* After a report: the focused control in sight (clear of the banner), else the top. */
  function inSight() {
    var f = document.activeElement;
    if (f && f !== document.body && $screen.contains(f)) f.scrollIntoView({ block: "nearest" });
    else window.scrollTo(0, 0);
  }

  function render() {
    var key = focusKey();
    var m = state.m;
    var next = nextStop();
    var box = el("div", { cls: "stack" });
    box.appendChild(el("h1", { cls: "sr-only", tabindex: "-1", text: state.vehicle.name + " 今日の予定" }));
    if (state.error) box.appendChild(errorBox(state.error));
    box.appendChild(next ? nextCard(next) : el("section", { cls: "card next", id: "next", "data-id": "next-none" }, [
      para(m.stops.length ? "今日の予定は、すべて終わりました。おつかれさまでした。" : "いまは予定がありません。", "big"),
      para("新しい予定が入ると、ここに出ます。", "")
    ]));
    if (next) box.appendChild(delaySection());
    box.appendChild(positionSection());
    box.appendChild(listSection(next));
    box.appendChild(el("div", { cls: "stack footer" }, [
      callLink(),
      button("車両を変える", function () { state.vehicle = null; save(); chooseVehicle(); }, { cls: "secondary", id: "change-vehicle" }),
      button("サインアウト", function () { signOut("サインアウトしました。"); }, { cls: "secondary", id: "signout" })
    ]));
    $screen.textContent = "";
    $screen.removeAttribute("aria-busy");
    $screen.appendChild(box);
    refocus(key);
  }

  function nextCard(s) {
    var change = state.changes[key(s)];
    var card = el("section", {
      cls: "card next k-" + kindCls(s) + (change ? " changed" : ""), id: "next", "data-id": "next",
      "data-ride": s.ride_id, "data-kind": s.kind, "data-planned": s.planned_time, "data-status": s.ride_status,
      "data-lat": s.lat, "data-lon": s.lon,
      "aria-labelledby": "next-h"
    }, [
      el("div", { cls: "next-head" }, [
        el("h2", { id: "next-h", cls: "next-label", text: "次の行き先" }),
        change ? el("span", { cls: "mark", text: "変更" }) : null
      ]),
      el("div", { cls: "next-when" }, [
        el("span", { cls: "tag " + kindCls(s), text: kindLabel(s) }),
        el("span", { cls: "time", "data-id": "next-time", text: short(s.planned_time) }),
        el("span", { cls: "eta", id: "next-eta", "data-at": s.planned_time, text: eta(s.planned_time) }),
        el("span", { cls: "window", "data-id": "next-window", text: windowText(s) })
      ]),
      whoLine(s, true),
      para(s.place_name, "where", { "data-id": "next-place" }),
      s.address ? para(s.address, "where", { "data-id": "next-address" }) : null,
      s.fare_note ? para(s.fare_note, "fare", { "data-id": "fare" }) : null,
      s.notes ? para("メモ：" + s.notes, "box notes", { "data-id": "notes" }) : null,
      s.ride_status === "vehicle_arrived" && s.arrived_at ? para(short(s.arrived_at) + " に着きました。", "arrived") : null
    ]);
    var links = el("div", { cls: "links" }, [
      s.phone ? el("a", { cls: "btn secondary link", href: "tel:" + s.phone.replace(/[^0-9+]/g, ""), "data-id": "call" }, [
        el("span", { cls: "label", text: "電話する" }), el("span", { cls: "sub", text: s.phone })
      ]) : null,
      // a Google Maps directions link (server-made): opens the app on Android and iOS, a link only
      el("a", { cls: "btn secondary link", href: s.navigation_url, target: "_blank", rel: "noopener", "data-id": "map" }, [
        el("span", { cls: "label", text: "地図" }), el("span", { cls: "sub", text: "ナビを開く" })
      ])
    ]);
    card.appendChild(links);
    card.appendChild(actions(s));
    return card;
  }

  function actions(s) {
    var box = el("div", { cls: "actions" });
    var freight = s.ride_kind === "freight";
    if (s.kind === "pickup" && freight) {
      box.appendChild(button("積みました", function () { report("picked_up", s, "積みました"); }, { cls: "go big", id: "picked-up" }));
    } else if (s.kind === "pickup" && s.ride_status === "confirmed") {
      box.appendChild(button("着きました", function () { report("arrived", s, "着いたことを送りました"); }, { cls: "primary big", id: "arrived" }));
    } else if (s.kind === "pickup" && s.ride_status === "vehicle_arrived") {
      if (state.confirmNoShow === s.ride_id) {
        box.appendChild(el("div", { cls: "confirm box warn", role: "group", "aria-labelledby": "noshow-q" }, [
          para((s.rider || "") + " さんは来ませんでしたか？", "q", { id: "noshow-q" }),
          para("「乗車なし」にすると、この予約は終わり、降車の予定も消えます。"),
          button("乗車なしにする", function () { report("no_show", s, "乗車なしを記録しました"); }, { cls: "danger", id: "no-show-yes" }),
          button("もどる", function () { state.confirmNoShow = null; render(); }, { cls: "secondary", id: "no-show-no" })
        ]));
        return box;
      }
      box.appendChild(button("乗車しました", function () { report("picked_up", s, "乗車を記録しました"); }, { cls: "go big", id: "picked-up" }));
      var until = waitUntil(s);
      var left = until ? until.getTime() - T.now().getTime() : 0;
      var ns = button("乗車なし", function () { state.confirmNoShow = s.ride_id; render(); }, {
        cls: "secondary", id: "no-show", disabled: left > 0,
        sub: left > 0 ? "あと" + waitText(left) + " 待つ" : "来なかったとき"
      });
      if (until) ns.setAttribute("data-until", until.toISOString());
      box.appendChild(ns);
    } else if (s.kind === "dropoff" && s.ride_status === "on_board") {
      box.appendChild(button(freight ? "届けました" : "降車しました", function () {
        report("dropped_off", s, freight ? "配達を記録しました" : "降車を記録しました");
      }, { cls: "go big", id: "dropped-off" }));
    } else {
      box.appendChild(para("このお客さんは、まだ乗っていません。先に迎えに行ってください。", "box warn"));
    }
    return box;
  }

  function delaySection() {
    var m = state.m;
    var row = el("div", { cls: "three" });
    [5, 10, 20].forEach(function (n) {
      row.appendChild(button(n + "分遅れ", function () { delay(n); }, { cls: "secondary", id: "delay-" + n }));
    });
    return el("section", { cls: "stack tight", "aria-labelledby": "delay-h" }, [
      el("h2", { id: "delay-h", text: "遅れを知らせる" }),
      row,
      m.delayed_until ? para("遅れを連絡しました（" + short(m.delayed_until) + " ごろまで）。", "box info", { "data-id": "delayed" }) : null
    ]);
  }

  function positionSection() {
    return el("section", { cls: "stack tight", "aria-labelledby": "pos-h" }, [
      el("h2", { id: "pos-h", text: "車の位置" }),
      para(state.pos.text, "pos " + state.pos.cls, { id: "pos-status", "data-id": "pos-status", "aria-live": "polite" }),
      button("位置を送る", function () { reportPosition(true); }, { cls: "secondary", id: "send-position" })
    ]);
  }

  /* The driver may serve a later stop first (the server puts it at the front of the plan). */
  function outOfOrder(s) {
    var freight = s.ride_kind === "freight";
    if (s.kind === "pickup" && !freight && s.ride_status === "confirmed") {
      return button("先にここに着いた", function () { report("arrived", s, "着いたことを送りました"); }, {
        cls: "secondary small", id: "early-arrived-" + s.ride_id
      });
    }
    if (s.kind === "dropoff" && s.ride_status === "on_board") {
      return button(freight ? "先にここで届けた" : "先にここで降車した", function () {
        report("dropped_off", s, freight ? "配達を記録しました" : "降車を記録しました");
      }, { cls: "secondary small", id: "early-dropped-" + s.ride_id });
    }
    return null;
  }

  function pendingIndex(s) {
    return state.m.stops.filter(function (x) { return !x.done; }).indexOf(s);
  }

  function listSection(next) {
    var m = state.m;
    var list = el("ol", { cls: "stops" });
    m.stops.forEach(function (s) {
      var change = state.changes[key(s)];
      var status = s.done ? (s.kind === "pickup" ? (s.ride_kind === "freight" ? "積込済み" : "乗車済み") : (s.ride_kind === "freight" ? "配達済み" : "降車済み"))
        : (s.ride_status === "vehicle_arrived" && s.kind === "pickup" ? "到着中" : "");
      list.appendChild(el("li", {
        cls: "stop" + (s.done ? " done" : "") + (s === next ? " current" : "") + (change ? " changed" : ""),
        "data-id": "stop-" + s.ride_id + "-" + s.kind
      }, [
        el("div", { cls: "row1" }, [
          // a done stop: when it was done (the tap, or the operator's correction), not the plan
          el("span", { cls: "time", text: short(s.done ? s.done_at || s.planned_time : s.planned_time) }),
          el("span", { cls: "tag " + kindCls(s), text: kindLabel(s) }),
          status ? el("span", { cls: "state", text: status }) : null,
          change ? el("span", { cls: "mark", text: change === "追加" ? "追加" : "変更" }) : null
        ]),
        whoLine(s, false),
        el("p", { cls: "meta", text: [placeText(s), windowText(s), s.done ? null : s.fare_note].filter(Boolean).join("・") }),
        s !== next && !s.done && pendingIndex(s) <= 3 ? outOfOrder(s) : null
      ]));
    });
    var done = m.stops.filter(function (s) { return s.done; }).length;
    return el("section", { cls: "stack tight", "aria-labelledby": "list-h" }, [
      el("h2", { id: "list-h", text: "今日の予定（" + done + "/" + m.stops.length + " 済み）" }),
      m.stops.length ? list : para("今日の予定はまだありません。", "muted")
    ]);
  }

  /* Every second: the clock, and the no-show countdown. */
  function tick() {
    if (!app.token || !state.m) return;
    app.tick();
    var e = document.getElementById("next-eta");
    if (e) e.textContent = eta(e.getAttribute("data-at"));
    var b = document.querySelector('[data-id="no-show"]');
    if (!b || !b.getAttribute("data-until")) return;
    var left = new Date(b.getAttribute("data-until")).getTime() - T.now().getTime();
    var sub = b.querySelector(".sub");
    if (left > 0) {
      b.disabled = true;
      sub.textContent = "あと" + waitText(left) + " 待つ";
    } else if (b.disabled) {
      b.disabled = false;
      sub.textContent = "来なかったとき";
    }
  }

  /* ---------- reports ---------- */

  /* While a report is on its way every report button is disabled (no double taps). */
  function setBusy() {
    state.busy = true;
    Array.prototype.forEach.call($screen.querySelectorAll(".actions button, .three button, li.stop button"), function (b) {
      b.disabled = true;
    });
  }

  function report(type, s, done) {
    if (state.busy) return;
    state.pressed = focusKey();
    setBusy();
    state.loadSeq++; // a manifest already on its way is older than this report
    state.error = null;
    flash("送っています…");
    app.api("POST", "/api/v1/vehicles/" + state.vehicle.id + "/events", { type: type, ride_id: s.ride_id }).then(function (r) {
      state.confirmNoShow = null;
      flash(done + "（" + short(r.at) + "）");
      return load(s.ride_id);
    }, function (err) {
      if (err.handled) return null;
      state.confirmNoShow = null;
      state.error = err;
      flash("");
      state.sig = "";
      return load(s.ride_id);
    }).then(function () {
      state.busy = false;
      state.sig = "";
      if (state.m) render(); // the focus: on the control again, or on the next stop
      tick();
      inSight();
    });
  }

  function delay(minutes) {
    if (state.busy) return;
    state.pressed = focusKey();
    setBusy();
    state.loadSeq++;
    state.error = null;
    flash("送っています…");
    app.api("POST", "/api/v1/vehicles/" + state.vehicle.id + "/events", { type: "delay", minutes: minutes }).then(function () {
      flash(minutes + "分遅れを配車センターに知らせました。");
      return load(true);
    }, function (err) {
      if (err.handled) return null;
      state.error = err;
      flash("");
      return load(true);
    }).then(function () {
      state.busy = false;
      state.sig = "";
      if (state.m) render();
      inSight();
    });
  }

  function onShift() {
    var sh = state.vehicle && state.vehicle.shift;
    if (!sh || !sh.start || !sh.end) return true;
    var now = T.now();
    return now >= T.at(sh.start) && now <= T.at(sh.end);
  }

  function setPos(text, cls) {
    state.pos = { text: text, cls: cls || "" };
    var p = document.getElementById("pos-status");
    if (p) {
      p.textContent = text;
      p.className = "pos " + (cls || "");
    }
  }

  function geoProblem(e) {
    if (e && e.code === 1) {
      return "位置情報が許可されていません。スマホの設定で、このページに位置情報を「許可」してください。予定と報告のボタンは、そのまま使えます。";
    }
    return "いまの位置がわかりません（GPS の電波が弱いかもしれません）。少ししてから「位置を送る」を押してください。";
  }

  /* One position: from the phone's GPS to the server. Automatic reports (every 30 s within the
   * shift) stop after a refused permission until the driver presses 「位置を送る」. */
  function reportPosition(manual) {
    if (!state.vehicle || !app.token) return;
    if (!manual) {
      if (!state.m || state.geoDenied) return; // the shift check needs the server's clock
      if (!onShift()) {
        setPos("勤務時間の外なので、位置は自動では送りません。", "");
        return;
      }
    }
    if (!navigator.geolocation) {
      setPos("このスマホでは位置情報が使えません。予定と報告のボタンは、そのまま使えます。", "warn");
      return;
    }
    if (manual) setPos("位置を調べています…", "");
    var vid = state.vehicle.id;
    navigator.geolocation.getCurrentPosition(function (p) {
      state.geoDenied = false;
      if (!state.vehicle || state.vehicle.id !== vid) return;
      var body = { type: "position", lat: p.coords.latitude, lon: p.coords.longitude };
      app.api("POST", "/api/v1/vehicles/" + vid + "/events", body).then(function (r) {
        setPos("位置を送りました（" + short(r.at) + "）。勤務時間中は30秒ごとに自動で送ります。", "ok");
      }, function (err) {
        if (err.handled) return;
        setPos("位置を送れませんでした。" + app.problemText(err), "warn");
      });
    }, function (e) {
      if (e.code === 1) state.geoDenied = true;
      setPos(geoProblem(e), "warn");
    }, { enableHighAccuracy: true, maximumAge: manual ? 5000 : 20000, timeout: 20000 });
  }

  /* ---------- start ---------- */

  app = NoriaiField.start({
    store: "noriai.driver", roles: ["driver", "operator", "admin"], roleName: "運転手",
    title: "運転手 サインイン",
    intro: "会社から受け取ったユーザー名とパスワードを入れてください。",
    after: function () { return [para("わからないときは、会社か配車センターに聞いてください。", "muted"), callLink()]; },
    wrongRole: "この画面は運転手用です。運転手のユーザー名でサインインしてください。",
    expired: "サインインの期限が切れました。もう一度サインインしてください。",
    signInCls: "primary big", keepUser: true, problem: PROBLEM,
    clock: function () { return state.m ? T.hhmm(T.now()) : ""; },
    onSignOut: signedOut,
    home: function (a, session) { chooseVehicle(session.vehicle); }
  });
})();
