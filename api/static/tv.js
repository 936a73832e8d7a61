/* The TV page: everything with the remote control alone.
 *
 * Keys: arrows move the focus, Enter (決定) chooses, Backspace / Escape (戻る) goes back, digits
 * choose numbered items or type a quantity, the colour keys open the four menus:
 * 青 タクシー予約, 赤 買い物, 緑 予約の確認, 黄 お知らせ (Hybridcast/ARIB VK codes 406, 403, 404,
 * 405, or F1-F4 on a keyboard). Each screen says what the keys do in the bar at the bottom.
 *
 * The box keeps a device token in localStorage (and the municipality it registered with: on
 * another town's page it registers anew); until an operator pairs it with a household it shows a
 * pairing code. All times come from the server's clock. Requests go through the common API
 * client (common/api.js, with a 20 s limit: set-top box networks hang); what a refusal says comes
 * from the common renderer (common/problem.js: the server's plain Japanese).
 */
"use strict";

(function () {
  var TOKEN_KEY = "noriai.device";
  var TENANT_KEY = "noriai.device.tenant"; // the municipality the box registered with
  var KEY = {
    UP: [38], DOWN: [40], LEFT: [37], RIGHT: [39], ENTER: [13],
    BACK: [8, 27, 461, 10009],
    BLUE: [406, 112], RED: [403, 113], GREEN: [404, 114], YELLOW: [405, 115]
  };
  var KEY_NAMES = {
    ColorF3Blue: "BLUE", ColorF0Red: "RED", ColorF1Green: "GREEN", ColorF2Yellow: "YELLOW",
    F1: "BLUE", F2: "RED", F3: "GREEN", F4: "YELLOW", GoBack: "BACK", BrowserBack: "BACK"
  };

  var state = {
    token: null,
    me: null,
    stack: [], // screens to go back to
    screen: null,
    cart: {}, // product id -> {product, quantity}
    seenNotices: {},
    busy: false
  };

  var $screen = document.getElementById("screen");
  var $keys = document.getElementById("keys");
  var $banner = document.getElementById("banner");
  var $reminder = document.getElementById("reminder");
  var $reminderOk = document.getElementById("reminder-ok");
  var reminderReturn = null; // what had the focus when a reminder covered the screen (it gets it back)
  var $clock = document.getElementById("clock");
  // whether the cable-TV company collects the charges with the TV bill (the town's collector)
  var billedWithTv = $screen.getAttribute("data-billed-with-tv") === "yes";

  /* ---------- small helpers ---------- */

  var el = NoriaiDom.el; // common/dom.js

  /* A focusable item (in the Tab order too, so a scrolling list has focusable content); `n` (1-9,
     0 for the tenth) lets a digit key choose it. */
  function item(label, onselect, opts) {
    opts = opts || {};
    var attrs = { cls: "f " + (opts.cls || ""), tabindex: "0", role: "button" };
    if (opts.id) attrs["data-id"] = opts.id;
    var kids = [];
    if (opts.n !== undefined) {
      attrs["data-n"] = String(opts.n % 10);
      kids.push(el("span", { cls: "n", text: String(opts.n % 10) }));
      kids.push(" ");
    }
    if (opts.pic) kids.push(el("span", { cls: "pic", "aria-hidden": "true", text: opts.pic }));
    var body = typeof label === "string" ? el("span", { text: label }) : label;
    if (opts.sub) body = el("span", { cls: "body" }, [body, el("span", { cls: "sub", text: opts.sub })]);
    kids.push(body);
    var node = el("div", attrs, kids);
    node.onselect_ = onselect; // Enter (決定) calls it
    return node;
  }

  var T = window.NoriaiTime; // the server's clock and zone (servertime.js)
  var parseInstant = T.parse, serverNow = T.now, hhmm = T.hhmm, isoLocal = T.iso, atLocal = T.at;
  var yen = T.yen, short = T.short;

  /* ---------- the API ---------- */

  var client = NoriaiApi.client({ token: function () { return state.token; }, timeout: 20000 });
  function api(method, path, body, extraHeaders) {
    return client.request(method, path, body, { headers: extraHeaders });
  }
  var randomKey = NoriaiApi.newKey;

  /* What a refusal says on the TV: the server's plain Japanese, or a lead by status. */
  var SAY = {
    resident: true,
    texts: { 0: "通信できません。しばらくしてから、もう一度ためしてください。", other: "うまくいきませんでした。もう一度ためしてください。" }
  };
  function say(err) { return NoriaiProblem.text(err, SAY); }

  /* ---------- focus and keys ---------- */

  function focusables() {
    return Array.prototype.slice.call($screen.querySelectorAll(".f"));
  }

  function focus(e) {
    if (!e) return;
    if (!$reminder.hidden && !$reminder.contains(e)) { reminderReturn = e; return; } // after the reminder
    e.focus({ preventScroll: true });
    if (e.scrollIntoView) e.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  /* Spatial navigation: the nearest focusable in the arrow's direction, preferring ones in line. */
  function move(dir) {
    var items = focusables();
    var cur = document.activeElement;
    if (items.indexOf(cur) < 0) { focus(items[0]); return; }
    var a = cur.getBoundingClientRect();
    var ax = a.left + a.width / 2, ay = a.top + a.height / 2;
    var best = null, bestScore = Infinity;
    items.forEach(function (c) {
      if (c === cur) return;
      var b = c.getBoundingClientRect();
      var bx = b.left + b.width / 2, by = b.top + b.height / 2;
      var primary, ortho, overlap;
      if (dir === "UP" || dir === "DOWN") {
        primary = dir === "UP" ? a.top - b.bottom : b.top - a.bottom;
        if ((dir === "UP" ? by >= ay : by <= ay)) return;
        overlap = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        ortho = overlap > 0 ? 0 : Math.abs(bx - ax);
      } else {
        primary = dir === "LEFT" ? a.left - b.right : b.left - a.right;
        if ((dir === "LEFT" ? bx >= ax : bx <= ax)) return;
        overlap = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        ortho = overlap > 0 ? 0 : Math.abs(by - ay);
      }
      var score = Math.max(primary, 0) + 2 * ortho;
      if (score < bestScore) { bestScore = score; best = c; }
    });
    if (best) focus(best);
  }

  function keyOf(e) {
    if (KEY_NAMES[e.key]) return KEY_NAMES[e.key];
    var code = e.keyCode || e.which;
    for (var name in KEY) { if (KEY[name].indexOf(code) >= 0) return name; }
    if (code >= 48 && code <= 57) return "D" + (code - 48);
    if (code >= 96 && code <= 105) return "D" + (code - 96);
    return null;
  }

  document.addEventListener("keydown", function (e) {
    var k = keyOf(e);
    if (!k) return;
    e.preventDefault();
    reportActivity("key");
    if (!$reminder.hidden) {  // a reminder holds the focus: 決定, 戻る or 1 close it; arrows stay on it; other keys wait
      if (k === "ENTER" || k === "BACK" || k === "D1") dismissReminder();
      else if (k === "UP" || k === "DOWN" || k === "LEFT" || k === "RIGHT") focus($reminderOk);
      return;
    }
    if (state.busy) return;
    var s = state.screen;
    if (s && s.onkey && s.onkey(k) === true) return;
    if (k === "UP" || k === "DOWN" || k === "LEFT" || k === "RIGHT") { move(k); return; }
    if (k === "ENTER") {
      var f = document.activeElement;
      if (f && f.onselect_) f.onselect_();
      return;
    }
    if (k === "BACK") { back(); return; }
    if (k.charAt(0) === "D") {
      var hit = $screen.querySelector('.f[data-n="' + k.slice(1) + '"]');
      if (hit) { focus(hit); if (hit.onselect_) hit.onselect_(); }
      return;
    }
    if (!state.me) return;
    if (k === "BLUE") top(screens.rideWho);
    else if (k === "RED") top(screens.shop);
    else if (k === "GREEN") top(screens.mine);
    else if (k === "YELLOW") top(screens.notices);
  });

  /* ---------- screens ---------- */

  /* Show a screen: {render() -> element, keys: [[key, what]], focus: element, onkey}. */
  function show(screen, push) {
    if (push && state.screen) {
      state.screen.lastFocus = document.activeElement && document.activeElement.getAttribute("data-id");
      state.stack.push(state.screen);
    }
    state.screen = screen;
    $screen.innerHTML = "";
    var root = screen.render();
    $screen.appendChild(root);
    hints(screen.keys || [["↑↓←→", "えらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]);
    var first = screen.first || remembered() || $screen.querySelector(".f[data-first]") || focusables()[0];
    if (first) focus(first); else { $screen.setAttribute("tabindex", "-1"); $screen.focus(); }
  }
  /* The item focused when the person left this screen, when it is still there. */
  function remembered() {
    var id = state.screen && state.screen.lastFocus;
    return id ? $screen.querySelector('.f[data-id="' + id + '"]') : null;
  }
  /* After a screen's content arrived: focus what was focused before, else the first item. */
  function settle(container) {
    focus(remembered() || (container || $screen).querySelector(".f[data-first]") || (container || $screen).querySelector(".f"));
  }
  function go(make, arg) { show(make(arg), true); }
  /* A colour key: the screen on top of home; 戻る comes back to the menu item the person was on. */
  function top(make, arg) {
    var h = home(), a = document.activeElement, id = a && $screen.contains(a) && a.getAttribute("data-id");
    if (id && /^menu-/.test(id)) h.lastFocus = id;
    state.stack = [h];
    show(make(arg), false);
  }
  function back() {
    var prev = state.stack.pop();
    if (!prev) return;
    var next = prev.refresh ? prev.refresh() : prev;
    next.lastFocus = prev.lastFocus;
    show(next, false);
  }
  function hints(pairs) {
    $keys.innerHTML = "";
    pairs.forEach(function (p) {
      var h = el("span", { cls: "hint" }, [p[0] ? el("span", { cls: "k", text: p[0] }) : null, p[1]]);
      $keys.appendChild(h);
    });
  }

  function message(title, lines, buttons) {
    return {
      keys: [["↑↓", "えらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]],
      render: function () {
        var box = el("div", {}, [el("h1", { text: title })]);
        lines.forEach(function (l) { if (l) box.appendChild(el("p", { text: l })); });
        var row = el("div", { cls: "list" });
        (buttons || [["ホームへ", function () { state.stack = []; show(home(), false); }]]).forEach(function (b, i) {
          row.appendChild(item(b[0], b[1], { n: i + 1 }));
        });
        box.appendChild(row);
        return box;
      }
    };
  }

  function errorScreen(err) {
    var lines = [say(err)];
    if (state.me && state.me.call_centre_phone) lines.push(callLine(state.me.call_centre_phone));
    return message("できませんでした", lines, [["もどる", back]]);
  }

  function home() {
    var me = state.me;
    return {
      refresh: home,
      keys: [["色ボタン", "メニュー"], ["↑↓←→", "えらぶ"], ["決定", "すすむ"]],
      render: function () {
        var box = el("div", {}, [el("h1", { text: me.today_label + "　ようこそ" })]);
        var menu = el("div", { cls: "menu" });
        menu.appendChild(item(el("span", {}, [el("span", { cls: "chip blue" }), " 青　タクシー予約"]), function () { go(screens.rideWho); }, { cls: "blue", id: "menu-ride" }));
        if (me.shopping) { // a town without the shopping service shows no shopping menu
          menu.appendChild(item(el("span", {}, [el("span", { cls: "chip red" }), " 赤　買い物"]), function () { go(screens.shop); }, { cls: "red", id: "menu-shop" }));
        }
        menu.appendChild(item(el("span", {}, [el("span", { cls: "chip green" }), " 緑　予約の確認"]), function () { go(screens.mine); }, { cls: "green", id: "menu-mine" }));
        menu.appendChild(item(el("span", {}, [el("span", { cls: "chip yellow" }), " 黄　お知らせ"]), function () { go(screens.notices); }, { cls: "yellow", id: "menu-notices" }));
        box.appendChild(menu);
        var info = el("div", { cls: "list" });
        box.appendChild(info);
        // Fresh state each time home shows: the cut-off may have passed, a ride may have ended.
        Promise.all([api("GET", "/api/v1/me"), api("GET", "/api/v1/me/rides")]).then(function (res) {
          setMe(res[0]);
          var sh = state.me.shopping;
          if (sh && sh.member) {
            info.appendChild(el("p", { cls: "sub", id: "home-shop", text: sh.open ? "お買い物の注文は " + sh.cutoff + " まで（" + left(sh) + "）" : "今日の注文は締め切りました。次のお届けは " + sh.next_delivery_label + " です。" }));
          }
          res[1].rides.forEach(function (r) {
            if (r.late) {
              info.appendChild(el("p", { cls: "ok", text: r.rider + "さんのお迎えが遅れています。すみません。タクシー会社の係が確認しています。" }));
            } else if (r.status === "confirmed" && r.eta_minutes !== null && r.eta_minutes <= 15) {
              info.appendChild(el("p", { cls: "ok", text: r.rider + "さんのタクシーは、あと約" + Math.max(1, r.eta_minutes) + "分で着きます。" + r.wait_at + "お待ちください。" }));
            }
          });
          res[1].return_offers.forEach(function (o) {
            var rider = state.me.members.filter(function (m) { return m.id === o.resident_id; })[0];
            if (!rider) return;
            info.appendChild(item("帰りのタクシーを予約する（" + o.from + " → 自宅）", function () {
              go(screens.rideWhen, { rider: rider, from: { id: o.from_place_id, name: o.from }, to: null });
            }, { id: "return-" + o.after_ride, sub: o.rider + "さん" }));
          });
        }, function () {});
        api("GET", "/api/v1/me/billing").then(function (b) {
          var month = +b.month.split("-")[1];
          info.appendChild(el("p", { cls: "sub", id: "home-billing",
            text: "今月（" + month + "月）のご利用額 " + b.total_yen.toLocaleString("ja-JP") + "円" + (billedWithTv ? "（ケーブルテレビ料金と一緒のお支払い）" : "") }));
        }, function () {});
        return box;
      }
    };
  }

  function left(sh) {
    var mins = Math.max(0, Math.floor((parseInstant(sh.cutoff_at) - serverNow()) / 60000));
    var h = Math.floor(mins / 60), m = mins % 60;
    return "あと " + (h ? h + "時間" : "") + m + "分";
  }

  var screens = {};

  /* ----- ride booking: who -> where -> when -> confirm ----- */

  screens.rideWho = function () {
    var riders = state.me.members.filter(function (m) { return m.eligible; });
    if (riders.length === 1) return screens.rideWhere({ rider: riders[0] });
    if (!riders.length) return message("タクシー予約", ["この家には、タクシーを使う登録がある方がいません。", "オペレーターに電話してください。"]);
    return {
      render: function () {
        var box = el("div", {}, [el("h1", { text: "だれが乗りますか" })]);
        var list = el("div", { cls: "list" });
        riders.forEach(function (m, i) {
          list.appendChild(item(m.name + " さん", function () { go(screens.rideWhere, { rider: m }); }, { n: i + 1, id: "rider-" + m.id }));
        });
        box.appendChild(list);
        return box;
      },
      keys: [["↑↓", "えらぶ"], ["数字", "番号でえらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
  };

  screens.rideWhere = function (trip) {
    var rider = trip.rider;
    return {
      render: function () {
        var box = el("div", {}, [el("h1", { text: "どこへ行きますか（" + rider.given_name + "さん）" })]);
        var list = el("div", { cls: "list scroll" });
        var n = 1;
        rider.favourites.forEach(function (p) {
          list.appendChild(item(p.name, function () { go(screens.rideWhen, { rider: rider, from: "home", to: p }); }, { n: n++, id: "to-" + p.id }));
        });
        list.appendChild(item("ほかの行き先", function () { go(screens.ridePlaces, { rider: rider }); }, { n: n++, id: "to-other" }));
        list.appendChild(item("自宅へ帰る（乗る場所をえらぶ）", function () { go(screens.ridePlaces, { rider: rider, home: true }); }, { n: n++, id: "to-home" }));
        box.appendChild(list);
        return box;
      },
      keys: [["↑↓", "えらぶ"], ["数字", "番号でえらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
  };

  /* Places in groups of at most ten, so that two digits reach any of them. */
  var PLACE_GROUPS = [["病院・診療所", ["hospital", "clinic"]], ["お店", ["supermarket"]], ["駅", ["station"]],
    ["役所・郵便局・銀行", ["city_hall", "post_office", "bank"]], ["公民館・集会所", ["community_hall"]], ["学校", ["school"]]];
  function placeGroups(places) {
    var groups = [], rest = places.slice();
    function add(label, list) {
      for (var i = 0; i < list.length; i += 10) groups.push({ label: list.length > 10 ? label + "（" + (i / 10 + 1) + "）" : label, places: list.slice(i, i + 10) });
    }
    PLACE_GROUPS.forEach(function (g) {
      add(g[0], rest.filter(function (p) { return g[1].indexOf(p.kind) >= 0; }));
      rest = rest.filter(function (p) { return g[1].indexOf(p.kind) < 0; });
    });
    add("そのほか", rest);
    return groups;
  }

  screens.ridePlaces = function (trip) {
    var groups = placeGroups(state.me.places);
    return {
      render: function () {
        var box = el("div", {}, [el("h1", { text: trip.home ? "どこから乗りますか（自宅へ帰る）" : "行き先をえらんでください" })]);
        var list = el("div", { cls: "grid scroll tall" });
        groups.forEach(function (g, i) {
          list.appendChild(item(g.label, function () { go(screens.ridePlaceList, { trip: trip, group: g }); }, { n: i < 10 ? i + 1 : undefined, id: "group-" + i, sub: g.places.length + "か所" }));
        });
        box.appendChild(list);
        return box;
      },
      keys: [["↑↓←→", "えらぶ"], ["数字", "番号でえらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
  };

  screens.ridePlaceList = function (arg) {
    var trip = arg.trip;
    return {
      render: function () {
        var box = el("div", {}, [el("h1", { text: arg.group.label + (trip.home ? "（乗る場所）" : "") })]);
        var list = el("div", { cls: "grid scroll tall" });
        arg.group.places.forEach(function (p, i) {
          var next = trip.home ? { rider: trip.rider, from: p, to: null } : { rider: trip.rider, from: "home", to: p };
          list.appendChild(item(p.name, function () { go(screens.rideWhen, next); }, { n: i + 1, id: "place-" + p.id }));
        });
        box.appendChild(list);
        return box;
      },
      keys: [["↑↓←→", "えらぶ"], ["数字", "番号でえらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
  };

  /* The times this trip can be asked for today, by the server's rules (the ride must end by
     closing time): {latest_pickup, earliest_arrival, latest_arrival, service_hours, ...}. */
  function tripLimits(trip) {
    var r = rideRequest(Object.assign({}, trip, { when: "after", at: serverNow() }));
    delete r.pickup_after;
    return api("POST", "/api/v1/me/time-limits", r);
  }
  /* 「17:00 までに着く必要があるため、迎えは 15:50 までです」 */
  function lastPickupRule(lim) {
    var close = lim.service_hours ? lim.service_hours.end : "";
    return close + " までに着く必要があるため、" + (lim.latest_pickup ? "迎えは " + short(lim.latest_pickup) + " までです。" : "この行き先へは、今日はもう迎えに行けません。");
  }

  screens.rideWhen = function (trip) {
    function pick(kind, minutes) {
      return function () {
        var t = new Date(serverNow().getTime() + minutes * 60000);
        go(screens.rideConfirm, Object.assign({}, trip, { when: kind, at: t }));
      };
    }
    var s = {
      render: function () {
        var dest = trip.to ? trip.to.name : "自宅";
        var box = el("div", {}, [el("h1", { text: "いつ出かけますか（" + dest + "へ）" })]);
        var list = el("div", { cls: "list" });
        list.appendChild(item("今すぐ", function () { go(screens.rideConfirm, Object.assign({}, trip, { when: "now", at: serverNow() })); }, { n: 1, id: "when-now" }));
        list.appendChild(item("30分後", pick("after", 30), { n: 2, id: "when-30" }));
        list.appendChild(item("1時間後", pick("after", 60), { n: 3, id: "when-60" }));
        list.appendChild(item("出発の時刻をえらぶ", function () { go(screens.rideTime, Object.assign({}, trip, { when: "after" })); }, { n: 4, id: "when-pick" }));
        list.appendChild(item("着きたい時刻をえらぶ", function () { go(screens.rideTime, Object.assign({}, trip, { when: "arrive" })); }, { n: 5, id: "when-arrive" }));
        box.appendChild(list);
        var $rule = el("p", { cls: "sub", id: "when-limit" });
        box.appendChild($rule);
        // Offer only what can be booked: leave out the choices past the last pickup of this trip.
        tripLimits(trip).then(function (lim) {
          trip.limits = lim;
          if (state.screen !== s) return;
          var now = serverNow().getTime();
          var last = lim.latest_pickup ? parseInstant(lim.latest_pickup).getTime() : -Infinity;
          var gone = { "when-now": now > last, "when-30": now + 30 * 60000 > last, "when-60": now + 60 * 60000 > last, "when-pick": !lim.latest_pickup, "when-arrive": !lim.earliest_arrival };
          var lost = false;
          Object.keys(gone).forEach(function (id) {
            var node = list.querySelector('[data-id="' + id + '"]');
            if (gone[id] && node) { lost = lost || node === document.activeElement; list.removeChild(node); }
          });
          $rule.textContent = lastPickupRule(lim);
          if (!list.querySelector(".f")) list.appendChild(item("もどる", back, { id: "back" }));
          if (lost) focus(list.querySelector(".f"));
        }, function () {});
        return box;
      },
      keys: [["↑↓", "えらぶ"], ["数字", "番号でえらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
    return s;
  };

  screens.rideTime = function (trip) {
    if (!trip.limits) { // chosen before the limits arrived: ask for them first
      var wait = { keys: [["戻る", "もどる"]], render: function () {
        tripLimits(trip).then(function (lim) {
          if (state.screen === wait) show(screens.rideTime(Object.assign({}, trip, { limits: lim })), false);
        }, function (err) { if (state.screen === wait) show(errorScreen(err), false); });
        return el("div", {}, [el("h1", { text: "時刻をえらぶ" }), el("p", { cls: "sub", text: "しらべています…" })]);
      } };
      return wait;
    }
    var lim = trip.limits;
    var arrive = trip.when === "arrive";
    var step = 10 * 60000;
    var first = arrive ? lim.earliest_arrival : lim.earliest_pickup;
    var last = arrive ? lim.latest_arrival : lim.latest_pickup;
    if (!first || !last) return message("時刻をえらぶ", [arrive ? "今日は、もう受け付けていません。" : lastPickupRule(lim)], [["もどる", back]]);
    var hi = parseInstant(last).getTime();
    var lo = parseInstant(first).getTime();
    if (Math.ceil(lo / step) * step <= hi) lo = Math.ceil(lo / step) * step; // whole ten minutes when it fits
    var t = arrive ? Math.min(hi, lo + 60 * 60000) : lo;
    var $t, $say;
    var typed = ""; // digits typed so far: 930 or 0930 is 9:30, 1430 is 14:30
    var ruleText = arrive ? "着く時刻は " + short(first) + "〜" + short(last) + " です（" + lim.service_hours.end + " までに着く必要があります）。" : lastPickupRule(lim);
    function set(v) { t = Math.max(lo, Math.min(hi, v)); typed = ""; $t.textContent = hhmm(new Date(t)); }
    function typeDigit(d) {
      if (typed === "" && d >= 3) typed = "0";
      typed += String(d);
      var shown = (typed + "__").slice(0, 2) + ":" + (typed.slice(2) + "__").slice(0, 2);
      $t.textContent = shown.charAt(0) === "0" && typed.length >= 2 ? shown.slice(1) : shown;
      $say.textContent = "";
      if (typed.length < 4) return;
      var h = parseInt(typed.slice(0, 2), 10), m = parseInt(typed.slice(2), 10);
      if (h > 23 || m > 59) { $say.textContent = "その時刻はありません。もう一度、数字を入れてください。"; set(t); return; }
      var v = atLocal((h < 10 ? "0" : "") + h + ":" + (m < 10 ? "0" : "") + m).getTime();
      if (v > hi) $say.textContent = arrive ? lim.service_hours.end + " までに着く時刻にしてください。" : lastPickupRule(lim);
      else if (v < lo) $say.textContent = (arrive ? "着く時刻は " : "迎えは ") + hhmm(new Date(lo)) + " からです。";
      set(v);
      if (v === t) go(screens.rideConfirm, Object.assign({}, trip, { at: new Date(t) })); // nothing is booked before 予約する
    }
    var s = {
      keys: [["数字", "時刻"], ["↑↓", "10分"], ["←→", "1時間"], ["決定", "この時刻にする"], ["戻る", "もどる"]],
      render: function () {
        $t = el("span", { cls: "time", id: "time-value", text: hhmm(new Date(t)) });
        $say = el("p", { cls: "warn", id: "time-refusal", "aria-live": "polite" });
        var box = el("div", {}, [
          el("h1", { text: arrive ? "何時に着きたいですか" : "何時に出かけますか" }),
          el("p", { cls: "big" }, [$t]),
          el("p", { cls: "sub", id: "time-limit", text: ruleText }),
          $say,
          el("p", { cls: "sub", text: "数字で時刻を入れられます（9時30分は 9 3 0）。↑↓で10分、←→で1時間かわります。" })
        ]);
        var ok = item("この時刻にする", function () { go(screens.rideConfirm, Object.assign({}, trip, { at: new Date(t) })); }, { id: "time-ok" });
        box.appendChild(el("div", { cls: "list" }, [ok]));
        return box;
      },
      onkey: function (k) {
        if (/^D\d$/.test(k)) { typeDigit(parseInt(k.slice(1), 10)); return true; } // not DOWN
        if (k === "BACK" && typed) { set(t); return true; } // a half-typed time: start again
        if (k === "ENTER" && typed) { while (typed.length < 4) typeDigit(0); return true; } // 10 決定 is 10:00
        if (k === "UP") { set(t + step); return true; }
        if (k === "DOWN") { set(t - step); return true; }
        if (k === "RIGHT") { set(t + 6 * step); return true; }
        if (k === "LEFT") { set(t - 6 * step); return true; }
        return false;
      }
    };
    return s;
  };

  function rideRequest(trip) {
    var rider = trip.rider;
    var home = { lat: rider.home.lat, lon: rider.home.lon };
    var req = {
      resident_id: rider.id,
      origin: trip.from === "home" ? home : { place_id: trip.from.id },
      destination: trip.to ? { place_id: trip.to.id } : home,
      party_size: trip.party || 1,
      wheelchair: trip.wheelchair === undefined ? !!rider.wheelchair : trip.wheelchair
    };
    if (trip.when === "arrive") req.arrive_by = isoLocal(trip.at); else req.pickup_after = isoLocal(trip.at);
    return req;
  }

  screens.rideConfirm = function (trip) {
    var key = randomKey();
    var req = rideRequest(trip);
    var s = {
      keys: [["↑↓←→", "えらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]], // ↓: 人数・車いす
      render: function () {
        var box = el("div", {}, [el("h1", { text: "この予約でよいですか" }), el("p", { cls: "sub", text: "しらべています…" })]);
        api("POST", "/api/v1/me/quote", req).then(function (q) {
          if (state.screen !== s) return;
          box.innerHTML = "";
          var from = trip.from === "home" ? "自宅" : trip.from.name;
          var to = trip.to ? trip.to.name : "自宅";
          box.appendChild(el("h1", { text: "この予約でよいですか" }));
          var party = item("人数・車いすをかえる（いま " + partyLabel(req) + "）", function () { go(screens.rideParty, trip); }, { id: "party" });
          if (!q.available) {
            box.appendChild(el("p", { cls: "warn", text: "その時間は、タクシーがいっぱいです。" }));
            /* each choice says both times: when the taxi comes (迎え) and by when it arrives (着) */
            if (q.alternatives.length) box.appendChild(el("p", { id: "alt-said", text: "この時刻なら予約できます（迎えに行く時刻と、着く時刻）。" }));
            var alts = el("div", { cls: "list" });
            q.alternatives.forEach(function (a, i) {
              alts.appendChild(item("迎え " + short(a.pickup_after) + "ごろ・着 " + short(a.latest_arrival) + "ごろまで", function () {
                /* An arrival asked for stays one, at the choice's arrival (the promise it was offered
                   with); the confirmation says when that is later than the time first asked. */
                var asked = trip.asked_arrive || (trip.when === "arrive" ? trip.at : null);
                go(screens.rideConfirm, Object.assign({}, trip, trip.when === "arrive"
                  ? { at: parseInstant(a.latest_arrival), asked_arrive: asked }
                  : { when: "after", at: parseInstant(a.pickup_after) }));
              }, { n: i + 1, id: "alt-" + i }));
            });
            if (!q.alternatives.length) box.appendChild(el("p", { text: "ほかの時刻をえらぶか、オペレーターに電話してください。" }));
            box.appendChild(alts);
            box.appendChild(el("div", { cls: "row" }, [item("やめる", back, { id: "cancel" }), party])); // one row: all on the screen
            focus(focusables()[0]);
            return;
          }
          box.appendChild(el("p", { cls: "big", id: "quote-window", text: "迎え " + short(q.pickup_window.start) + "〜" + short(q.pickup_window.end) }));
          box.appendChild(el("p", { text: trip.rider.given_name + "さん　" + from + " → " + to }));
          box.appendChild(el("p", { id: "quote-party", text: partyLabel(req) + "で乗ります" }));
          box.appendChild(el("p", { id: "quote-arrival", text: short(q.latest_arrival) + " までに着きます" }));
          var asked = trip.asked_arrive || (trip.when === "arrive" ? trip.at : null);
          var late = asked ? Math.round((parseInstant(q.latest_arrival) - asked) / 60000) : 0;
          if (late > 0) {
            box.appendChild(el("p", { cls: "warn", id: "quote-late", text: "ご希望の " + hhmm(asked) + " より " + late + "分おそく着きます。" }));
          }
          box.appendChild(el("p", { id: "quote-fare", text: q.fare_text }));
          var yes = item("予約する", function () { commit(); }, { id: "confirm" });
          var no = item("やめる", back, { id: "cancel" });
          box.appendChild(el("div", { cls: "row" }, [yes, no]));
          box.appendChild(el("div", { cls: "list" }, [party]));
          focus(yes);
        }, function (err) {
          if (state.screen === s) show(errorScreen(err), false);
        });
        return box;
      }
    };
    function commit() {
      if (trip.when === "now") req.pickup_after = isoLocal(serverNow()); // minutes may have passed
      state.busy = true;
      api("POST", "/api/v1/me/rides", req, { "Idempotency-Key": key }).then(function (ride) {
        state.busy = false;
        state.stack = [home()];
        show(message("予約しました", [
          trip.rider.given_name + "さん　" + ride.from + " → " + ride.to,
          "迎えは " + ride.pickup_from + "〜" + ride.pickup_to + " です。" + ride.wait_at + "お待ちください。", // 家の前で only at home
          ride.fare_text
        ], [["予約の確認へ", function () { top(screens.mine); }], ["ホームへ", function () { state.stack = []; show(home(), false); }]]), false);
      }, function (err) {
        state.busy = false;
        if (err.status === 409 && err.data.alternatives) {
          show(screens.rideConfirm(trip), false); // the plan changed meanwhile: quote again
          return;
        }
        show(errorScreen(err), true);
      });
    }
    return s;
  };

  /* 「1人」「2人（車いす）」 */
  function partyLabel(req) { return req.party_size + "人" + (req.wheelchair ? "（車いす）" : ""); }

  /* Optional step from the confirmation: how many ride (the rider included), and a wheelchair. */
  screens.rideParty = function (trip) {
    var max = Math.min(9, (state.me.booking && state.me.booking.max_party_size) || 4);
    var chair = trip.wheelchair === undefined ? !!trip.rider.wheelchair : trip.wheelchair;
    function choose(n) {
      state.stack.pop(); // the confirmation of the old party: quote again with the new one
      show(screens.rideConfirm(Object.assign({}, trip, { party: n, wheelchair: chair })), false);
    }
    function chairItem() {
      return item("車いすのまま乗る：" + (chair ? "はい" : "いいえ"), function () {
        chair = !chair;
        var next = chairItem();
        this.parentNode.replaceChild(next, this);
        focus(next);
      }, { id: "chair" });
    }
    return {
      render: function () {
        var box = el("div", {}, [el("h1", { text: "何人で乗りますか（ご本人をふくめて）" })]);
        var list = el("div", { cls: "grid" });
        for (var n = 1; n <= max; n++) {
          var it = item(n + "人", choose.bind(null, n), { n: n, id: "party-" + n });
          if (n === (trip.party || 1)) it.setAttribute("data-first", "1");
          list.appendChild(it);
        }
        box.appendChild(list);
        box.appendChild(el("div", { cls: "list" }, [chairItem()]));
        box.appendChild(el("p", { cls: "sub", text: "数字ボタンで人数をえらぶと、予約の画面にもどります。" }));
        return box;
      },
      keys: [["数字", "人数"], ["↑↓←→", "えらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
  };

  /* ----- my bookings: rides and orders, cancel, return trips ----- */

  screens.mine = function () {
    var s = {
      refresh: function () { return screens.mine(); },
      render: function () {
        var box = el("div", { cls: "scroll" }, [el("h1", { text: "予約の確認" }), el("p", { cls: "sub", text: "よみこんでいます…" })]);
        Promise.all([api("GET", "/api/v1/me/rides"), state.me.shopping && state.me.shopping.member ? api("GET", "/api/v1/me/orders") : Promise.resolve([])]).then(function (res) {
          if (state.screen !== s) return;
          var rides = res[0], orders = res[1];
          box.innerHTML = "";
          box.appendChild(el("h1", { text: "予約の確認（今日）" }));
          var list = el("div", { cls: "list" });
          var n = 1;
          rides.return_offers.forEach(function (o) {
            var rider = state.me.members.filter(function (m) { return m.id === o.resident_id; })[0];
            list.appendChild(item("帰りのタクシーを予約（" + o.from + " → 自宅）", function () {
              go(screens.rideWhen, { rider: rider, from: { id: o.from_place_id, name: o.from }, to: null });
            }, { n: n++, id: "return-" + o.after_ride, sub: o.rider + "さん" }));
          });
          if (!rides.rides.length) list.appendChild(el("p", { text: "今日のタクシーの予約はありません。" }));
          rides.rides.forEach(function (r) {
            var line = "タクシー " + r.pickup_from + "〜" + r.pickup_to + "　" + r.from + " → " + r.to;
            var sub = r.rider + "さん　" + r.status_label + (r.late ? "　お迎えが遅れています" : r.eta_minutes !== null && r.eta_minutes <= 15 ? "　あと約" + r.eta_minutes + "分" : "");
            list.appendChild(item(line, function () { go(screens.rideDetail, r); }, { n: n++, id: "ride-" + r.id, sub: sub }));
          });
          orders.forEach(function (o) {
            list.appendChild(item("お買い物 " + o.delivery_label + "　" + yen(o.total_yen), function () { go(screens.orderDetail, o); }, { n: n++, id: "order-" + o.id, sub: o.status_label }));
          });
          box.appendChild(list);
          settle(list);
        }, function (err) { if (state.screen === s) show(errorScreen(err), false); });
        return box;
      },
      keys: [["↑↓", "えらぶ"], ["数字", "番号でえらぶ"], ["決定", "くわしく"], ["戻る", "もどる"]]
    };
    return s;
  };

  screens.rideDetail = function (r) {
    return {
      render: function () {
        var box = el("div", {}, [
          el("h1", { text: "タクシーの予約（" + r.rider + "さん）" }),
          el("p", { cls: "big", text: "迎え " + r.pickup_from + "〜" + r.pickup_to }),
          el("p", { text: r.from + " → " + r.to + "　" + r.arrive_by + " までに着きます" }),
          el("p", { text: r.status_label }),
          el("p", { id: "ride-fare", text: r.fare_text })
        ]);
        var row = el("div", { cls: "row" });
        if (r.cancellable) row.appendChild(item("この予約を取り消す", function () { go(screens.rideCancel, r); }, { id: "ride-cancel" }));
        row.appendChild(item("もどる", back, { id: "back" }));
        box.appendChild(row);
        return box;
      },
      keys: [["←→", "えらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
  };

  screens.rideCancel = function (r) {
    var s = {
      render: function () {
        /* The fee on the screen goes with the cancellation: when the fee due has changed in between
           (the cut-off passed), nothing is cancelled and the new fee is shown to decide again. */
        var fee = el("p", { cls: "warn", id: "cancel-fee", text: r.cancel_fee_text, hidden: !r.cancel_fee_text });
        var said = el("p", { cls: "warn", id: "cancel-said", role: "alert", hidden: true });
        var box = el("div", {}, [
          el("h1", { text: "本当に取り消しますか" }),
          el("p", { text: r.pickup_from + "〜" + r.pickup_to + "　" + r.from + " → " + r.to }),
          fee,
          said
        ]);
        function showFee(x) {
          r.cancel_fee_yen = x.cancel_fee_yen || 0;
          r.cancel_fee_text = x.cancel_fee_text || "";
          fee.textContent = r.cancel_fee_text;
          fee.hidden = !r.cancel_fee_text;
        }
        api("GET", "/api/v1/me/rides").then(function (res) { // the fee as of now, not as of the list
          res.rides.forEach(function (x) { if (x.id === r.id) showFee(x); });
        }, function () {});
        var no = item("いいえ", back, { id: "no" });
        var yes = item("はい、取り消す", function () {
          state.busy = true;
          api("POST", "/api/v1/me/rides/" + r.id + "/cancel", { expected_fee_yen: r.cancel_fee_yen || 0 }).then(function (res) {
            state.busy = false;
            state.stack = [home()];
            var gone = (res.rides || []).filter(function (x) { return x.id === r.id; })[0];
            show(message("取り消しました", ["タクシーの予約（" + r.pickup_from + "〜" + r.pickup_to + "）を取り消しました。",
              gone && gone.fare_text ? gone.fare_text + "。" : ""], [["予約の確認へ", function () { top(screens.mine); }], ["ホームへ", function () { state.stack = []; show(home(), false); }]]), false);
          }, function (err) {
            state.busy = false;
            if (!err.data || err.data.code !== "ride.fee_changed") { show(errorScreen(err), true); return; }
            showFee(err.data);
            said.textContent = say(err);
            said.hidden = false;
            fee.hidden = true; // the refusal names the new fee: said once
            focus(no); // off 「はい」: one more 決定 must not cancel at the new fee
          });
        }, { id: "yes" });
        box.appendChild(el("div", { cls: "row" }, [no, yes]));
        s.first = no; // the safe answer first
        return box;
      },
      keys: [["←→", "えらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
    return s;
  };

  screens.orderDetail = function (o) {
    return {
      render: function () {
        var box = el("div", {}, [el("h1", { text: "お買い物 " + o.delivery_label + "　" + o.status_label })]);
        var list = el("div", { cls: "card" });
        o.items.slice(0, 5).forEach(function (x) { list.appendChild(el("p", { text: x.name + " × " + x.quantity })); });
        if (o.items.length > 5) list.appendChild(el("p", { text: "ほか " + (o.items.length - 5) + " 品" }));
        box.appendChild(list);
        box.appendChild(el("p", { text: "合計 " + yen(o.total_yen) }));
        var row = el("div", { cls: "row" });
        if (o.cancellable) row.appendChild(item("この注文を取り消す", function () {
          state.busy = true;
          api("POST", "/api/v1/me/orders/" + o.id + "/cancel").then(function () {
            state.busy = false;
            state.stack = [home()];
            show(message("取り消しました", ["お買い物の注文を取り消しました。"]), false);
          }, function (err) { state.busy = false; show(errorScreen(err), true); });
        }, { id: "order-cancel" }));
        row.appendChild(item("もどる", back, { id: "back" }));
        box.appendChild(row);
        return box;
      },
      keys: [["←→", "えらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
  };

  /* ----- shopping: categories -> items -> quantity -> cart -> confirm ----- */

  function cartCount() {
    return Object.keys(state.cart).reduce(function (a, k) { return a + state.cart[k].quantity; }, 0);
  }
  function cartTotal() {
    return Object.keys(state.cart).reduce(function (a, k) { return a + state.cart[k].quantity * state.cart[k].product.price_yen; }, 0);
  }
  function shopBar(title) {
    var sh = state.me.shopping;
    var bar = el("div", { cls: "bar" }, [
      el("h1", { text: title }),
      item("かごを見る（" + cartCount() + "）", function () { go(screens.cart); }, { id: "cart" })
    ]);
    var info = el("p", { cls: "sub", id: "cutoff", text: "注文は " + sh.cutoff + " まで（" + left(sh) + "）。" + sh.deliver_by + " ごろまでに" + (sh.hall || "公民館") + "へ届けます。" });
    return [bar, info];
  }

  screens.shop = function () {
    var sh = state.me.shopping;
    if (!sh) return message("買い物", ["テレビでの買い物は、この市町村ではできません。"]);
    if (!sh.member) return message("買い物", ["お買い物の会員登録がありません。", "申しこみは、オペレーターに電話してください。"]);
    var s = {
      refresh: function () { return screens.shop(); },
      render: function () {
        var box = el("div", {});
        if (!sh.open) {
          box.appendChild(el("h1", { text: "買い物" }));
          box.appendChild(el("p", { cls: "warn", id: "cutoff", text: "今日の注文は " + sh.cutoff + " で締め切りました。次のお届けは " + sh.next_delivery_label + " です。" }));
          box.appendChild(el("p", { text: sh.next_delivery_label + " の " + sh.cutoff + " までに注文してください。" }));
          box.appendChild(el("div", { cls: "list" }, [item("注文の確認", function () { go(screens.mine); }, { n: 1 }), item("ホームへ", back, { n: 2 })]));
          return box;
        }
        shopBar("何を買いますか").forEach(function (x) { box.appendChild(x); });
        var grid = el("div", { cls: "grid" });
        box.appendChild(grid);
        api("GET", "/api/v1/me/catalog/categories").then(function (cats) {
          if (state.screen !== s) return;
          cats.forEach(function (c, i) {
            var it = item(c.category, function () { go(screens.items, c.category); }, { n: i < 10 ? i + 1 : undefined, id: "cat-" + i });
            if (i === 0) it.setAttribute("data-first", "1");
            grid.appendChild(it);
          });
          settle(grid);
        }, function (err) { if (state.screen === s) show(errorScreen(err), false); });
        return box;
      },
      keys: [["↑↓←→", "えらぶ"], ["数字", "番号でえらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
    return s;
  };

  screens.items = function (category) {
    var s = {
      refresh: function () { return screens.items(category); },
      render: function () {
        var box = el("div", { cls: "col" });
        shopBar(category).forEach(function (x) { box.appendChild(x); });
        var grid = el("div", { cls: "grid two scroll grow" });
        box.appendChild(grid);
        api("GET", "/api/v1/me/catalog?category=" + encodeURIComponent(category)).then(function (items) {
          if (state.screen !== s) return;
          items.forEach(function (p, i) {
            var inCart = state.cart[p.id] ? "　かご " + state.cart[p.id].quantity : "";
            var it = item(p.name, function () { go(screens.quantity, p); }, { pic: p.name.charAt(0), id: "item-" + p.id, sub: yen(p.price_yen) + inCart });
            grid.appendChild(it);
          });
          settle(grid);
        }, function (err) { if (state.screen === s) show(errorScreen(err), false); });
        return box;
      },
      keys: [["↑↓←→", "えらぶ"], ["決定", "数をきめる"], ["戻る", "もどる"]]
    };
    return s;
  };

  screens.quantity = function (p) {
    var q = state.cart[p.id] ? state.cart[p.id].quantity : 1;
    var typed = false;
    var $q;
    function set(v) { q = Math.max(0, Math.min(99, v)); $q.textContent = String(q); }
    var s = {
      keys: [["数字", "数を入れる"], ["↑↓", "1つずつ"], ["決定", "かごに入れる"], ["戻る", "もどる"]],
      render: function () {
        $q = el("span", { cls: "qty", id: "qty-value", text: String(q) });
        var box = el("div", {}, [
          el("h1", { text: p.name }),
          el("p", { cls: "big" }, [el("span", { cls: "pic", "aria-hidden": "true", text: p.name.charAt(0) }), " " + yen(p.price_yen)]),
          el("p", { cls: "big" }, ["数 ", $q]),
          el("p", { cls: "sub", text: "数字ボタンで数を入れてください（0 でかごから出します）。" })
        ]);
        var ok = item("かごに入れる", function () {
          if (q === 0) delete state.cart[p.id]; else state.cart[p.id] = { product: p, quantity: q };
          back();
        }, { id: "qty-ok" });
        box.appendChild(el("div", { cls: "list" }, [ok]));
        return box;
      },
      onkey: function (k) {
        if (/^D\d$/.test(k)) { // a digit (not DOWN)
          var d = parseInt(k.slice(1), 10);
          set(typed && q < 10 ? q * 10 + d : d);
          typed = true;
          return true;
        }
        if (k === "UP") { set(q + 1); return true; }
        if (k === "DOWN") { set(q - 1); return true; }
        return false;
      }
    };
    return s;
  };

  screens.cart = function () {
    var s = {
      refresh: function () { return screens.cart(); },
      render: function () {
        var box = el("div", { cls: "scroll" }, [el("h1", { text: "かごの中" })]);
        var ids = Object.keys(state.cart);
        if (!ids.length) {
          box.appendChild(el("p", { text: "かごは空です。" }));
          box.appendChild(el("div", { cls: "list" }, [item("もどる", back)]));
          return box;
        }
        var list = el("div", { cls: "list" });
        ids.forEach(function (id) {
          var line = state.cart[id];
          list.appendChild(item(line.product.name + " × " + line.quantity, function () { go(screens.quantity, line.product); }, { id: "line-" + id, sub: yen(line.product.price_yen * line.quantity) + "（決定で数をかえる）" }));
        });
        box.appendChild(el("p", { cls: "big", id: "cart-total", text: "合計 " + yen(cartTotal()) }));
        var order = item("注文する", function () { go(screens.orderConfirm); }, { id: "order" });
        order.setAttribute("data-first", "1");
        box.appendChild(el("div", { cls: "row" }, [order, item("買い物をつづける", back, { id: "more" })]));
        box.appendChild(list);
        return box;
      }
    };
    return s;
  };

  screens.orderConfirm = function () {
    var key = randomKey();
    var sh = state.me.shopping;
    return {
      render: function () {
        var box = el("div", {}, [
          el("h1", { text: "この注文でよいですか" }),
          el("p", { cls: "big", text: Object.keys(state.cart).length + " 品　合計 " + yen(cartTotal()) }),
          el("p", { id: "order-where", text: "今日の " + sh.deliver_by + " ごろまでに、" + (sh.hall || "公民館") + "へ届けます。" }),
          el("p", { id: "order-payment", text: sh.payment + "。" })
        ]);
        var yes = item("注文する", function () {
          var lines = Object.keys(state.cart).map(function (id) { return { product_id: parseInt(id, 10), quantity: state.cart[id].quantity }; });
          state.busy = true;
          api("POST", "/api/v1/me/orders", { lines: lines }, { "Idempotency-Key": key }).then(function (o) {
            state.busy = false;
            state.cart = {};
            state.stack = [home()];
            show(message("注文しました", ["合計 " + yen(o.total_yen) + "（" + o.delivery_label + " のお届け）", "届いたら、お知らせします。"], [["予約の確認へ", function () { top(screens.mine); }], ["ホームへ", function () { state.stack = []; show(home(), false); }]]), false);
          }, function (err) { state.busy = false; show(errorScreen(err), true); });
        }, { id: "order-confirm" });
        box.appendChild(el("div", { cls: "row" }, [yes, item("やめる", back, { id: "cancel" })]));
        return box;
      },
      keys: [["←→", "えらぶ"], ["決定", "すすむ"], ["戻る", "もどる"]]
    };
  };

  /* ----- notices ----- */

  screens.notices = function () {
    var s = {
      refresh: function () { return screens.notices(); },
      render: function () {
        var box = el("div", { cls: "scroll" }, [el("h1", { text: "お知らせ" })]);
        api("GET", "/api/v1/me/notices").then(function (list) {
          if (state.screen !== s) return;
          if (!list.length) box.appendChild(el("p", { text: "今日のお知らせはありません。" }));
          var l = el("div", { cls: "list" });
          list.forEach(function (n) {
            state.seenNotices[n.id] = true;
            l.appendChild(item(n.text, function () {}, { id: n.id, sub: n.at }));
          });
          box.appendChild(l);
          focus(focusables()[0]);
        }, function (err) { if (state.screen === s) show(errorScreen(err), false); });
        return box;
      },
      keys: [["↑↓", "よむ"], ["戻る", "もどる"], ["色ボタン", "メニュー"]]
    };
    return s;
  };

  /* ---------- start-up: pairing, then the household ---------- */

  function callLine(phone) {
    return phone ? "オペレーターの電話 " + phone : "";
  }

  function pairingScreen(code, phone) {
    return {
      keys: [["", "このままお待ちください"]],
      render: function () {
        return el("div", {}, [
          el("h1", { text: "このテレビを登録します" }),
          el("p", { text: "オペレーターに電話して、この番号を伝えてください。" }),
          phone ? el("p", { cls: "big", id: "call-phone", text: callLine(phone) }) : null,
          el("p", { cls: "huge", id: "pair-code", text: code.slice(0, 3) + " " + code.slice(3) }),
          el("p", { cls: "sub", text: "登録がすむと、自動でメニューが出ます。" })
        ]);
      }
    };
  }

  function startPairing() {
    var p = state.token ? api("GET", "/api/v1/tv/device") : Promise.reject({ status: 401 });
    return p.catch(function (err) {
      if (err.status !== 401) throw err;
      return api("POST", "/api/v1/tv/devices", NoriaiApi.withTenant({})).then(function (d) {
        state.token = d.token;
        localStorage.setItem(TOKEN_KEY, d.token);
        localStorage.setItem(TENANT_KEY, NoriaiApi.tenant() || "");
        return d;
      });
    }).then(function (d) {
      if (d.paired) return loadHousehold();
      show(pairingScreen(d.code, d.call_centre_phone), false);
      setTimeout(startPairing, 5000);
    }, function (err) {
      // No network yet (boxes start before it), a restart, too many boxes: show it and try again
      // (after the server's Retry-After when it asked this box to slow down).
      var wait = err && err.data && err.data.retry_after_seconds ? err.data.retry_after_seconds * 1000 : 0;
      show(message("つながるのを待っています", [say(err), "このままお待ちください。"], []), false);
      setTimeout(startPairing, Math.max(10000, wait));
    });
  }

  function loadHousehold() {
    return api("GET", "/api/v1/me").then(function (me) {
      setMe(me);
      state.stack = [];
      show(home(), false);
      tick();
      reportActivity("power_on");
      pollReminders();
    }, function (err) {
      if (err.status === 401 || err.status === 403) return startPairing();
      show(message("つながるのを待っています", [say(err), "このままお待ちください。"], []), false);
      setTimeout(loadHousehold, 10000);
    });
  }

  /* The household's state, and the server's clock and zone it was read with. */
  function setMe(me) {
    state.me = me;
    T.sync(me.now);
    tick(); // the clock in the corner at once, not at the next quarter minute
  }

  function tick() {
    if (state.me) $clock.textContent = hhmm(serverNow());
  }

  function pollNotices() {
    if (!state.me) return;
    api("GET", "/api/v1/me/notices").then(function (list) {
      var fresh = list.filter(function (n) { return n.urgent && !state.seenNotices[n.id]; });
      if (fresh.length) {
        state.seenNotices[fresh[0].id] = true;
        $banner.textContent = fresh[0].text;
        $banner.hidden = false;
        setTimeout(function () { $banner.hidden = true; }, 30000);
      }
    }, function (err) {
      if (err.status === 401) { state.me = null; state.token = null; localStorage.removeItem(TOKEN_KEY); startPairing(); }
    });
  }

  /* Viewing activity for the watch-over: on start and on keys, at most every five minutes. */
  var lastReport = 0;
  function reportActivity(kind) {
    if (!state.me || Date.now() - lastReport < 300000) return;
    lastReport = Date.now();
    api("POST", "/api/v1/tv/activity", { kind: kind }).catch(function () { lastReport = 0; });
  }

  /* Reminders: the oldest one due covers the screen until Enter. */
  var shownReminder = null;
  var dueReminders = []; // the due ones when it was shown: identical ones go with it
  var dismissed = {};  // key@due of reminders dismissed here (the server may not have heard yet)
  function pollReminders() {
    if (!state.me || !$reminder.hidden) return;
    api("GET", "/api/v1/me/reminders").then(function (list) {
      list = list.filter(function (r) { return !dismissed[r.key + "@" + r.due_at]; });
      if (!list.length || !$reminder.hidden) return;
      shownReminder = list[0];
      dueReminders = list;
      document.getElementById("reminder-text").textContent = shownReminder.text;
      var had = document.activeElement;
      reminderReturn = had && had !== document.body ? had : null;
      $reminder.hidden = false;
      $screen.setAttribute("inert", ""); // nothing behind it takes a key or the focus
      focus($reminderOk);
    }, function () {});
  }
  function dismissReminder() {
    var r = shownReminder;
    $reminder.hidden = true;
    $screen.removeAttribute("inert");
    shownReminder = null;
    var back = reminderReturn;
    reminderReturn = null;
    if (back && document.body.contains(back)) focus(back); else settle();
    if (!r) return;
    // the same words due more than once (set twice, or two times that passed): one dismissal for all
    var same = dueReminders.filter(function (x) { return x.text === r.text; });
    if (!same.length) same = [r];
    same.forEach(function (x) { dismissed[x.key + "@" + x.due_at] = true; });
    Promise.all(same.map(function (x) {
      return api("POST", "/api/v1/me/reminders/ack", { key: x.key, due_at: x.due_at });
    })).then(pollReminders, pollReminders);
  }

  state.token = localStorage.getItem(TOKEN_KEY);
  var boxTown = localStorage.getItem(TENANT_KEY);
  if (boxTown && NoriaiApi.tenant() && boxTown !== NoriaiApi.tenant()) state.token = null; // another town's page: register anew
  startPairing().catch(function (err) { show(errorScreen(err), false); });
  setInterval(tick, 15000);
  setInterval(pollNotices, 20000);
  setInterval(pollReminders, 20000);
  window.noriaiTV = { pollNotices: pollNotices, pollReminders: pollReminders, state: state };
})();
