/* The resident's registration on the resident panel: the municipality's registration number, the
 * state (利用中 / 休止中 / 終了), eligibility today — by which categories, until when, and for each
 * rule that fails, why — and on another ride date (「この日の利用資格」, GET
 * /api/v1/residents/{id}/eligibility?day=), the evidence on file and the household's members.
 *
 * In a dialog: correcting the registration (names, kana, phone, birth date, mobility, evidence —
 * e.g. a licence surrendered today), moving house (new address and a point on the map), pausing
 * and resuming with a reason, and ending the registration (reason, date, note) after a
 * confirmation that says what will happen; afterwards what was cancelled (rides, orders).
 * Operator.renderVerdict is shared with the new household form (register.js). ES5 syntax.
 */
"use strict";

(function () {
  var O = Operator;
  var el = NoriaiDom.el, clear = NoriaiDom.clear;
  function $(id) { return document.getElementById(id); }

  var STATUS = { active: "利用中", paused: "休止中", ended: "終了" };
  var STATUS_CLS = { active: "ok", paused: "caution", ended: "muted-badge" };
  var END_REASONS = [["moved_away", "転出"], ["deceased", "死亡"], ["asked", "本人の申し出"], ["other", "その他"]];
  var END_LABEL = { moved_away: "転出", deceased: "死亡", asked: "本人の申し出", other: "その他" };
  var KINDS = { physical: "身体障害者手帳", intellectual: "療育手帳", mental: "精神障害者保健福祉手帳" };

  var panel = { reg: null, hh: null, seq: 0 };

  /* "2026-12-08" -> "12月8日", with its year when it is not `sameYearAs`'s (or always: sameYearAs null). */
  function day(iso, sameYearAs) {
    if (!iso) return "";
    var md = +iso.slice(5, 7) + "月" + +iso.slice(8, 10) + "日";
    return sameYearAs && sameYearAs.slice(0, 4) === iso.slice(0, 4) ? md : +iso.slice(0, 4) + "年" + md;
  }

  function names() {
    var out = {};
    ((O.state.area && O.state.area.categories) || []).forEach(function (c) { out[c.id] = c.name; });
    return out;
  }

  /* One rule of a verdict in the operator's words. */
  function ruleText(r, onDay) {
    var name = names()[r.category] || r.category, p = r.params || {};
    if (r.holds) {
      if (p.age) return name + "（" + p.age + "歳）";
      return name + (r.until ? "（" + day(r.until, onDay) + "まで）" : "");
    }
    if (p.min_age) return name + "：" + day(p.from, null) + "から";
    if (p.expired) return name + "：" + day(p.expired, onDay) + "で期限切れ";
    if (p.from) return name + "：" + day(p.from, onDay) + "から有効";
    return name + "：登録なし";
  }

  /* A verdict (GET .../eligibility) as a box: may ride or not, by what, until when, every rule.
     `member` (a registration) adds what its state means for that day (paused, ended). */
  function renderVerdict(v, member) {
    var n = names();
    var paused = member && member.status === "paused" && member.paused_on && member.paused_on <= v.day;
    var ended = member && member.status === "ended";
    var ok = v.eligible && !paused;
    var head = el("div", { cls: "verdict-head" }, [
      el("span", { cls: "badge " + (ok ? "ok" : "warn"), "data-id": "verdict-badge", text: ok ? "利用できます" : "利用できません" }),
    ]);
    if (v.by.length) head.appendChild(el("span", { cls: "verdict-by", text: "対象：" + v.by.map(function (c) { return n[c] || c; }).join("・") }));
    if (v.eligible && !paused) head.appendChild(el("span", { cls: "verdict-until", "data-id": "verdict-until", text: v.until ? day(v.until, v.day) + "まで" : "期限なし" }));
    var box = el("div", { cls: "verdict " + (ok ? "ok" : "no"), "data-id": "verdict", "data-day": v.day }, [head]);
    if (ended) box.appendChild(el("p", { cls: "verdict-note", text: "登録は" + day(member.ended_on, v.day) + "に終了しました（" + (END_LABEL[member.end_reason] || member.end_reason) + "）。" }));
    if (paused) box.appendChild(el("p", { cls: "verdict-note", text: "休止中（" + day(member.paused_on, v.day) + "から" + (member.pause_reason ? "・" + member.pause_reason : "") + "）：再開するまで予約できません。" }));
    var rules = el("ul", { cls: "rules" });
    v.rules.forEach(function (r) {
      rules.appendChild(el("li", { cls: r.holds ? "holds" : "fails", "data-rule": r.category }, [
        el("span", { cls: "mark", "aria-hidden": "true", text: r.holds ? "✓" : "✗" }),
        el("span", { text: ruleText(r, v.day) }),
      ]));
    });
    box.appendChild(rules);
    return box;
  }

  function evidenceText(e) {
    var n = names()[e.category] || e.category;
    var bits = [];
    if (e.category === "licence_surrendered") {
      bits.push((e.since ? day(e.since) : "日付なし") + "に返納");
      if (e.document_no) bits.push("運転経歴証明書 " + e.document_no);
    } else {
      if (e.kind) bits.push(KINDS[e.kind] || e.kind);
      if (e.grade) bits.push(e.grade);
      if (e.document_no) bits.push("番号 " + e.document_no);
      if (e.since) bits.push(day(e.since) + "から");
      bits.push(e.until ? "有効期限 " + day(e.until) : "有効期限なし");
    }
    return n + "：" + bits.join("　");
  }

  /* ---------- loading and the panel ---------- */

  function loadRegistration(r) {
    var seq = ++panel.seq;
    var card = $("registration");
    return Promise.all([O.serviceArea(), O.api("GET", "/api/v1/residents/" + r.id + "/registration")]).then(function (got) {
      var reg = got[1];
      var hh = reg.household_id ? O.api("GET", "/api/v1/households/" + reg.household_id) : Promise.resolve(null);
      return hh.then(function (h) {
        if (seq !== panel.seq) return;
        panel.reg = reg;
        panel.hh = h;
        render();
      });
    }).catch(function (err) {
      if (seq !== panel.seq) return;
      clear($("reg-panel"));
      O.showError($("reg-panel").appendChild(el("p", { cls: "error" })), err);
      card.hidden = false;
    });
  }

  function render() {
    var reg = panel.reg, hh = panel.hh;
    var box = clear($("reg-panel"));
    var today = NoriaiTime.today();
    var status = el("span", { cls: "badge " + STATUS_CLS[reg.status], "data-id": "reg-status", text: STATUS[reg.status] });
    var statusNote = reg.status === "paused"
      ? day(reg.paused_on, today) + "から" + (reg.pause_reason ? "（" + reg.pause_reason + "）" : "")
      : reg.status === "ended" ? day(reg.ended_on, today) + "に終了（" + (END_LABEL[reg.end_reason] || reg.end_reason) + "）" : "";
    box.appendChild(el("div", { cls: "reg-facts" }, [
      el("span", { cls: "muted small-text", text: "登録番号" }),
      el("strong", { "data-id": "reg-no", text: reg.registration_no || "（なし）" }),
      status,
      statusNote ? el("span", { cls: "small-text", text: statusNote }) : null,
    ]));

    box.appendChild(el("div", { cls: "reg-sub", text: "今日（" + NoriaiTime.dayLabel(today) + "）の利用資格" }));
    var todayBox = renderVerdict(reg.eligibility, reg);
    todayBox.setAttribute("data-id", "verdict-today");
    box.appendChild(todayBox);

    var picker = el("input", { type: "date", id: "elig-day", value: "", min: "1900-01-01", "aria-describedby": "elig-day-label" });
    var check = el("button", { type: "button", cls: "small", text: "確かめる", "data-id": "elig-check", on: { click: function () { checkDay(picker.value); } } });
    picker.addEventListener("change", function () { if (picker.value) checkDay(picker.value); });
    box.appendChild(el("div", { cls: "inline elig-day" }, [
      el("label", { "for": "elig-day", id: "elig-day-label", cls: "label", text: "この日の利用資格" }), picker, check,
    ]));
    box.appendChild(el("div", { id: "elig-day-result", "aria-live": "polite" }));

    var ev = el("ul", { cls: "evidence-list", "data-id": "reg-evidence" });
    reg.evidence.forEach(function (e) { ev.appendChild(el("li", { text: evidenceText(e) })); });
    if (!reg.evidence.length) ev.appendChild(el("li", { cls: "muted", text: "証明の登録はありません（年齢だけ）" }));
    box.appendChild(el("div", { cls: "reg-sub", text: "証明" }));
    box.appendChild(ev);
    var mob = [];
    if (reg.wheelchair) mob.push("車いす");
    if (reg.companion_needed) mob.push("付き添いが必要");
    if (mob.length) box.appendChild(el("p", { cls: "small-text", text: "移動：" + mob.join("・") }));

    if (hh) {
      box.appendChild(el("div", { cls: "reg-sub", text: "世帯（No." + hh.id + (hh.settlement ? "・" + hh.settlement : "") + (hh.tv_box ? "・テレビ " + hh.tv_box : "") + "）" }));
      var ul = el("ul", { cls: "hh-members", "data-id": "hh-members" });
      hh.members.forEach(function (m) {
        var me = m.id === reg.id;
        ul.appendChild(el("li", { "data-id": "hh-member-" + m.id }, [
          me ? el("strong", { text: m.family_name + " " + m.given_name + "（この方）" })
            : el("button", { type: "button", cls: "link", text: m.family_name + " " + m.given_name, on: { click: function () { O.openResident(m.id); } } }),
          el("span", { cls: "badge " + STATUS_CLS[m.status], text: STATUS[m.status] }),
          el("span", { cls: "muted small-text", text: m.registration_no }),
        ]));
      });
      box.appendChild(ul);
    }

    var acts = el("div", { cls: "reg-actions" });
    if (reg.status !== "ended") {
      acts.appendChild(O.button("登録を直す", openEdit, { cls: "small", "data-id": "reg-edit" }));
      if (hh) acts.appendChild(O.button("転居", openMove, { cls: "small", "data-id": "reg-move" }));
      if (reg.status === "paused") acts.appendChild(O.button("休止を解除", resume, { cls: "small", "data-id": "reg-resume" }));
      else acts.appendChild(O.button("休止", openPause, { cls: "small", "data-id": "reg-pause" }));
      acts.appendChild(O.button("登録を終了", openEnd, { cls: "small danger-quiet", "data-id": "reg-end" }));
    }
    box.appendChild(acts);
    $("registration").hidden = false;
  }

  function checkDay(d) {
    var out = clear($("elig-day-result"));
    if (!/^\d{4}-\d\d-\d\d$/.test(d)) { out.appendChild(el("p", { cls: "error", text: "日付を選んでください。" })); return; }
    var id = panel.reg.id;
    O.api("GET", "/api/v1/residents/" + id + "/eligibility?day=" + d).then(function (v) {
      if (!panel.reg || panel.reg.id !== id) return;
      var box = renderVerdict(v, panel.reg);
      box.setAttribute("data-id", "verdict-day");
      // another year than this one is said with its year (「2031年6月1日（日）は」)
      var year = d.slice(0, 4) === NoriaiTime.today().slice(0, 4) ? "" : +d.slice(0, 4) + "年";
      box.insertBefore(el("div", { cls: "verdict-day", text: year + NoriaiTime.dayLabel(d) + "は" }), box.firstChild);
      clear(out).appendChild(box);
    }, function (err) { O.showError(out.appendChild(el("p", { cls: "error" })), err); });
  }

  function refresh() {
    var id = panel.reg.id;
    return O.openResident(id);
  }

  /* ---------- the dialog ---------- */

  /* A modal dialog: title, body nodes, the main action (label, cls, fn(close, fail)); Escape or
     「閉じる」 closes it. */
  function dialog(title, body, action) {
    var d = $("reg-dialog");
    clear(d);
    var error = el("p", { cls: "error", role: "alert", "data-id": "dialog-error", hidden: true });
    var main = action ? el("button", { type: "button", cls: action.cls || "primary", text: action.label, "data-id": "dialog-ok" }) : null;
    var cancel = el("button", { type: "button", cls: "quiet", text: action ? "やめる" : "閉じる", "data-id": "dialog-cancel", on: { click: function () { d.close(); } } });
    var actions = el("div", { cls: "actions" }, [main, cancel]);
    d.appendChild(el("h2", { id: "reg-dialog-title", text: title }));
    var content = el("div", { cls: "dialog-body" }, body);
    d.appendChild(content);
    d.appendChild(error);
    d.appendChild(actions);
    var api = {
      dialog: d, content: content, actions: actions, main: main, cancel: cancel,
      close: function () { d.close(); },
      fail: function (err) { O.showError(error, err); },
      clear: function () { error.hidden = true; },
    };
    if (main) {
      main.addEventListener("click", function () {
        error.hidden = true;
        action.fn(api);
      });
    }
    d.setAttribute("aria-labelledby", "reg-dialog-title");
    d.showModal();
    var first = content.querySelector("input:not([type=checkbox]), select, textarea");
    if (first) first.focus();
    return api;
  }

  /* ---------- correcting ---------- */

  function openEdit() {
    var reg = panel.reg;
    var editor = O.memberEditor({ area: O.state.area, values: reg, key: "edit" });
    dialog("登録を直す：" + reg.family_name + " " + reg.given_name, [editor.node], {
      label: "直す", fn: function (dl) {
        editor.clearErrors();
        var r = editor.read();
        if (r.errors.length) {
          r.errors.forEach(function (e) { editor.setError(e.f, e.text); });
          dl.fail(new Error("赤く示された項目を直してください。"));
          O.focusFirstInvalid(dl.content);
          return;
        }
        O.busy(dl.main, true);
        O.api("PATCH", "/api/v1/residents/" + reg.id + "/registration", r.body).then(function () {
          dl.close();
          O.toast("登録を直しました。");
          refresh();
        }, function (err) {
          O.busy(dl.main, false);
          var errs = (err.data && err.data.errors) || [];
          var left = editor.showErrors(errs, r.which);
          dl.fail(O.fieldProblem(err, errs.length - left.length));
          O.focusFirstInvalid(dl.content);
        });
      },
    });
  }

  /* ---------- moving house ---------- */

  function openMove() {
    var hh = panel.hh;
    var address = el("input", { type: "text", id: "move-address", maxlength: 200, autocomplete: "off" });
    var settlement = el("input", { type: "text", id: "move-settlement", maxlength: 64, list: "settlements", value: hh.settlement || "" });
    var on = el("input", { type: "date", id: "move-on", value: NoriaiTime.today() });
    var status = el("p", { cls: "point-status muted", id: "move-point-status", text: "地図で新しい家の場所をクリックしてください。" });
    var mapBox = el("div", { id: "move-map", cls: "dialog-map" });
    var point = null, map = null;
    var body = [
      el("p", { cls: "muted", text: "今の住所：" + hh.address + "（世帯の全員が引っ越します。これまでの記録は残ります）" }),
      el("div", { cls: "move-grid" }, [
        el("div", {}, [
          el("label", { cls: "fld" }, [el("span", { cls: "fld-label", text: "新しい住所" }, [el("span", { cls: "req", text: "必須" })]), address]),
          el("label", { cls: "fld" }, [el("span", { cls: "fld-label", text: "集落" }), settlement]),
          el("label", { cls: "fld" }, [el("span", { cls: "fld-label", text: "引っ越しの日" }), on]),
          status,
        ]),
        mapBox,
      ]),
    ];
    var dl = dialog("転居：" + hh.address, body, {
      label: "転居を登録", fn: function (d) {
        if (!address.value.trim()) { d.fail(new Error("新しい住所を入れてください。")); address.focus(); return; }
        if (!point) { d.fail(new Error("地図で新しい家の場所を選んでください。")); return; }
        if (!map.inside(point.lat, point.lon)) { d.fail(new Error("区域の外の場所は登録できません。地図の白い所を選んでください。")); return; }
        O.busy(d.main, true);
        O.api("POST", "/api/v1/households/" + hh.id + "/move", {
          address: address.value.trim(), lat: point.lat, lon: point.lon, settlement: settlement.value.trim(), on: on.value || null,
        }).then(function () {
          d.close();
          O.toast("転居を登録しました。");
          refresh();
        }, function (err) { O.busy(d.main, false); d.fail(err); });
      },
    });
    dl.dialog.classList.add("wide");
    map = O.ServiceMap.create(mapBox, O.state.area, {
      home: { lat: hh.lat, lon: hh.lon, label: "今の家" },
      onPick: function (lat, lon, inside) {
        point = { lat: lat, lon: lon };
        status.className = "point-status " + (inside ? "ok" : "refused");
        status.setAttribute("data-inside", inside ? "1" : "0");
        var hall = inside && map.nearestHall(lat, lon);
        status.textContent = inside
          ? "区域内 ✓　" + lat.toFixed(5) + ", " + lon.toFixed(5) + (hall ? "　最寄りの公民館：" + hall.place.name : "")
          : "区域の外です：この場所では登録できません。地図の白い所を選んでください。";
      },
    });
    map.zoomTo(hh.lat, hh.lon, 12000);
  }

  /* ---------- pausing and resuming ---------- */

  function openPause() {
    var reg = panel.reg;
    var reason = el("input", { type: "text", id: "pause-reason", maxlength: 200, list: "pause-reasons", placeholder: "例：入院" });
    var from = el("input", { type: "date", id: "pause-on", value: NoriaiTime.today(), min: NoriaiTime.today() });
    dialog("休止：" + reg.family_name + " " + reg.given_name, [
      el("p", { text: "休止のあいだは予約できません。再開はいつでもできます（すでにある予約はそのままです。必要なら取り消してください）。" }),
      el("label", { cls: "fld" }, [el("span", { cls: "fld-label", text: "理由" }), reason]),
      el("label", { cls: "fld" }, [el("span", { cls: "fld-label", text: "休止する日" }), from]),
    ], {
      label: "休止する", fn: function (d) {
        O.busy(d.main, true);
        O.api("POST", "/api/v1/residents/" + reg.id + "/pause", { reason: reason.value.trim(), on: from.value || null }).then(function () {
          d.close();
          O.toast("休止にしました。");
          refresh();
        }, function (err) { O.busy(d.main, false); d.fail(err); });
      },
    });
  }

  function resume() {
    var reg = panel.reg;
    O.api("POST", "/api/v1/residents/" + reg.id + "/resume").then(function () {
      O.toast("休止を解除しました。");
      refresh();
    }, function (err) { O.showError(clear($("elig-day-result")).appendChild(el("p", { cls: "error" })), err); });
  }

  /* ---------- ending ---------- */

  function openEnd() {
    var reg = panel.reg, hh = panel.hh;
    var today = NoriaiTime.today();
    var reason = el("select", { id: "end-reason" }, [el("option", { value: "", text: "― 選ぶ ―" })].concat(
      END_REASONS.map(function (r) { return el("option", { value: r[0], text: r[1] }); })));
    var on = el("input", { type: "date", id: "end-on", value: today, max: today });
    var note = el("textarea", { id: "end-note", rows: 2, maxlength: 500, placeholder: "例：12月1日に松本市へ転出（家族から電話）" });
    var effects = el("ul", { cls: "effects", "data-id": "end-effects" }, [el("li", { cls: "muted", text: "予約を調べています…" })]);
    var others = hh ? hh.members.filter(function (m) { return m.id !== reg.id && m.status !== "ended"; }) : [];
    var when = {}; // ride id -> its pickup window, for the report afterwards
    var dl = dialog("登録を終了：" + reg.family_name + " " + reg.given_name, [
      el("div", { cls: "end-grid" }, [
        el("label", { cls: "fld" }, [el("span", { cls: "fld-label", text: "理由" }, [el("span", { cls: "req", text: "必須" })]), reason]),
        el("label", { cls: "fld" }, [el("span", { cls: "fld-label", text: "終了日（この日から利用なし）" }), on]),
      ]),
      el("label", { cls: "fld" }, [el("span", { cls: "fld-label", text: "メモ" }), note]),
      el("div", { cls: "reg-sub", text: "終了すると、次のことが行われます" }),
      effects,
    ], {
      label: "登録を終了する", cls: "danger", fn: function (d) {
        if (!reason.value) { d.fail(new Error("理由を選んでください。")); reason.focus(); return; }
        O.busy(d.main, true);
        O.api("POST", "/api/v1/residents/" + reg.id + "/end", { reason: reason.value, on: on.value || null, note: note.value.trim() }).then(function (out) {
          ended(d, out, when);
        }, function (err) { O.busy(d.main, false); d.fail(err); });
      },
    });
    O.api("GET", "/api/v1/rides?resident_id=" + reg.id + "&date=" + today).then(function (rides) {
      var open = rides.filter(function (r) { return r.status === "confirmed" || r.status === "vehicle_arrived"; });
      open.forEach(function (r) { when[r.id] = NoriaiTime.short(r.pickup_window.start) + "〜" + NoriaiTime.short(r.pickup_window.end); });
      clear(effects);
      effects.appendChild(el("li", { text: "この方は終了日から予約できなくなります（家族の登録はそのままです）。" }));
      effects.appendChild(el("li", { "data-id": "end-rides", text: open.length
        ? "今日以降のタクシー予約を取り消します：今日 " + open.map(function (r) { return NoriaiTime.short(r.pickup_window.start) + "〜" + NoriaiTime.short(r.pickup_window.end); }).join("、") + "（" + open.length + "件）。テレビとスマートフォンに取り消しのお知らせが出ます。"
        : "今日以降のタクシー予約があれば取り消します（今日の予約はありません）。" }));
      effects.appendChild(el("li", { text: others.length
        ? "世帯にはほかに " + others.length + " 人の登録があるので、買い物の注文・会員・見守りはそのままです。"
        : "世帯に登録者がいなくなるため、準備前の買い物の注文を取り消し、買い物の会員と見守りを終了します。" }));
      effects.appendChild(el("li", { text: "これまでの乗車・請求の記録は残ります。" }));
    }, function (err) { clear(effects); O.showError(effects.appendChild(el("li", { cls: "error" })), err); });
    return dl;
  }

  /* What ending did: the dialog turns into the report. */
  function ended(d, out, when) {
    clear(d.content);
    var list = el("ul", { cls: "effects", "data-id": "end-done" });
    list.appendChild(el("li", { "data-id": "end-done-rides", text: out.rides_cancelled.length
      ? "取り消したタクシー予約：" + out.rides_cancelled.map(function (id) { return "No." + id + (when[id] ? "（迎え " + when[id] + "）" : ""); }).join("、")
      : "取り消したタクシー予約はありません。" }));
    if (out.household_left_empty) {
      list.appendChild(el("li", { text: out.orders_cancelled.length
        ? "取り消した買い物の注文：" + out.orders_cancelled.map(function (id) { return "No." + id; }).join("、")
        : "取り消した買い物の注文はありません。" }));
      if (out.orders_kept.length) list.appendChild(el("li", { text: "準備が進んでいるためお届けする注文：" + out.orders_kept.map(function (id) { return "No." + id; }).join("、") + "（公民館に届きます）" }));
      list.appendChild(el("li", { text: out.memberships_ended ? "買い物の会員を終了しました。" : "買い物の会員ではありませんでした。" }));
      list.appendChild(el("li", { text: out.watch_stopped ? "見守りを止めました。" : "見守りは使っていませんでした。" }));
    }
    d.content.appendChild(el("p", { cls: "strong", text: "登録を終了しました（" + day(out.ended_on) + "から）。" }));
    d.content.appendChild(list);
    d.main.hidden = true;
    d.cancel.textContent = "閉じる";
    d.cancel.className = "primary";
    d.cancel.focus();
    d.dialog.addEventListener("close", function () { refresh(); }, { once: true });
  }

  /* Signing out: nothing of the last caller stays. */
  function forgetRegistration() {
    panel.reg = null;
    panel.hh = null;
    panel.seq++;
    clear($("reg-panel"));
    $("registration").hidden = true;
    var d = $("reg-dialog");
    if (d.open) d.close();
    clear(d);
  }

  Object.assign(O, { loadRegistration: loadRegistration, renderVerdict: renderVerdict, forgetRegistration: forgetRegistration });
})();
