/* The community support worker's phone page (/support).
 *
 * Today's hand-over list per hall: for each household the names, address, a tel: link, the items
 * and their weight, how the bags come (drone or ground) and where they are now. A big 「渡しました」
 * confirms a hand-over (with a confirm step); it is offered only when the bags are at the hall or on
 * the road to it, never while the drone is still in the air. The time of each hand-over this phone
 * confirmed is the server's clock, remembered on the phone.
 *
 * The list refreshes every 20 s. The business day is the server's (the API's default date).
 */
"use strict";

(function () {
  var HALL_KEY = "noriai.support.hall";
  var TIMES_KEY = "noriai.support.times";
  var CAN_HAND_OVER = { at_hall: true, on_the_road: true };

  var state = {
    sheets: [],
    hall: "", // "" = every hall
    confirming: null, // order id with the confirm question open
    problems: {}, // order id -> problem box of the last refused confirm
    busy: false,
    times: {} // order id -> "12:40", hand-overs confirmed on this phone
  };
  try { state.hall = localStorage.getItem(HALL_KEY) || ""; } catch (x) { state.hall = ""; }
  try { state.times = JSON.parse(localStorage.getItem(TIMES_KEY) || "{}"); } catch (x) { state.times = {}; }

  var app = NoriaiField.start({
    store: "noriai.support", roles: ["support_worker", "operator"], roleName: "集落支援員",
    home: function (a) { a.poll(refresh, 20); refresh(false); }
  });
  var el = app.el, button = app.button, T = app.T;

  var refresh = app.loader("/api/v1/handovers", "お届けの一覧を読みこめませんでした。", function (sheets, changed, quiet) {
    state.sheets = sheets;
    if (quiet && (!changed || state.confirming !== null || state.busy)) return;
    showHome(quiet);
  });

  /* [label, pill class, rank]: rank 0 = can be handed over now, 1 = on its way, 2 = done;
   * `hall` names the household's hall (the tenant file's name). */
  function where(d, hall) {
    switch (d.status) {
      case "at_hall": return [(hall || "公民館") + "に着いています", "ok", 0];
      case "on_the_road": return ["車で向かっています", "amber", 0];
      case "in_flight": return ["飛行中", "alert", 1];
      case "at_base": return [d.mode === "ground" ? "地上便の出発待ち" : "基地で出発待ち", "wait", 1];
      case "handed_over":
        var at = state.times[d.order_id] || (d.handed_over_at ? app.hm(d.handed_over_at) : "");
        return ["お届け済み" + (at ? " " + at : ""), "done", 2];
      default: return ["準備中", "wait", 1];
    }
  }

  function whyNot(d, hall) {
    if (d.status === "in_flight") return "飛行中です。着陸してから押せます";
    return "まだ" + (hall || "公民館") + "に着いていません";
  }

  function counts(list) {
    var c = [0, 0, 0];
    list.forEach(function (d) { c[where(d)[2]] += 1; });
    return c;
  }

  function hallOf(id) {
    return state.sheets.filter(function (s) { return (s.hall_id || "-") === id; })[0];
  }

  /* One hall chosen (remembered on the phone), or the only one: its list. Else the halls. */
  function showHome(quiet) {
    var sheets = state.sheets;
    if (sheets.length === 1) { showHall(sheets[0], quiet); return; }
    var chosen = state.hall ? hallOf(state.hall) : null;
    if (chosen) { showHall(chosen, quiet); return; }
    var day = sheets.length ? sheets[0].date : null;
    var box = el("div", { cls: "stack" }, [
      el("h1", { text: "今日のお届け" }),
      el("p", { cls: "big", text: day ? app.dayLabel(day) : app.dayLabel(T.now()) })
    ]);
    if (!sheets.length) {
      box.appendChild(el("p", { cls: "box info", "data-id": "empty", text: "今日のお届けはまだありません。注文の締め切りのあとに決まります。" }));
    } else {
      box.appendChild(el("p", { text: "公民館をえらんでください。" }));
      sheets.forEach(function (s) {
        var c = counts(s.deliveries);
        var next = s.deliveries.filter(function (d) { return d.status === "in_flight" && d.arrives; })
          .map(function (d) { return d.arrives; }).sort()[0];
        box.appendChild(button(s.hall || s.hall_id || "公民館なし", function () { choose(s.hall_id || "-"); }, {
          cls: c[0] ? "go hall-btn" : "secondary hall-btn", id: "hall-" + (s.hall_id || "none"),
          sub: s.deliveries.length + "世帯 ・ 渡せる " + c[0] + " ・ 待ち " + c[1] + " ・ 済み " + c[2] +
            (next ? " ・ 次の着陸 " + app.hm(next) : "")
        }));
      });
    }
    box.appendChild(app.footer(function () { refresh(false); }));
    app.show("halls", box, quiet);
  }

  function choose(hallId) {
    state.hall = hallId;
    state.confirming = null;
    try { localStorage.setItem(HALL_KEY, hallId); } catch (x) { /* private mode */ }
    showHome(false);
  }

  function showHall(s, quiet) {
    var list = s.deliveries.slice().sort(function (a, b) { return where(a)[2] - where(b)[2] || a.order_id - b.order_id; });
    var c = counts(s.deliveries);
    var box = el("div", { cls: "stack" }, [
      state.sheets.length > 1 ? button("← 公民館の一覧", function () { choose(""); }, { cls: "secondary back", id: "halls" }) : null,
      el("h1", { text: s.hall || s.hall_id || "公民館なし" }),
      el("p", { cls: "big", text: app.dayLabel(s.date) + " のお届け" }),
      el("p", { cls: "chips tally", "data-id": "tally" }, [
        el("span", { cls: c[0] ? "now" : "", text: "渡せる " + c[0] }),
        el("span", { text: "待ち " + c[1] }),
        el("span", { text: "済み " + c[2] })
      ])
    ]);
    list.forEach(function (d) { box.appendChild(card(d, s.hall)); });
    box.appendChild(app.footer(function () { refresh(false); }));
    app.show("hall", box, quiet);
  }

  function card(d, hall) {
    var w = where(d, hall);
    var names = d.names && d.names.length ? d.names.join("・") + " さん" : "世帯 " + d.household_id;
    var kids = [
      el("div", { cls: "head-row" }, [
        el("h3", { cls: "who", text: names }),
        el("span", { cls: "pill " + w[1], "data-id": "status", text: w[0] })
      ]),
      d.address ? el("p", { cls: "address", text: d.address }) : null,
      d.phone ? el("a", { cls: "btn secondary tel", href: "tel:" + d.phone.replace(/[^0-9+]/g, ""), "data-id": "tel" }, [
        el("span", { cls: "label", text: "電話する " + d.phone })
      ]) : null,
      el("ul", { cls: "items" }, d.items.map(function (it) {
        return el("li", {}, [el("span", { text: it.name }), el("span", { cls: "qty", text: "×" + it.quantity })]);
      })),
      el("p", { cls: "chips" }, [
        el("span", { text: "注文 #" + d.order_id }),
        el("span", { text: "重さ 約" + (Math.round(d.weight_kg * 10) / 10).toFixed(1) + " kg" })
      ]),
      how(d)
    ];
    if (state.problems[d.order_id]) kids.push(state.problems[d.order_id]);
    if (w[2] !== 2) kids.push(state.confirming === d.order_id ? confirmBox(d, names) : handButton(d, hall));
    return el("article", { cls: "card delivery" + (w[2] === 0 ? " ready" : w[2] === 2 ? " done" : ""), "data-id": "order-" + d.order_id }, kids);
  }

  /* How the bags come: the drone's landing time (the real one once it landed, else the expected
   * one: planned, or after the take-off, the take-off plus the planned flight time), or by ground
   * and why. */
  function how(d) {
    if (d.mode === "drone") {
      var when = d.landed ? "・" + app.hm(d.landed) + " 着陸" : d.arrives ? "・" + app.hm(d.arrives) + " 着予定" : "";
      return el("p", { cls: "how", "data-id": "how", text: "ドローン便" + when });
    }
    if (d.mode === "ground") {
      return el("p", { cls: "how" }, [
        el("span", { text: "地上便（タクシーなど）" }),
        d.ground_reason ? el("span", { cls: "reason", "data-id": "reason" }, reasonText(d.ground_reason)) : null
      ]);
    }
    return null;
  }

  /* The planner's reason (English) in a few Japanese words where it is a known one. */
  var REASONS = [
    [/^no corridor reaches this hall/, function () { return "ドローンの航路がない公民館です"; }],
    [/^no drone can fly it before the deadline/, function () { return "天候か機体の都合で、ドローンが間に合いません"; }],
    [/^no drone may fly today/, function () { return "今日はドローンが飛べません"; }],
    [/^no-go weather/, function () { return "天候のため、ドローンが飛べません"; }],
    [/^too heavy together|is more than any drone carries/, function () { return "重くてドローンで運べません"; }],
    [/^flight (\d+) aborted(?:: ([^;]*))?/, function (m) { return "第" + m[1] + "便が中止になりました" + (m[2] ? "（" + m[2] + "）" : ""); }]
  ];
  function reasonText(raw) {
    var parts = [];
    raw.split(/;\s*/).forEach(function (r) {
      if (/car run/.test(r)) { parts.push("タクシーの空きがなく、支援員の車で運びます"); return; }
      for (var i = 0; i < REASONS.length; i++) {
        var m = REASONS[i][0].exec(r);
        if (m) { parts.push(REASONS[i][1](m)); return; }
      }
      parts.push("ドローンで運べない事情があります"); // an unknown reason: never the planner's English
    });
    return ["理由: " + parts.join("。")];
  }

  function handButton(d, hall) {
    var ok = !!CAN_HAND_OVER[d.status];
    return button("渡しました", function () {
      state.confirming = d.order_id;
      delete state.problems[d.order_id];
      showHome(true);
      var q = document.querySelector('[data-id="order-' + d.order_id + '"] [data-id="yes"]');
      if (q) { q.scrollIntoView({ block: "center" }); q.focus({ preventScroll: true }); }
    }, { cls: "go big", id: "hand-" + d.order_id, disabled: !ok, sub: ok ? null : whyNot(d, hall) });
  }

  function confirmBox(d, names) {
    return el("div", { cls: "confirm stack", role: "group", "aria-label": "確認" }, [
      el("p", { cls: "question", text: names + "に渡しましたか？" }),
      button("はい、渡しました", function (e) { confirm(d, names, e.currentTarget); }, { cls: "go big", id: "yes" }),
      button("やめる", function () {
        state.confirming = null;
        showHome(true);
        var back = document.querySelector('[data-id="hand-' + d.order_id + '"]'); // the focus: where it was
        if (back) back.focus();
      }, { cls: "secondary", id: "no" })
    ]);
  }

  function confirm(d, names, $btn) {
    if (state.busy) return;
    state.busy = true;
    $btn.disabled = true;
    $btn.firstChild.textContent = "送っています…";
    app.api("POST", "/api/v1/handovers/" + d.order_id + "/confirm", {}).then(function () {
      return app.syncClock().then(function () {
        state.busy = false;
        state.confirming = null;
        var at = T.hhmm(T.now()); // the server's clock at the confirmation
        state.times[d.order_id] = at;
        try { localStorage.setItem(TIMES_KEY, JSON.stringify(state.times)); } catch (x) { /* private mode */ }
        return refresh(false).then(function () {
          app.flash(names + "に渡しました（" + at + "）。");
          var done = document.querySelector('[data-id="order-' + d.order_id + '"]'); // the focus: on the result
          if (done) { done.setAttribute("tabindex", "-1"); done.focus(); }
        });
      });
    }, function (err) {
      state.busy = false;
      state.confirming = null;
      if (err.handled) return;
      state.problems[d.order_id] = app.problem(err, "渡したことを記録できませんでした。");
      refresh(false).then(function () {
        var p = document.querySelector('[data-id="order-' + d.order_id + '"] [data-id="problem"]');
        if (p) p.scrollIntoView({ block: "center" });
      });
    });
  }
})();
