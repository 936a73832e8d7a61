/* The supermarket's phone page (/seller): the day's pick list and 「準備できました（集荷OK）」.
 *
 * Each product with its total quantity and the orders it goes to; a tick per row helps while
 * walking the shelves (kept on this phone only). 「印刷する」 prints just the list, black on white.
 * Marking the list ready has a confirm step; with items not ticked it names them, and the seller
 * must say they are in the bags all the same. The server refuses it before the cut-off (the list is
 * final only then) and a second time, and the page shows why.
 *
 * A seller sees only its own shop's list; an operator signed in here sees every shop's. The list
 * refreshes every 60 s. The business day is the server's (the API's default date).
 */
"use strict";

(function () {
  var app = NoriaiField.start({
    store: "noriai.seller", roles: ["seller", "operator"], roleName: "販売店",
    home: function (a) { a.poll(refresh, 60); refresh(false); }
  });
  var el = app.el, button = app.button, T = app.T;
  var state = { sheets: [], busy: false };

  var refresh = app.loader("/api/v1/picklists", "ピッキングリストを読みこめませんでした。", function (sheets, changed, quiet) {
    state.sheets = sheets;
    if (quiet && (!changed || state.busy || (app.current && app.current.name !== "home"))) return;
    showHome(quiet);
  });

  function ticksKey(sheet) { return "noriai.seller.ticks." + sheet.seller + "." + sheet.date; }
  function ticks(sheet) {
    try { return JSON.parse(localStorage.getItem(ticksKey(sheet)) || "{}"); } catch (x) { return {}; }
  }
  function total(sheet) { return sheet.items.reduce(function (n, it) { return n + it.quantity; }, 0); }
  function orderCount(sheet) {
    var ids = {};
    sheet.items.forEach(function (it) { it.orders.forEach(function (o) { ids[o.order_id] = true; }); });
    return Object.keys(ids).length;
  }

  function showHome(quiet) {
    var box = el("div", { cls: "stack" }, [el("h1", { text: "ピッキングリスト" })]);
    if (!state.sheets.length) {
      box.appendChild(el("p", { cls: "big", text: app.dayLabel(T.now()) + " お届け分" }));
      box.appendChild(el("p", { cls: "box info", "data-id": "empty", text: "今日のピッキングはありません。" }));
    }
    state.sheets.forEach(function (s) { box.appendChild(sheetView(s)); });
    box.appendChild(el("div", { cls: "noprint" }, [app.footer(function () { refresh(false); })]));
    app.show("home", box, quiet);
  }

  function sheetView(s) {
    var tick = ticks(s);
    var sec = el("section", { cls: "stack sheet", "data-id": "sheet-" + s.seller }, [
      el("p", { cls: "shop", text: s.name }),
      el("p", { cls: "big", text: app.dayLabel(s.date) + " お届け分" })
    ]);
    if (s.ready_at) {
      sec.appendChild(el("p", { cls: "box ok ready-state", "data-id": "ready-state" }, [
        el("strong", { text: "集荷OK 済み（" + app.hm(s.ready_at) + "）" }),
        el("span", { text: "ドローン基地に伝わっています。" })
      ]));
    } else {
      sec.appendChild(el("p", { cls: "box warn ready-state noprint", "data-id": "ready-state" }, [
        el("strong", { text: "まだ集荷OKにしていません。" }),
        el("span", { text: "注文の締め切りのあと、全部そろえて袋に入れたら、下のボタンを押してください。" })
      ]));
    }
    sec.appendChild(el("p", { cls: "chips summary", "data-id": "summary" }, [
      el("span", { text: s.items.length + " 品目" }),
      el("span", { text: "合計 " + total(s) + " 点" }),
      el("span", { text: "注文 " + orderCount(s) + " 件" })
    ]));
    sec.appendChild(button("印刷する", function () { window.print(); }, { cls: "secondary noprint", id: "print" }));
    var list = el("ol", { cls: "picks", "data-id": "picks" });
    s.items.forEach(function (it) {
      var id = "pick-" + s.seller + "-" + it.product_id;
      var $box = el("input", { type: "checkbox", id: id, "data-id": "tick-" + it.product_id });
      $box.checked = !!tick[it.product_id];
      var $row = el("li", { cls: "pick" + ($box.checked ? " got" : ""), "data-id": "item-" + it.product_id }, [
        el("label", { "for": id }, [
          $box,
          el("span", { cls: "what" }, [
            el("span", { cls: "name", text: it.name }),
            el("span", { cls: "orders", text: it.orders.map(function (o) { return "#" + o.order_id + "×" + o.quantity; }).join("  ") })
          ]),
          el("span", { cls: "qty", "data-id": "qty", text: "×" + it.quantity })
        ])
      ]);
      $box.addEventListener("change", function () {
        var t = ticks(s);
        if ($box.checked) t[it.product_id] = true; else delete t[it.product_id];
        try { localStorage.setItem(ticksKey(s), JSON.stringify(t)); } catch (x) { /* private mode */ }
        $row.classList.toggle("got", $box.checked);
        $count.textContent = got() + " / " + s.items.length + " 品目 そろいました";
      });
      list.appendChild($row);
    });
    function got() { return list.querySelectorAll("input:checked").length; }
    var $count = el("p", { cls: "got-count noprint", "aria-live": "polite", text: "" });
    sec.appendChild(list);
    $count.textContent = got() + " / " + s.items.length + " 品目 そろいました";
    if (s.items.length) sec.appendChild($count);
    if (!s.ready_at && s.items.length) {
      sec.appendChild(button("準備できました（集荷OK）", function () { showConfirm(s); },
        { cls: "go big noprint", id: "ready", sub: "押すと確認の画面が出ます" }));
    }
    return sec;
  }

  /* The items of a sheet not ticked on this phone. */
  function unticked(s) {
    var t = ticks(s);
    return s.items.filter(function (it) { return !t[it.product_id]; });
  }

  function showConfirm(s) {
    var $problem = el("div", { hidden: true });
    var missing = unticked(s);
    var $sure = null; // with unticked items: the seller says they are in the bags all the same
    var $yes = button("はい、集荷OKにする", function () {
      if (state.busy || ($sure && !$sure.checked)) return;
      state.busy = true;
      $yes.disabled = true;
      $yes.firstChild.textContent = "送っています…";
      var body = app.role === "seller" ? {} : { seller_id: s.seller };
      app.api("POST", "/api/v1/picklists/ready", body).then(function (r) {
        state.busy = false;
        return refresh(false).then(function () {
          app.flash("集荷OKを伝えました（" + app.hm(r.ready_at) + "）。そろった注文 " + r.orders_picked.length + " 件。");
        });
      }, function (err) {
        state.busy = false;
        if (err.handled) return;
        $yes.disabled = false;
        $yes.firstChild.textContent = "はい、集荷OKにする";
        var n = app.problem(err, err.status === 409 ? "集荷OKにできませんでした。" : "送れませんでした。");
        $problem.replaceWith(n);
        $problem = n;
        n.scrollIntoView({ block: "center" });
        $yes.focus({ preventScroll: true }); // disabled while sent, it lost the focus: back to it
      });
    }, { cls: "go big", id: "ready-yes" });
    var $missing = null;
    if (missing.length) {
      $sure = el("input", { type: "checkbox", id: "unticked-ok", "data-id": "unticked-ok" });
      $sure.addEventListener("change", function () { $yes.disabled = !$sure.checked; });
      $yes.disabled = true;
      $missing = el("div", { cls: "box warn stack", role: "group", "aria-labelledby": "unticked-h", "data-id": "unticked" }, [
        el("p", { id: "unticked-h" }, [el("strong", {
          text: missing.length === s.items.length
            ? "まだ1つもチェックしていません（" + missing.length + " 品目）。"
            : "チェックしていない品目が " + missing.length + " つあります。"
        })]),
        el("ul", { cls: "items" }, missing.map(function (it) {
          return el("li", { "data-id": "unticked-" + it.product_id }, [
            el("span", { text: it.name }), el("span", { cls: "qty", text: " ×" + it.quantity })
          ]);
        })),
        el("label", { cls: "check", "for": "unticked-ok" }, [
          $sure, el("span", { text: "これらも、そろえて袋に入れました" })
        ])
      ]);
    }
    app.show("confirm", el("div", { cls: "stack" }, [
      el("h1", { text: "集荷OKにしますか" }),
      el("p", { cls: "big", text: s.name }),
      el("p", { cls: "chips" }, [
        el("span", { text: app.dayLabel(s.date) + " お届け分" }),
        el("span", { text: s.items.length + " 品目" }),
        el("span", { text: "合計 " + total(s) + " 点" })
      ]),
      el("p", { cls: "box info", text: "全部の商品をそろえて、注文ごとに袋に入れましたか？ 押すと、ドローン基地に「集荷OK」が伝わります。あとから取り消せません。" }),
      $missing,
      $problem,
      $yes,
      button("もどる", function () { showHome(); }, { cls: "secondary", id: "ready-no" })
    ]));
  }
})();
