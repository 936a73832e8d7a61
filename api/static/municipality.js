/* The municipality's dashboard: sign in (municipality viewer), choose a period, see the figures as
   tiles, charts and tables; download every table as CSV, all of them as one Excel workbook, and
   print the monthly report. Read-only: nothing here changes anything. Sign-in, requests and
   problems are the common ones (static/common/); the token lives in sessionStorage. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = { token: null, user: null, today: null, dash: null };

  /* ---------- the API and signing in: common/api.js, common/signin.js, common/problem.js ---------- */

  const auth = NoriaiSignIn.create({
    store: "noriai.municipality", storage: "session", roles: ["municipality", "admin"],
    wrongRole: "このユーザーは市町村の統計を見られません。",
  });
  const client = NoriaiApi.client({
    token: () => state.token,
    onUnauthorized: () => desk.signOut("ログインの有効期限が切れました。もう一度ログインしてください。"),
  });
  function query() {
    return "from=" + $("from").value + "&to=" + $("to").value + "&group=" + $("group").value;
  }

  const desk = NoriaiSignIn.desk(auth, {
    hide: ["report"],
    show: ["report"],
    use: (session) => {
      state.token = session ? session.token : null;
      state.user = session ? session.user : null;
    },
    start: () => load(""),
    landing: "report-title", // signed in: the focus on the report's title
    signedOut: () => {
      state.dash = null;
      $("tiles").replaceChildren();
      $("tables").replaceChildren();
    },
  });

  /* ---------- the period ---------- */

  function iso(d) {
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }
  function parse(s) { const p = s.split("-").map(Number); return new Date(p[0], p[1] - 1, p[2]); }

  document.querySelectorAll("[data-range]").forEach((b) => b.addEventListener("click", () => {
    const today = parse(state.today);
    let a = new Date(today.getFullYear(), today.getMonth(), 1), z = today;
    if (b.dataset.range === "last-month") {
      a = new Date(today.getFullYear(), today.getMonth() - 1, 1);
      z = new Date(today.getFullYear(), today.getMonth(), 0);
    } else if (b.dataset.range === "last-7") {
      a = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
    } else if (b.dataset.range === "this-year") {  // the Japanese fiscal year starts on 1 April
      a = new Date(today.getMonth() >= 3 ? today.getFullYear() : today.getFullYear() - 1, 3, 1);
      $("group").value = "month";
    }
    $("from").value = iso(a);
    $("to").value = iso(z);
    load(query()).catch(() => {});
  }));

  $("controls").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if ($("show").getAttribute("aria-disabled") === "true") return; // the last 表示 still loading
    if (!$("from").value || !$("to").value) {
      fail(new Error("期間のはじめとおわりを入れてください。"));
      return;
    }
    load(query()).catch(() => {});
  });

  function fail(err) {
    NoriaiProblem.fill($("report-error"), err);
  }

  /* 表示 is busy (aria-disabled), not disabled, while the figures load: a disabled button loses the
     keyboard focus to the page's top. */
  function busy(on) {
    if (on) $("show").setAttribute("aria-disabled", "true");
    else $("show").removeAttribute("aria-disabled");
  }

  function load(q) {
    busy(true);
    return client.request("GET", "/api/v1/stats/dashboard" + (q ? "?" + q : ""))
      .then((dash) => {
        $("report-error").hidden = true;
        state.dash = dash;
        if (!state.today) state.today = dash.to;
        $("from").value = dash.from;
        $("to").value = dash.to;
        $("group").value = dash.group;
        render(dash);
      })
      .catch((err) => { fail(err); throw err; })
      .finally(() => busy(false));
  }

  /* ---------- numbers ---------- */

  const nf = new Intl.NumberFormat("ja-JP", { maximumFractionDigits: 0 });
  const nf2 = new Intl.NumberFormat("ja-JP", { maximumFractionDigits: 2 });
  function shown(v, kind) {
    if (v === null || v === undefined) return null;
    if (kind === "rate") return (v * 100).toFixed(1) + "%";
    if (kind === "yen") return "¥" + nf.format(v);
    if (kind === "float") return nf2.format(v);
    if (kind === "text") return String(v);
    return nf.format(v);
  }
  function jpDate(s) { const d = parse(s); return d.getFullYear() + "年" + (d.getMonth() + 1) + "月" + d.getDate() + "日"; }

  /* ---------- rendering ---------- */

  function node(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function render(dash) {
    const a = parse(dash.from), z = parse(dash.to);
    const wholeMonth = a.getDate() === 1 && new Date(z.getFullYear(), z.getMonth(), z.getDate() + 1).getDate() === 1
      && a.getMonth() === z.getMonth() && a.getFullYear() === z.getFullYear();
    $("report-title").textContent = wholeMonth
      ? dash.municipality + "　乗合タクシー・買い物支援　月次報告（" + a.getFullYear() + "年" + (a.getMonth() + 1) + "月）"
      : dash.municipality + "　乗合タクシー・買い物支援の利用状況";
    $("report-sub").textContent = jpDate(dash.from) + " 〜 " + jpDate(dash.to) + "　（" +
      dash.generated_at.slice(0, 10).replace(/-/g, "/") + " " + dash.generated_at.slice(11, 16) + " 集計）";
    // drivers' reports the operator has not reviewed yet are left out of every figure
    const held = dash.ridership.totals.unreviewed_records || 0;
    $("report-unreviewed").textContent = held ? "確認待ちの記録 " + held + "件は集計に含めていません（オペレーターが確かめると含めます）。" : "";
    $("report-unreviewed").hidden = !held;
    renderTiles(dash);
    renderCharts(dash);
    renderTables(dash);
  }

  function renderTiles(dash) {
    const t = dash.ridership.totals, s = dash.shopping.totals;
    const tiles = [
      ["乗車人数", shown(t.passengers, "int"), "人"],
      ["乗合率", shown(t.sharing_rate, "rate"), ""],
      ["迎車の定時率", shown(t.on_time_rate, "rate"), ""],
      ["希望時刻からの待ち", shown(t.wait_minutes_mean, "float"), "分"],
      ["稼働1時間あたり", shown(t.passengers_per_vehicle_hour, "float"), "人"],
      ["空車走行の割合", shown(t.empty_km_share, "rate"), ""],
      ["利用した人 / 登録", shown(t.active_users, "int") + " / " + shown(t.registered_users, "int"), "人"],
      ["取消し・不在・お断り", [t.cancelled, t.no_shows, t.refused].join("・"), "件"],
      ["買い物の注文", shown(s.orders, "int"), "件"],
      ["買い物の売上", shown(s.sales_yen, "yen"), ""],
    ];
    const host = $("tiles");
    host.replaceChildren();
    tiles.forEach(([label, value, unit]) => {
      const d = node("div", "tile");
      d.appendChild(node("span", "tile-label", label));
      const v = node("span", "tile-value", value === null ? "—" : value);
      if (unit && value !== null) v.appendChild(node("small", "", unit));
      d.appendChild(v);
      host.appendChild(d);
    });
  }

  function renderCharts(dash) {
    const r = dash.ridership.rows;
    NoriaiCharts.columns($("chart-ridership"), {
      title: "乗車人数と乗合率",
      labels: r.map((x) => x.label),
      series: [{ name: "乗車人数", values: r.map((x) => x.passengers) }],
      line: { name: "乗合率", values: r.map((x) => x.sharing_rate) },
      unit: "人",
    });
    const table = (name) => dash.tables.find((t) => t.name === name);
    const age = table("ridership_age").rows;
    NoriaiCharts.rows($("chart-age"), { title: "年齢層別の利用者数", labels: age.map((x) => x.values[0]),
                                         values: age.map((x) => x.values[1]), unit: "人", width: 520 });
    const area = table("ridership_area").rows;
    NoriaiCharts.rows($("chart-area"), { title: "地区別の利用者数", labels: area.map((x) => x.values[0]),
                                          values: area.map((x) => x.values[1]), unit: "人" });
    const refused = table("refusals").rows;
    NoriaiCharts.rows($("chart-refusals"), { title: "お断りした予約", labels: refused.map((x) => x.values[0]),
                                              values: refused.map((x) => x.values[1]), unit: "件", width: 520 });
    const s = dash.shopping.rows;
    NoriaiCharts.columns($("chart-shopping"), {
      title: "配達の手段",
      labels: s.map((x) => x.label),
      series: [{ name: "ドローン", values: s.map((x) => x.by_drone) },
               { name: "陸送", values: s.map((x) => x.by_ground) }],
      stacked: true,
      unit: "件",
    });
  }

  /* A table wider than its box is a tab stop (arrow keys scroll it once focused), re-checked
     whenever its size changes (shown, window resized); without ResizeObserver always one. */
  function reachable(wrap) {
    const check = () => { wrap.tabIndex = wrap.scrollWidth > wrap.clientWidth ? 0 : -1; };
    if (typeof ResizeObserver === "undefined") { wrap.tabIndex = 0; return; }
    new ResizeObserver(check).observe(wrap);
    check();
  }

  function renderTables(dash) {
    const host = $("tables");
    host.replaceChildren();
    dash.tables.forEach((t) => {
      const sec = node("section", "block table-block");
      sec.dataset.table = t.name;
      const head = node("div", "table-head");
      const h2 = head.appendChild(node("h2", "", t.title));
      h2.id = "table-h-" + t.name;
      const b = node("button", "noprint csv", "CSV");
      b.type = "button";
      b.setAttribute("aria-label", t.title + " を CSV で書き出す");
      b.addEventListener("click", () => download("/api/v1/stats/tables/" + t.name + ".csv?" + query()));
      head.appendChild(b);
      sec.appendChild(head);
      const wrap = node("div", "scroll");
      wrap.setAttribute("role", "region"); // a wide table scrolls sideways: reachable by keyboard (below)
      wrap.setAttribute("aria-labelledby", h2.id);
      const tbl = node("table", "figures");
      tbl.dataset.table = t.name;
      const tr = node("tr");
      t.columns.forEach((c) => tr.appendChild(node("th", c.kind === "text" ? "" : "num", c.label + (c.unit && c.unit !== "%" ? "（" + c.unit + "）" : ""))));
      tbl.appendChild(node("thead")).appendChild(tr);
      const body = node("tbody");
      if (!t.rows.length) {
        const r = node("tr", "empty");
        const td = node("td", "muted", "この期間の記録はありません。");
        td.colSpan = t.columns.length;
        r.appendChild(td);
        body.appendChild(r);
      }
      t.rows.forEach((row) => {
        const r = node("tr", row.suppressed ? "suppressed" : "");
        const kinds = row.kinds || t.columns.map((c) => c.kind);
        row.values.forEach((v, j) => {
          const text = shown(v, kinds[j]);
          const td = node("td", kinds[j] === "text" ? "" : "num",
                          text === null ? (row.suppressed ? "X" : "—") : text);
          if (j > 0 && v !== null && typeof v === "number") td.dataset.value = v;
          r.appendChild(td);
        });
        body.appendChild(r);
      });
      tbl.appendChild(body);
      wrap.appendChild(tbl);
      sec.appendChild(wrap);
      host.appendChild(sec);
      reachable(wrap);
    });
  }

  /* ---------- downloads and printing ---------- */

  function download(path) {
    return client.download(path, "noriai-export").catch(fail);
  }

  $("xlsx").addEventListener("click", () => download("/api/v1/stats/dashboard.xlsx?" + query()));
  $("print").addEventListener("click", () => window.print());

  /* ---------- start ---------- */

  desk.resume();
})();
