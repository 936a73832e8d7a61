/* The drone operator's phone page (/drone).
 *
 * Today's flights (departure, halls, payload, orders) and, per flight, the one next step as a big
 * button: 積み込みました (loaded) -> the pre-flight checklist and 離陸しました (departed) ->
 * 〇〇に着陸しました per hall (landed) -> 基地に戻りました (returned). A flight can be aborted
 * (with a reason) until it is back; the answer says where its orders go by ground (taxi, or a
 * support worker's car run). The mission (.plan for QGroundControl) downloads through the API with
 * the bearer token. A refused step shows the server's reason; nothing changes then, and the focus
 * stays on the button pressed.
 *
 * The list refreshes every 30 s. The business day is the server's (the API's default date).
 */
"use strict";

(function () {
  var STATUS = {
    planned: ["予定", "wait"],
    loaded: ["積み込み済み", ""],
    departed: ["飛行中", "alert"],
    returned: ["帰還済み", "ok"],
    aborted: ["中止", "stop"],
    cancelled: ["取り消し", "wait"]
  };
  var CHECKS = [
    ["battery", "バッテリー", "満充電・予備電力を確認した"],
    ["weather", "天候", "風・雨が飛行の基準内"],
    ["corridor", "航路", "航路と着陸場所に人や障害物がない"]
  ];
  var REASONS = ["強風", "雨・雪", "機体の不具合", "航路・着陸場所の安全が確認できない", "その他"];
  var GROUND_KEY = "noriai.drone.ground";

  var state = {
    flights: [],
    places: {}, // id -> {name, lat, lon}
    open: null, // id of the flight on show
    checks: {}, // flight id -> {battery: bool, ...}
    problem: null, // {flight, node}: the last refused step, shown until the next one
    busy: false,
    ground: {} // flight id -> the "ground" answer of its abort
  };
  try { state.ground = JSON.parse(sessionStorage.getItem(GROUND_KEY) || "{}"); } catch (x) { state.ground = {}; }

  var app = NoriaiField.start({
    store: "noriai.drone", roles: ["drone_operator", "operator"], roleName: "ドローン運航",
    home: function (a) {
      state.open = null;
      state.problem = null;
      a.poll(refresh, 30);
      loadPlaces().then(function () { refresh(false); });
    }
  });
  var el = app.el, button = app.button, T = app.T;

  /* A hall's name: from the places, else from the flights (both from the tenant file). */
  function placeName(id) {
    if (state.places[id] && state.places[id].name) return state.places[id].name;
    var named = state.flights.filter(function (f) { return f.hall_names && f.hall_names[id]; })[0];
    return named ? named.hall_names[id] : id;
  }
  function droneName(f) { return f.drone_name || f.drone; }
  function flightById(id) { return state.flights.filter(function (f) { return f.id === id; })[0]; }
  function kg(x) { return (Math.round(x * 10) / 10).toFixed(1) + " kg"; }

  function loadPlaces() {
    return app.api("GET", "/api/v1/places").then(function (list) {
      list.forEach(function (p) { state.places[p.id] = p; });
    }, function () { /* hall ids instead of names */ });
  }

  /* Fetch the day's flights; redraw the screen on show (quietly when nothing was pressed). */
  var refresh = app.loader("/api/v1/flights", "今日のフライトを読みこめませんでした。", function (flights, changed, quiet) {
    state.flights = flights;
    if (quiet && !changed) return;
    if (state.busy) return;
    var name = app.current ? app.current.name : "";
    if (name === "abort" || name === "aborted") return; // a form or a result: leave it
    if (state.open !== null && flightById(state.open)) showFlight(state.open, quiet);
    else showHome(quiet);
  });

  function pill(status) {
    var s = STATUS[status] || [status, "wait"];
    return el("span", { cls: "pill " + s[1], "data-id": "status", text: s[0] });
  }

  /* What the operator does next with this flight, in a few words. */
  function nextStep(f) {
    if (f.status === "planned") return "次: 積み込み";
    if (f.status === "loaded") return "次: 離陸前の確認と離陸";
    if (f.status === "departed") {
      var left = f.halls.filter(function (h) { return !f.landed[h]; });
      return left.length ? "次: " + placeName(left[0]) + " に着陸" : "次: 基地に戻る";
    }
    if (f.status === "returned") return "終わりました";
    if (f.status === "aborted") return "中止しました";
    return "";
  }
  function active(f) { return f.status === "planned" || f.status === "loaded" || f.status === "departed"; }

  /* ---------- today's flights ---------- */

  function showHome(quiet) {
    state.open = null;
    var box = el("div", { cls: "stack" }, [
      el("h1", { text: "今日のフライト" }),
      el("p", { cls: "big", text: app.dayLabel(T.now()) })
    ]);
    var fl = state.flights;
    if (!fl.length) {
      box.appendChild(el("p", { cls: "box info", text: "今日のフライトはまだありません。注文の締め切りのあとに決まります。" }));
    } else {
      var flying = fl.filter(function (f) { return f.status === "departed"; }).length;
      var done = fl.filter(function (f) { return !active(f); }).length;
      box.appendChild(el("p", { "data-id": "summary", text: "全 " + fl.length + " 便 ・ 飛行中 " + flying + " ・ 終了 " + done }));
      var firstActive = fl.filter(active)[0];
      fl.forEach(function (f) { box.appendChild(flightCard(f, f === firstActive)); });
    }
    box.appendChild(app.footer(function () { refresh(false); }));
    app.show("home", box, quiet);
  }

  /* Planned times until take-off; after it, the real take-off and the return it implies. */
  function times(f) {
    if (!f.took_off) return "出発 " + app.hm(f.departure) + " → 帰着 " + app.hm(f.expected_return);
    return "離陸 " + app.hm(f.took_off) + " → 帰着 " + app.hm(f.expected_return) + " ごろ（予定は " + app.hm(f.departure) + " 出発）";
  }

  function flightCard(f, isNext) {
    var halls = f.halls.map(placeName).join(" → ");
    return el("article", { cls: "card" + (active(f) ? "" : " done"), "data-id": "flight-" + f.id }, [
      el("div", { cls: "head-row" }, [el("h2", { cls: "card-title", text: "第" + f.number + "便" }), pill(f.status)]),
      el("p", { cls: "times", "data-id": "times", text: times(f) }),
      el("p", { cls: "halls", text: halls }),
      el("p", { cls: "muted chips" }, [
        el("span", { text: "機体 " + droneName(f) }), el("span", { text: "荷物 " + kg(f.payload_kg) }),
        el("span", { text: "注文 " + f.orders.length + "件" })
      ]),
      button("この便をひらく", function () { state.problem = null; showFlight(f.id); },
        { cls: isNext ? "primary" : "secondary", id: "open-" + f.id, sub: nextStep(f) })
    ]);
  }

  /* ---------- one flight ---------- */

  function showFlight(id, quiet) {
    var f = flightById(id);
    if (!f) { showHome(); return; }
    state.open = id;
    var landedCount = f.halls.filter(function (h) { return f.landed[h]; }).length;
    var $action = el("section", { cls: "stack action", "aria-labelledby": "next-h" });
    fillAction($action, f);
    var box = el("div", { cls: "stack" }, [
      button("← 今日のフライト一覧", function () { state.problem = null; showHome(); }, { cls: "secondary back", id: "back" }),
      el("div", { cls: "head-row" }, [el("h1", { text: "第" + f.number + "便" }), pill(f.status)]),
      el("p", { cls: "times", "data-id": "times", text: times(f) }),
      steps(f, landedCount),
      $action,
      el("h2", { text: "この便について" }),
      el("dl", { cls: "facts" }, [
        el("dt", { text: "機体" }), el("dd", { "data-id": "drone", text: droneName(f) }),
        el("dt", { text: "荷物" }), el("dd", { text: kg(f.payload_kg) + " ・ 注文 " + f.orders.length + "件" }),
        el("dt", { text: "距離" }), el("dd", { text: f.distance_km.toFixed(1) + " km（往復）" })
      ]),
      route(f),
      sketch(f)
    ]);
    box.appendChild(el("div", { cls: "stack footer" }, [
      button("飛行計画（.plan）をダウンロード", function (e) { downloadPlan(f, e.currentTarget); },
        { cls: "secondary", id: "plan", sub: "QGroundControl で読みこむファイル" }),
      active(f) ? button("この便を中止する", function () { showAbort(f); }, { cls: "danger-quiet", id: "abort" }) : null
    ]));
    app.show("flight", box, quiet);
  }

  /* ① 積み込み ② 離陸 ③ 着陸 n/m ④ 帰還: done, now, or later. */
  function steps(f, landedCount) {
    var order = ["planned", "loaded", "departed", "returned"];
    var at = order.indexOf(f.status);
    var allLanded = landedCount === f.halls.length;
    var items = [
      ["積み込み", at >= 1, at === 0],
      ["離陸", at >= 2, at === 1],
      ["着陸 " + landedCount + "/" + f.halls.length, at >= 2 && allLanded, at === 2 && !allLanded],
      ["帰還", at >= 3, at === 2 && allLanded]
    ];
    if (f.status === "aborted") items.forEach(function (it) { it[2] = false; });
    return el("ol", { cls: "steps", "aria-label": "手順" }, items.map(function (it, i) {
      return el("li", { cls: it[1] ? "done" : it[2] ? "now" : "", "aria-current": it[2] ? "step" : null }, [
        el("span", { cls: "num", "aria-hidden": "true", text: it[1] ? "✓" : String(i + 1) }),
        el("span", { text: it[0] })
      ]);
    }));
  }

  function route(f) {
    return el("ol", { cls: "route", "data-id": "route" }, f.halls.map(function (h) {
      var landed = f.landed[h];
      return el("li", { cls: landed ? "landed" : "", "data-id": "hall-" + h }, [
        el("span", { cls: "hall", text: placeName(h) }),
        el("span", { cls: "when", text: landed ? "着陸 " + app.hm(landed) + " ✓" : app.hm(f.expected[h]) + " 着予定" })
      ]);
    }));
  }

  /* The route as a small sketch: base (square), halls (circles; filled when landed), the path. */
  function sketch(f) {
    var coords = (f.path && f.path.geometry && f.path.geometry.coordinates) || [];
    if (coords.length < 2) return null;
    var NS = "http://www.w3.org/2000/svg";
    var pts = coords.slice();
    f.halls.forEach(function (h) { var p = state.places[h]; if (p) pts.push([p.lon, p.lat]); });
    var lat0 = pts[0][1] * Math.PI / 180, k = Math.cos(lat0);
    var xs = pts.map(function (p) { return p[0] * k; }), ys = pts.map(function (p) { return -p[1]; });
    var minX = Math.min.apply(null, xs), maxX = Math.max.apply(null, xs);
    var minY = Math.min.apply(null, ys), maxY = Math.max.apply(null, ys);
    var span = Math.max(maxX - minX, maxY - minY, 0.002);
    var W = 340, H = Math.max(110, Math.min(170, Math.round(W * (maxY - minY) / Math.max(maxX - minX, 0.002)))), pad = 16;
    var s = Math.min((W - 2 * pad) / Math.max(maxX - minX, span * 0.2), (H - 2 * pad) / Math.max(maxY - minY, span * 0.2));
    function X(lon) { return pad + (lon * k - minX) * s + ((W - 2 * pad) - (maxX - minX) * s) / 2; }
    function Y(lat) { return pad + (-lat - minY) * s + ((H - 2 * pad) - (maxY - minY) * s) / 2; }
    function node(tag, attrs) {
      var e = document.createElementNS(NS, tag);
      Object.keys(attrs).forEach(function (a) { e.setAttribute(a, attrs[a]); });
      return e;
    }
    var svg = node("svg", { viewBox: "0 0 " + W + " " + H, "class": "sketch", role: "img", "aria-label": "飛行ルートの略図" });
    svg.appendChild(node("polyline", {
      points: coords.map(function (c) { return X(c[0]).toFixed(1) + "," + Y(c[1]).toFixed(1); }).join(" "),
      fill: "none", stroke: "#0b3d91", "stroke-width": "4", "stroke-linejoin": "round", "stroke-linecap": "round"
    }));
    var b = coords[0];
    svg.appendChild(node("rect", { x: X(b[0]) - 9, y: Y(b[1]) - 9, width: 18, height: 18, fill: "#111111" }));
    f.halls.forEach(function (h) {
      var p = state.places[h];
      if (!p) return;
      var landed = !!f.landed[h];
      svg.appendChild(node("circle", {
        cx: X(p.lon), cy: Y(p.lat), r: 10, "stroke-width": "4",
        fill: landed ? "#0f5c2e" : "#ffffff", stroke: landed ? "#0f5c2e" : "#0b3d91"
      }));
    });
    return el("figure", { cls: "map" }, [
      svg,
      el("figcaption", { cls: "muted", text: "■ 基地　○ 公民館　● 着陸済み" })
    ]);
  }

  function fillAction($box, f) {
    var heading = el("h2", { id: "next-h", text: "次にすること" });
    $box.appendChild(heading);
    if (state.problem && state.problem.flight === f.id) $box.appendChild(state.problem.node);
    if (f.status === "planned") {
      $box.appendChild(el("p", { text: "販売店から届いた荷物を機体に積んだら押してください。" }));
      $box.appendChild(button("積み込みました", function (e) { step(f, { action: "loaded" }, e.currentTarget); },
        { cls: "go big", id: "loaded", sub: "注文 " + f.orders.length + "件 ・ " + kg(f.payload_kg) }));
    } else if (f.status === "loaded") {
      heading.textContent = "離陸前の確認";
      var checks = state.checks[f.id] || (state.checks[f.id] = {});
      var $go = button("離陸しました", function (e) {
        step(f, { action: "departed", checklist: { battery: !!checks.battery, weather: !!checks.weather, corridor: !!checks.corridor } }, e.currentTarget);
      }, { cls: "go big", id: "departed", sub: "3つとも確認すると押せます" });
      var allOk = function () { return CHECKS.every(function (c) { return checks[c[0]]; }); };
      var ready = function () {
        $go.disabled = !allOk();
        $go.lastChild.textContent = allOk() ? "確認OK。離陸したら押してください" : "3つとも確認すると押せます";
      };
      ready();
      var $list = el("fieldset", { cls: "stack", "aria-labelledby": "next-h" });
      CHECKS.forEach(function (c) {
        var $in = el("input", {
          type: "checkbox", id: "check-" + c[0], "data-id": "check-" + c[0],
          onchange: function () { checks[c[0]] = $in.checked; ready(); }
        });
        $in.checked = !!checks[c[0]];
        $list.appendChild(el("label", { cls: "check", "for": "check-" + c[0] }, [
          $in, el("span", { cls: "what" }, [el("span", { text: c[1] }), el("span", { cls: "sub", text: c[2] })])
        ]));
      });
      $box.appendChild($list);
      $box.appendChild($go);
    } else if (f.status === "departed") {
      var left = f.halls.filter(function (h) { return !f.landed[h]; });
      if (left.length) {
        $box.appendChild(el("p", { text: "着陸したら、その公民館のボタンを押してください。荷物は「公民館に着いた」になります。" }));
        left.forEach(function (h, i) {
          $box.appendChild(button(placeName(h) + "に着陸しました", function (e) {
            step(f, { action: "landed", hall_id: h }, e.currentTarget);
          }, { cls: i === 0 ? "primary big" : "secondary", id: "landed-" + h, sub: app.hm(f.expected[h]) + " 着予定" }));
        });
      } else {
        $box.appendChild(el("p", { text: "すべての公民館に着陸しました。基地に戻ったら押してください。" }));
        $box.appendChild(button("基地に戻りました", function (e) { step(f, { action: "returned" }, e.currentTarget); },
          { cls: "go big", id: "returned" }));
      }
    } else if (f.status === "returned") {
      $box.appendChild(el("p", { cls: "box ok", "data-id": "finished", text: "基地に戻りました。この便は終わりです。" }));
    } else if (f.status === "aborted") {
      $box.appendChild(el("p", { cls: "box warn", "data-id": "finished", text: "この便は中止しました。" }));
      if (state.ground[f.id]) $box.appendChild(groundList(state.ground[f.id]));
    }
  }

  var LEADS = {
    loaded: "まだ積み込めません。",
    departed: "まだ離陸できません。",
    landed: "着陸を記録できませんでした。",
    returned: "まだ帰還にできません。",
    aborted: "中止できませんでした。"
  };

  function step(f, body, $btn) {
    if (state.busy) return;
    state.busy = true;
    // busy, not disabled: a disabled button loses the focus (and its ring) while the step is sent
    if ($btn) { $btn.setAttribute("aria-disabled", "true"); $btn.firstChild.textContent = "送っています…"; }
    app.api("POST", "/api/v1/flights/" + f.id + "/steps", body).then(function (view) {
      state.busy = false;
      state.problem = null;
      replace(view);
      var msg = {
        loaded: "第" + f.number + "便: 積み込みました。",
        departed: "第" + f.number + "便: 離陸しました。",
        landed: "第" + f.number + "便: " + placeName(body.hall_id) + "に着陸しました。",
        returned: "第" + f.number + "便: 基地に戻りました。"
      }[body.action];
      showFlight(f.id);
      var next = document.getElementById("next-h"); // the focus: on what to do next, not the top
      if (next) { next.setAttribute("tabindex", "-1"); next.focus(); }
      app.syncClock().then(function () { app.flash(msg + " " + T.hhmm(T.now())); });
    }, function (err) {
      state.busy = false;
      if (err.handled) return;
      state.problem = { flight: f.id, node: app.problem(err, LEADS[body.action]) };
      var key = $btn ? $btn.getAttribute("data-id") : null;
      refresh(false).then(function () {
        var p = document.querySelector('[data-id="problem"]');
        if (p) p.scrollIntoView({ block: "center" });
        // the flight drawn again: the focus back on the button pressed, else on the refusal; not
        // on the page's top
        var again = key && document.querySelector('#screen [data-id="' + key + '"]');
        if (again && !again.disabled) again.focus({ preventScroll: true });
        else if (p) { p.setAttribute("tabindex", "-1"); p.focus({ preventScroll: true }); }
      });
    });
  }

  function replace(view) {
    state.flights = state.flights.map(function (x) { return x.id === view.id ? view : x; });
    refresh.forget();
  }

  function downloadPlan(f, $btn) {
    $btn.disabled = true;
    app.download("/api/v1/flights/" + f.id + "/plan", "flight" + f.number + ".plan").then(function (name) {
      $btn.disabled = false;
      app.flash("ダウンロードしました: " + name);
    }, function (err) {
      $btn.disabled = false;
      if (err.handled) return;
      app.flash("ダウンロードできませんでした。" + app.problemText(err), "error");
    });
  }

  /* ---------- abort ---------- */

  function showAbort(f) {
    var $reasons = el("fieldset", { cls: "stack" }, [el("legend", { text: "中止の理由" })]);
    REASONS.forEach(function (r, i) {
      var id = "reason-" + i;
      $reasons.appendChild(el("label", { cls: "check", "for": id }, [
        el("input", { type: "radio", name: "reason", id: id, value: r, "data-id": id }), el("span", { text: r })
      ]));
    });
    var $more = el("textarea", { id: "reason-more", maxlength: "300", rows: "3" });
    var $problem = el("div", { hidden: true });
    var $go = button("中止して地上便にする", function () {
      if (state.busy) return;
      var picked = $reasons.querySelector("input:checked");
      if (!picked) {
        var n = el("p", { cls: "box error", role: "alert", text: "中止の理由をえらんでください。" });
        $problem.replaceWith(n); $problem = n;
        return;
      }
      var reason = picked.value + ($more.value.trim() ? ": " + $more.value.trim() : "");
      $go.setAttribute("aria-disabled", "true"); // busy, not disabled: it keeps the focus
      $go.firstChild.textContent = "送っています…";
      state.busy = true;
      app.api("POST", "/api/v1/flights/" + f.id + "/steps", { action: "aborted", reason: reason }).then(function (view) {
        state.busy = false;
        state.ground[f.id] = view.ground || { by_taxi: [], car_run: [] };
        try { sessionStorage.setItem(GROUND_KEY, JSON.stringify(state.ground)); } catch (x) { /* private mode */ }
        replace(view);
        showAborted(view);
      }, function (err) {
        state.busy = false;
        if (err.handled) return;
        $go.removeAttribute("aria-disabled");
        $go.firstChild.textContent = "中止して地上便にする";
        var n = app.problem(err, "中止できませんでした。");
        $problem.replaceWith(n); $problem = n;
        n.scrollIntoView({ block: "center" });
        $go.focus({ preventScroll: true }); // the focus stays on the button (or comes back to it)
        refresh.forget();
        refresh(true); // the flight has changed meanwhile: もどる shows it as it is now
      });
    }, { cls: "danger big", id: "abort-yes" });
    app.show("abort", el("div", { cls: "stack" }, [
      el("h1", { text: "第" + f.number + "便を中止しますか" }),
      el("p", { cls: "box warn", text: "まだ公民館に届いていない荷物は、地上便（タクシー、または支援員の車）で今日中に届けます。" }),
      $reasons,
      el("div", { cls: "field" }, [el("label", { "for": "reason-more", text: "くわしく（書かなくてもよい）" }), $more]),
      $problem,
      $go,
      button("もどる（中止しない）", function () { showFlight(f.id); }, { cls: "secondary", id: "abort-no" })
    ]));
  }

  function showAborted(view) {
    app.show("aborted", el("div", { cls: "stack" }, [
      el("h1", { text: "第" + view.number + "便を中止しました" }),
      groundList(view.ground || { by_taxi: [], car_run: [] }),
      button("今日のフライト一覧へ", function () { showHome(); }, { cls: "primary", id: "home" })
    ]));
    app.syncClock().then(function () { app.flash("第" + view.number + "便を中止しました。 " + T.hhmm(T.now()), "error"); });
  }

  /* Where an aborted flight's orders went: taxis per hall, or a support worker's car run. */
  function groundList(g) {
    var box = el("section", { cls: "stack", "data-id": "ground" });
    var taxi = g.by_taxi || [], car = g.car_run || [];
    if (!taxi.length && !car.length) {
      box.appendChild(el("p", { cls: "box ok", text: "地上便にする荷物はありません。すべて公民館に届いています。" }));
      return box;
    }
    box.appendChild(el("h2", { text: "荷物は地上便で届けます" }));
    taxi.forEach(function (t) {
      box.appendChild(el("div", { cls: "card ground", "data-id": "taxi-" + t.hall_id }, [
        el("div", { cls: "head-row" }, [el("strong", { text: placeName(t.hall_id) + "へ" }), el("span", { cls: "pill", text: "タクシー" })]),
        el("p", { text: "タクシーが基地で荷物を受け取って運びます（配車 " + t.ride_id + "）。" }),
        el("p", { cls: "muted", text: "注文 " + t.orders.length + "件: " + t.orders.map(function (o) { return "#" + o; }).join(", ") })
      ]));
    });
    car.forEach(function (t) {
      box.appendChild(el("div", { cls: "card ground", "data-id": "car-" + t.hall_id }, [
        el("div", { cls: "head-row" }, [el("strong", { text: placeName(t.hall_id) + "へ" }), el("span", { cls: "pill amber", text: "支援員の車" })]),
        el("p", { text: "間に合うタクシーがありません。集落支援員が車で運びます。" }),
        el("p", { cls: "muted", text: "注文 " + t.orders.length + "件: " + t.orders.map(function (o) { return "#" + o; }).join(", ") })
      ]));
    });
    return box;
  }
})();
