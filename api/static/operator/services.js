/* The household's services (「サービス」 on the resident's card), each with its start, its end and
 * what it costs:
 * - 買い物: the shopping membership — enrol from a day, end after a day; the monthly fee and the
 *   month billing starts (GET/POST /api/v1/households/{id}/memberships, …/memberships/end);
 * - 見守り: the watch-over with the resident's recorded consent (day, 書面/口頭/電話, who gave it,
 *   who recorded it), the family to tell, the hours of silence, the sleep hours
 *   (GET/PUT /api/v1/households/{id}/watch);
 * - テレビのお知らせ: reminders on the TV — list, add, stop (…/reminders, DELETE /reminders/{id});
 * - 口座振替: the direct-debit account; the bank's and the branch's names are looked up in the
 *   Zengin bank master as the codes are typed (GET /api/v1/banks/{code}[/branches/{code}]).
 * Every refusal is shown next to the field the server names (its own message_ja), the rest above
 * the block's buttons. The section builds itself into <section id="services">; resident.js calls
 * Operator.loadServices() when a resident opens. ES2017 (office PCs).
 */
"use strict";

(() => {
  const { T, el, clear, $, state, button, busy, land, api, showError, toast } = Operator;
  const METHODS = [["written", "書面"], ["oral", "口頭"], ["phone", "電話"]];
  const KINDS = [["medication", "お薬"], ["rubbish", "ゴミの日"], ["other", "その他"]];
  const DAYS = [["mon", "月"], ["tue", "火"], ["wed", "水"], ["thu", "木"], ["fri", "金"], ["sat", "土"], ["sun", "日"]];
  const TYPES = [["1", "普通"], ["2", "当座"], ["4", "貯蓄"]];
  let household = null; // the household shown, so a late answer for another one is dropped

  /* ---------- small builders ---------- */

  /* "2026-11-24" -> "2026年11月24日" */
  function dateJa(d) {
    return d ? +d.slice(0, 4) + "年" + +d.slice(5, 7) + "月" + +d.slice(8, 10) + "日" : "";
  }
  /* "2026-11" -> "2026年11月" */
  function monthJa(m) {
    return m ? +m.slice(0, 4) + "年" + +m.slice(5, 7) + "月" : "";
  }
  /* A labelled input with its own error line below: {row, input, error}. */
  function field(label, name, input, hint) {
    input.setAttribute("data-field", name);
    if (!input.id) input.id = "svc-" + name.replace(/[^a-z0-9]+/gi, "-");
    const error = el("p", { cls: "field-error", role: "alert", "data-error-for": name, hidden: true });
    const row = el("div", { cls: "svc-field" }, [
      el("label", { cls: "label", for: input.id, text: label }),
      el("div", { cls: "svc-input" }, [input, hint || null, error]),
    ]);
    return row;
  }
  function select(options, value) {
    const s = el("select", {});
    options.forEach(([v, label]) => s.appendChild(el("option", { value: v, text: label, selected: v === value })));
    return s;
  }
  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((p) => { p.hidden = true; p.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
    const lead = form.querySelector(".error.lead");
    if (lead) { lead.hidden = true; clear(lead); }
  }
  /* A refusal: each named field's own text beside it; what names no field shown of this form
   * above its buttons (the lead and the server's words). */
  function showProblem(form, err) {
    clearErrors(form);
    const errors = (err && err.data && err.data.errors) || [];
    let placed = 0;
    errors.forEach((e) => {
      const box = form.querySelector('[data-error-for="' + e.field + '"]');
      if (!box) return;
      placed += 1;
      box.textContent = e.message_ja || e.message;
      box.hidden = false;
      const input = form.querySelector('[data-field="' + e.field + '"]');
      if (input) input.setAttribute("aria-invalid", "true");
    });
    if (!errors.length || placed < errors.length) showError(form.querySelector(".error.lead"), err);
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) (first.matches("fieldset") ? first.querySelector("input, select") : first).focus();
  }
  function fieldError(form, name, text) {
    const box = form.querySelector('[data-error-for="' + name + '"]');
    box.textContent = text;
    box.hidden = !text;
    const input = form.querySelector('[data-field="' + name + '"]');
    if (input) {
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }
  function lead() {
    return el("p", { cls: "error lead", role: "alert", hidden: true });
  }
  /* Append the nodes that are there (a form's optional parts may be null). */
  function put(parent, nodes) {
    nodes.forEach((n) => { if (n) parent.appendChild(n); });
    return parent;
  }
  /* A block drawn again after a change: the control pressed went with the old drawing, so the focus
     lands on the block's heading (its new state follows it), not on the page's top. */
  function redraw(load, box) {
    return load(box).then(() => {
      const a = document.activeElement;
      if (!a || a === document.body || !a.isConnected) land(box.querySelector("h4"));
    });
  }
  function block(id, title) {
    return el("section", { cls: "svc", id: id, "aria-labelledby": id + "-title" }, [
      el("h4", { id: id + "-title", text: title }),
    ]);
  }

  /* ---------- the section ---------- */

  function loadServices() {
    const r = state.resident;
    const root = clear($("services"));
    root.appendChild(el("h3", { text: "サービス（世帯）" }));
    household = r.household_id;
    if (!r.household_id) {
      root.appendChild(el("p", { cls: "muted", text: "この方は世帯が登録されていません。" }));
      return Promise.resolve();
    }
    const shop = block("svc-shop", "買い物（会員）");
    const watch = block("svc-watch", "見守り");
    const remind = block("svc-remind", "テレビのお知らせ");
    const debit = block("svc-debit", "口座振替");
    // two columns that stack on their own (the watch-over's form is long): money on the left
    root.appendChild(el("div", { cls: "svc-grid" }, [
      el("div", { cls: "svc-col" }, [shop, debit]),
      el("div", { cls: "svc-col" }, [watch, remind]),
    ]));
    return Promise.all([loadShop(shop), loadWatch(watch), loadReminders(remind), loadDebit(debit)]);
  }
  function mine(hid) {
    return state.resident && household === hid;
  }

  /* ---------- 買い物: the membership ---------- */

  function loadShop(box) {
    const hid = household;
    return api("GET", "/api/v1/households/" + hid + "/memberships").then(
      (m) => { if (mine(hid)) renderShop(box, m); },
      (err) => { if (mine(hid)) showError(box.appendChild(lead()), err); }
    );
  }

  function renderShop(box, m) {
    clear(box).appendChild(el("h4", { id: "svc-shop-title", text: "買い物（会員）" }));
    if (!m.offered) {
      box.appendChild(el("p", { cls: "muted", text: "この市町村では、お買い物サービスはありません。" }));
      return;
    }
    const fee = T.yen(m.fee_yen_per_month) + "/月";
    const current = m.memberships.filter((x) => x.billed_from && (!x.ends_on || x.ends_on >= T.today()));
    const open = current[current.length - 1];
    box.appendChild(el("p", { cls: "svc-state", "data-id": "shop-state" }, [
      m.member_today
        ? el("span", { cls: "badge ok", text: "会員" })
        : el("span", { cls: "badge muted-badge", text: open ? "開始前" : "会員ではありません" }),
      " 月会費 " + fee,
    ]));
    const list = el("ul", { cls: "rows svc-rows" });
    m.memberships.slice().reverse().slice(0, 4).forEach((x) => {
      const period = x.billed_from
        ? dateJa(x.starts_on) + "〜" + (x.ends_on ? dateJa(x.ends_on) : "")
        : dateJa(x.starts_on) + "から（開始前に取り消し）";
      const billed = x.billed_from
        ? monthJa(x.billed_from) + "分から" + (x.billed_until ? monthJa(x.billed_until) + "分まで" : "") + "請求"
        : "請求なし";
      list.appendChild(el("li", { cls: x.running || (x.billed_from && !x.ends_on) ? "" : "past", "data-id": "membership-" + x.id }, [
        el("div", { cls: "row-head" }, [el("span", { cls: "when", text: period }), el("span", { cls: "amount", text: T.yen(x.fee_yen) + "/月" })]),
        el("div", { cls: "row-info", text: billed }),
      ]));
    });
    if (m.memberships.length) box.appendChild(list);

    const form = el("form", { cls: "svc-form", "data-id": "shop-form", novalidate: true });
    if (!open) {
      const start = el("input", { type: "date", value: T.today(), "data-id": "shop-start" });
      const hint = el("p", { cls: "hint", "data-id": "shop-hint" });
      const sayHint = () => {
        const d = start.value;
        hint.textContent = d ? "月会費 " + fee + "。" + monthJa(d.slice(0, 7)) + "分から請求します（その月は日数にかかわらず1か月分）。" : "";
      };
      start.addEventListener("input", sayHint);
      sayHint();
      const go = el("button", { type: "submit", cls: "primary", text: "会員にする", "data-id": "shop-enrol" });
      put(form, [field("開始日", "starts_on", start, hint), lead(), el("div", { cls: "actions" }, [go])]);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        clearErrors(form);
        if (!start.value) { fieldError(form, "starts_on", "開始日を入れてください。"); return; }
        busy(go, true);
        api("POST", "/api/v1/households/" + household + "/memberships", { starts_on: start.value }).then(
          (x) => { toast("買い物の会員にしました（" + monthJa(x.billed_from) + "分から月会費 " + T.yen(x.fee_yen) + "）。"); redraw(loadShop, box); },
          (err) => showProblem(form, err)
        ).finally(() => busy(go, false));
      });
    } else {
      const end = el("input", { type: "date", value: T.today(), "data-id": "shop-end" });
      const hint = el("p", { cls: "hint", "data-id": "shop-end-hint" });
      const sayHint = () => {
        const d = end.value;
        hint.textContent = !d ? "" : d < open.starts_on
          ? "開始前の会員登録を取り消します（請求はありません）。"
          : "この日まで会員です。" + monthJa(d.slice(0, 7)) + "分まで請求します。";
      };
      end.addEventListener("input", sayHint);
      sayHint();
      const stop = el("button", { type: "submit", cls: "danger-quiet", text: "会員を終了する", "data-id": "shop-stop" });
      put(form, [field("最後の日", "ends_on", end, hint), lead(), el("div", { cls: "actions" }, [stop])]);
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        clearErrors(form);
        if (!end.value) { fieldError(form, "ends_on", "最後の日を入れてください。"); return; }
        if (stop.getAttribute("data-armed") !== "1") {
          stop.setAttribute("data-armed", "1");
          stop.textContent = "本当に終了する";
          return;
        }
        busy(stop, true);
        api("POST", "/api/v1/households/" + household + "/memberships/end", { ends_on: end.value }).then(
          () => { toast("買い物の会員を終了しました。"); redraw(loadShop, box); },
          (err) => showProblem(form, err)
        ).finally(() => busy(stop, false));
      });
    }
    box.appendChild(form);
  }

  /* ---------- 見守り: the watch-over and its consent ---------- */

  function loadWatch(box) {
    const hid = household;
    return api("GET", "/api/v1/households/" + hid + "/watch").then(
      (w) => { if (mine(hid)) renderWatch(box, w); },
      (err) => { if (mine(hid)) showError(box.appendChild(lead()), err); }
    );
  }

  function renderWatch(box, w) {
    clear(box).appendChild(el("h4", { id: "svc-watch-title", text: "見守り" }));
    const c = w.consent;
    const method = c ? (METHODS.find(([v]) => v === c.method) || [c.method, c.method])[1] : "";
    box.appendChild(el("p", { cls: "svc-state", "data-id": "watch-state" }, [
      w.enabled ? el("span", { cls: "badge ok", text: "利用中" }) : el("span", { cls: "badge muted-badge", text: w.set_up ? "停止中" : "未利用" }),
      w.enabled
        ? " テレビが " + w.threshold_hours + "時間 つかわれないとご家族にメール（夜 " + w.sleep[0] + "〜" + w.sleep[1] + " は送りません）"
        : "",
    ]));
    if (w.enabled && c) {
      box.appendChild(el("p", { cls: "row-info", "data-id": "watch-consent" },
        ["同意: " + dateJa(c.on) + "・" + method + "・" + c.given_by + "さん（記録 " + c.recorded_by + "）"]));
    } else if (w.enabled) {
      box.appendChild(el("p", { cls: "row-info warn-text", text: "同意の記録がありません。設定を保存するときに記録してください。" }));
    }
    if (w.contacts.length) {
      box.appendChild(el("p", { cls: "row-info", text: "連絡先: " + w.contacts.map((x) => x.name + (x.relation ? "（" + x.relation + "）" : "")).join("、") }));
    }

    const form = el("form", { cls: "svc-form", "data-id": "watch-form", novalidate: true });
    const needConsent = !(w.enabled && c);
    const consentOn = el("input", { type: "date", value: T.today(), "data-id": "consent-on" });
    const consentMethod = select(METHODS, "written");
    consentMethod.setAttribute("data-id", "consent-method");
    const givenBy = el("input", { type: "text", maxlength: "60", value: state.resident.name, "data-id": "consent-given-by" });
    const recordedBy = el("input", { type: "text", maxlength: "60", placeholder: state.user, "data-id": "consent-recorded-by" });
    const consent = el("fieldset", { cls: "svc-group", "data-field": "consent" }, [
      el("legend", { text: needConsent ? "ご本人の同意（必須）" : "同意を記録しなおす（任意）" }),
      field("同意した日", "consent.on", consentOn),
      field("方法", "consent.method", consentMethod),
      field("同意した方", "consent.given_by", givenBy),
      field("記録した人", "consent.recorded_by", recordedBy),
      el("p", { cls: "field-error", role: "alert", "data-error-for": "consent", hidden: true }),
    ]);
    const recordConsent = el("input", { type: "checkbox", "data-id": "consent-again" });
    if (!needConsent) { // a running watch-over keeps its consent unless the operator records a new one
      consent.disabled = true;
      consent.hidden = true;
      recordConsent.addEventListener("change", () => {
        consent.disabled = !recordConsent.checked;
        consent.hidden = !recordConsent.checked;
      });
    }
    const people = (w.contacts.length ? w.contacts : [{ name: "", relation: "", email: "" }]).slice(0, 3);
    const contactRows = el("div", { cls: "svc-contacts" });
    const addContact = (x, k) => {
      contactRows.appendChild(el("div", { cls: "inline svc-contact" }, [
        el("input", { type: "text", maxlength: "60", value: x.name, placeholder: "お名前", "aria-label": "ご家族のお名前", "data-field": "contacts[" + k + "].name", "data-id": "contact-name-" + k }),
        el("input", { type: "text", maxlength: "30", value: x.relation, placeholder: "続柄（長女など）", "aria-label": "続柄", cls: "short-input", "data-field": "contacts[" + k + "].relation" }),
        el("input", { type: "email", maxlength: "200", value: x.email, placeholder: "メールアドレス", "aria-label": "メールアドレス", "data-field": "contacts[" + k + "].email", "data-id": "contact-email-" + k }),
        el("p", { cls: "field-error", role: "alert", "data-error-for": "contacts[" + k + "].email", hidden: true }),
      ]));
    };
    people.forEach(addContact);
    const more = button("＋ 連絡先を追加", () => {
      const k = contactRows.children.length;
      if (k < 3) addContact({ name: "", relation: "", email: "" }, k);
      if (k + 1 >= 3) more.disabled = true;
    }, { cls: "quiet small" });
    const contactsField = el("div", { cls: "svc-field" }, [
      el("span", { cls: "label", text: "ご家族" }),
      el("div", { cls: "svc-input" }, [contactRows, more, el("p", { cls: "field-error", role: "alert", "data-error-for": "contacts", hidden: true })]),
    ]);
    const hours = el("input", { type: "number", min: "1", max: "168", step: "1", value: String(w.threshold_hours), cls: "num-input", "data-id": "watch-hours" });
    const sleepStart = el("input", { type: "time", value: w.sleep[0].padStart(5, "0"), "aria-label": "就寝の始まり", "data-field": "sleep_start" });
    const sleepEnd = el("input", { type: "time", value: w.sleep[1].padStart(5, "0"), "aria-label": "就寝の終わり", "data-field": "sleep_end" });
    const sleep = el("div", { cls: "svc-field" }, [
      el("span", { cls: "label", text: "夜（送らない）" }),
      el("div", { cls: "svc-input" }, [
        el("div", { cls: "inline" }, [sleepStart, "〜", sleepEnd]),
        el("p", { cls: "field-error", role: "alert", "data-error-for": "sleep_start", hidden: true }),
        el("p", { cls: "field-error", role: "alert", "data-error-for": "sleep_end", hidden: true }),
      ]),
    ]);
    const save = el("button", { type: "submit", cls: "primary", text: w.enabled ? "設定を保存" : "見守りを始める", "data-id": "watch-save" });
    const actions = el("div", { cls: "actions" }, [save]);
    if (w.enabled) {
      const off = el("button", { type: "button", cls: "danger-quiet", text: "見守りを止める", "data-id": "watch-off" });
      off.addEventListener("click", () => {
        if (off.getAttribute("data-armed") !== "1") { off.setAttribute("data-armed", "1"); off.textContent = "本当に止める"; return; }
        busy(off, true);
        api("PUT", "/api/v1/households/" + household + "/watch", { enabled: false }).then(
          () => { toast("見守りを止めました。"); redraw(loadWatch, box); },
          (err) => showProblem(form, err)
        ).finally(() => busy(off, false));
      });
      actions.appendChild(off);
    }
    put(form, [
      needConsent ? null : el("label", { cls: "check" }, [recordConsent, " 同意を記録しなおす"]),
      consent,
      contactsField,
      field("知らせるまで", "threshold_hours", hours, el("span", { cls: "unit", text: "時間 テレビがつかわれないとき" })),
      sleep,
      lead(),
      actions,
    ]);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const contacts = [];
      Array.from(contactRows.children).forEach((row) => {
        const [name, relation, email] = row.querySelectorAll("input");
        if (name.value.trim() || email.value.trim()) contacts.push({ name: name.value.trim(), relation: relation.value.trim(), email: email.value.trim() });
      });
      const body = {
        enabled: true,
        contacts: contacts,
        threshold_hours: +hours.value || 24,
        sleep_start: sleepStart.value,
        sleep_end: sleepEnd.value,
        escalate_minutes: w.escalate_minutes,
      };
      if (!consent.disabled) {
        body.consent = { on: consentOn.value, method: consentMethod.value, given_by: givenBy.value.trim(), recorded_by: recordedBy.value.trim() };
      }
      busy(save, true);
      api("PUT", "/api/v1/households/" + household + "/watch", body).then(
        () => { toast(w.enabled ? "見守りの設定を保存しました。" : "見守りを始めました。"); redraw(loadWatch, box); },
        (err) => showProblem(form, err)
      ).finally(() => busy(save, false));
    });
    box.appendChild(form);
  }

  /* ---------- テレビのお知らせ: reminders ---------- */

  function loadReminders(box) {
    const hid = household;
    return api("GET", "/api/v1/households/" + hid + "/reminders").then(
      (list) => { if (mine(hid)) renderReminders(box, list); },
      (err) => { if (mine(hid)) showError(box.appendChild(lead()), err); }
    );
  }

  function when(x) {
    if (x.once_at) return T.dayLabel(x.once_at.slice(0, 10)) + " " + T.short(x.once_at) + "（1回）";
    const days = DAYS.filter(([v]) => x.days.indexOf(v) >= 0).map(([, l]) => l).join("・");
    return "毎週 " + days + " " + T.short(x.at_time || "");
  }

  function renderReminders(box, list) {
    clear(box).appendChild(el("h4", { id: "svc-remind-title", text: "テレビのお知らせ" }));
    const rows = el("ul", { cls: "rows svc-rows", "data-id": "reminder-list" });
    if (!list.length) rows.appendChild(el("li", { cls: "muted", text: "お知らせはありません。" }));
    list.forEach((x) => {
      const kind = (KINDS.find(([v]) => v === x.kind) || ["", ""])[1];
      const stop = el("button", { type: "button", cls: "small danger-quiet", text: "止める", "data-id": "reminder-stop-" + x.id });
      stop.addEventListener("click", () => {
        if (stop.getAttribute("data-armed") !== "1") { stop.setAttribute("data-armed", "1"); stop.textContent = "本当に止める"; return; }
        busy(stop, true);
        api("DELETE", "/api/v1/reminders/" + x.id).then(
          () => { toast("お知らせを止めました。"); redraw(loadReminders, box); },
          (err) => { busy(stop, false); showProblem(form, err); }
        );
      });
      rows.appendChild(el("li", { "data-id": "reminder-" + x.id }, [
        el("div", { cls: "row-head" }, [el("span", { cls: "when", text: when(x) }), el("span", { cls: "badge info", text: kind }), stop]),
        el("div", { cls: "row-info", text: x.text }),
      ]));
    });
    box.appendChild(rows);

    const form = el("form", { cls: "svc-form", "data-id": "reminder-form", novalidate: true });
    const text = el("input", { type: "text", maxlength: "120", placeholder: "例：お昼の薬をのみましょう", "data-id": "reminder-text" });
    const kind = select(KINDS, "medication");
    const weekly = el("input", { type: "radio", name: "svc-rem-when", value: "weekly", checked: true, "data-id": "reminder-weekly" });
    const once = el("input", { type: "radio", name: "svc-rem-when", value: "once", "data-id": "reminder-once" });
    const days = el("div", { cls: "inline svc-days", "data-field": "days" }, DAYS.map(([v, l]) =>
      el("label", { cls: "check" }, [el("input", { type: "checkbox", value: v, "data-id": "reminder-day-" + v }), l])));
    const at = el("input", { type: "time", value: "08:00", "aria-label": "時刻", "data-field": "at_time", "data-id": "reminder-time" });
    const onceAt = el("input", { type: "datetime-local", "aria-label": "日時", "data-field": "once_at", disabled: true, "data-id": "reminder-once-at" });
    const flip = () => {
      days.querySelectorAll("input").forEach((i) => { i.disabled = once.checked; });
      at.disabled = once.checked;
      onceAt.disabled = !once.checked;
    };
    weekly.addEventListener("change", flip);
    once.addEventListener("change", flip);
    const add = el("button", { type: "submit", text: "お知らせを追加", "data-id": "reminder-add" });
    put(form, [
      field("内容", "text", text),
      field("種類", "kind", kind),
      el("div", { cls: "svc-field" }, [
        el("span", { cls: "label", text: "いつ" }),
        el("div", { cls: "svc-input" }, [
          el("div", { cls: "inline" }, [el("label", { cls: "radio" }, [weekly, " 毎週"]), days, at]),
          el("div", { cls: "inline" }, [el("label", { cls: "radio" }, [once, " 1回だけ"]), onceAt]),
          ...["once_at", "days", "at_time"].map((n) => el("p", { cls: "field-error", role: "alert", "data-error-for": n, hidden: true })),
        ]),
      ]),
      lead(),
      el("div", { cls: "actions" }, [add]),
    ]);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      clearErrors(form);
      if (!text.value.trim()) { fieldError(form, "text", "お知らせの内容を書いてください。"); return; }
      const body = { text: text.value.trim(), kind: kind.value };
      if (once.checked) {
        if (!onceAt.value) { fieldError(form, "once_at", "日時を入れてください。"); return; }
        body.once_at = onceAt.value + ":00" + T.iso(T.now()).slice(-6);
      } else {
        body.days = Array.from(days.querySelectorAll("input:checked")).map((i) => i.value);
        if (!body.days.length) { fieldError(form, "days", "曜日を選んでください。"); return; }
        body.at_time = at.value;
      }
      busy(add, true);
      api("POST", "/api/v1/households/" + household + "/reminders", body).then(
        () => { toast("お知らせを追加しました。テレビに出ます。"); redraw(loadReminders, box); },
        (err) => showProblem(form, err)
      ).finally(() => busy(add, false));
    });
    box.appendChild(form);
  }

  /* ---------- 口座振替: the direct-debit account ---------- */

  function loadDebit(box) {
    const hid = household;
    return api("GET", "/api/v1/households/" + hid + "/billing-account").then(
      (acc) => { if (mine(hid)) renderDebit(box, acc); },
      (err) => {
        if (!mine(hid)) return;
        if (err.status === 404 && err.data && err.data.code === "billing.account_not_found") renderDebit(box, null);
        else showError(box.appendChild(lead()), err);
      }
    );
  }

  function renderDebit(box, acc) {
    clear(box).appendChild(el("h4", { id: "svc-debit-title", text: "口座振替" }));
    box.appendChild(el("p", { cls: "svc-state", "data-id": "debit-state" }, acc
      ? [el("span", { cls: "badge ok", text: "登録済み" }), " " + acc.bank_name_ja + "（" + acc.bank_code + "） " + acc.branch_name_ja + "（" + acc.branch_code + "） " +
        (TYPES.find(([v]) => +v === acc.account_type) || ["", ""])[1] + " " + acc.account_number + " " + acc.holder_kana]
      : [el("span", { cls: "badge muted-badge", text: "未登録" }), " 毎月の利用料は、登録した口座から引き落とします。"]));

    const form = el("form", { cls: "svc-form", "data-id": "debit-form", novalidate: true });
    const customer = el("input", { type: "text", inputmode: "numeric", maxlength: "20", value: acc ? acc.customer_no : "", cls: "code-input", "data-id": "debit-customer" });
    const bank = el("input", { type: "text", inputmode: "numeric", maxlength: "4", value: acc ? acc.bank_code : "", cls: "code-input", "data-id": "debit-bank" });
    const bankName = el("span", { cls: "lookup", "data-id": "debit-bank-name", "aria-live": "polite" });
    const branch = el("input", { type: "text", inputmode: "numeric", maxlength: "3", value: acc ? acc.branch_code : "", cls: "code-input", "data-id": "debit-branch" });
    const branchName = el("span", { cls: "lookup", "data-id": "debit-branch-name", "aria-live": "polite" });
    const type = select(TYPES, acc ? String(acc.account_type) : "1");
    const number = el("input", { type: "text", inputmode: "numeric", maxlength: "7", cls: "code-input", "data-id": "debit-number" });
    const holder = el("input", { type: "text", maxlength: "60", value: acc ? acc.holder_kana : "", placeholder: "例：イナ タロウ", "data-id": "debit-holder" });
    let seq = 0;
    /* The names as typed: a bank code of 4 digits, then a branch code of 3 digits of that bank. */
    function lookUp() {
      const n = ++seq;
      const b = bank.value.trim(), br = branch.value.trim();
      bankName.textContent = "";
      branchName.textContent = "";
      fieldError(form, "bank_code", "");
      fieldError(form, "branch_code", "");
      if (!/^\d{4}$/.test(b)) return;
      api("GET", "/api/v1/banks/" + b).then((x) => {
        if (n !== seq) return;
        bankName.textContent = x.name + "（" + x.kana + "）";
        if (!/^\d{3}$/.test(br)) return;
        api("GET", "/api/v1/banks/" + b + "/branches/" + br).then(
          (y) => { if (n === seq) branchName.textContent = y.name + "（" + y.kana + "）"; },
          (err) => { if (n === seq) fieldError(form, "branch_code", NoriaiProblem.lead(err, Operator.PROBLEM)); }
        );
      }, (err) => { if (n === seq) fieldError(form, "bank_code", NoriaiProblem.lead(err, Operator.PROBLEM)); });
    }
    bank.addEventListener("input", lookUp);
    branch.addEventListener("input", lookUp);
    const save = el("button", { type: "submit", cls: "primary", text: acc ? "口座を変更" : "口座を登録", "data-id": "debit-save" });
    put(form, [
      field("顧客番号", "customer_no", customer, el("span", { cls: "unit", text: "ケーブルテレビの番号" })),
      field("金融機関コード", "bank_code", bank, bankName),
      field("店番号", "branch_code", branch, branchName),
      field("種目", "account_type", type),
      field("口座番号", "account_number", number, acc ? el("span", { cls: "unit", text: "変更するときは、口座番号も入れなおしてください" }) : null),
      field("名義（カナ）", "holder_kana", holder),
      lead(),
      el("div", { cls: "actions" }, [save]),
    ]);
    if (acc) lookUp();
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      clearErrors(form);
      if (acc && !number.value.trim()) { fieldError(form, "account_number", "確認のため、口座番号をもう一度入れてください。"); return; }
      const digits = (s) => Operator.normalise(s).replace(/[\s-]/g, "");
      const body = {
        customer_no: digits(customer.value),
        bank_code: digits(bank.value),
        branch_code: digits(branch.value),
        account_type: +type.value,
        account_number: digits(number.value),
        holder_kana: holder.value.trim(),
      };
      busy(save, true);
      api("PUT", "/api/v1/households/" + household + "/billing-account", body).then(
        (x) => { toast("口座を登録しました（" + x.bank_name_ja + " " + x.branch_name_ja + "）。"); redraw(loadDebit, box); },
        (err) => showProblem(form, err)
      ).finally(() => busy(save, false));
    });
    box.appendChild(form);
  }

  Object.assign(Operator, { loadServices });
})();
