/* 新規登録: registering a household and its members on the phone (POST /api/v1/households).
 *
 * The household's address, settlement, phone and TV box; its home picked on the map of the service
 * area (servicemap.js) or copied from a neighbour found by name; then its members (「家族を追加」),
 * each with the municipality's registration number, names and kana, birth date, phone, mobility and
 * the evidence of each eligibility category (licence surrendered, disability certificate, the
 * municipality's own categories from GET /api/v1/service-area).
 *
 * Likely duplicates are asked for as the operator leaves a name or birth date (POST
 * /api/v1/residents/duplicates) and come back in a 409 too; each must be confirmed 「別人として登録」
 * before saving. Refused fields are marked next to their inputs in Japanese (the problem's
 * errors[].field, e.g. members[1].evidence[0].since, names the input; its code chooses the words).
 *
 * Operator.memberEditor (a person's fields and evidence) is shared with the registration panel's
 * correction dialog (registration.js). ES5.
 */
"use strict";

(function () {
  var O = Operator;
  var el = NoriaiDom.el, clear = NoriaiDom.clear;
  function $(id) { return document.getElementById(id); }

  var DISABILITY_KINDS = [
    ["physical", "身体障害者手帳（身体）"],
    ["intellectual", "療育手帳（療育）"],
    ["mental", "精神障害者保健福祉手帳（精神）"],
  ];

  /* ---------- field errors in Japanese, chosen by code (and by field where the code is generic) ---------- */

  var BY_CODE = {
    "field.required": "入力してください。",
    "field.unknown": "使えない項目です。",
    "resident.registration_no_taken": "この登録番号はすでに使われています。",
    "resident.birth_date_impossible": "ありえない生年月日です。",
    "household.outside_area": "サービス区域の外です。地図で区域の中（白い所）を選んでください。",
    "evidence.dates": "有効期限が開始日より前です。",
    "evidence.category_unknown": "この市町村にない区分です。",
    "evidence.age_derived": "年齢の条件は生年月日から決まります。",
    "place.unknown": "その公民館はありません。",
  };
  var INVALID_BY_FIELD = {
    registration_no: "半角の英数字とハイフンで入れてください（例：INA-01234）。",
    family_kana: "ひらがなかカタカナで入れてください。",
    given_kana: "ひらがなかカタカナで入れてください。",
    phone: "数字とハイフンで入れてください。",
    birth_date: "生年月日を選んでください。",
    since: "日付を選んでください。",
    until: "日付を選んでください。",
    on: "日付を選んでください。",
    kind: "手帳の種類を選んでください。",
    lat: "地図で場所を選んでください。",
    lon: "地図で場所を選んでください。",
  };
  var INCOMPLETE_BY_PROP = {
    since: "返納日を入れてください。",
    kind: "手帳の種類を選んでください。",
    grade: "等級を入れてください。",
    document_no: "番号を入れてください。",
    until: "有効期限を入れてください。",
  };

  /* The words next to a field refused by the server: by code, then by the field's last name. */
  function fieldText(err) {
    var prop = String(err.field || "").split(".").pop().replace(/\[\d+\]$/, "");
    if (err.code === "evidence.incomplete") return INCOMPLETE_BY_PROP[prop] || "足りない項目があります。";
    if (err.code === "field.invalid") return INVALID_BY_FIELD[prop] || "この項目を直してください。";
    return BY_CODE[err.code] || "この項目を直してください。";
  }

  /* A refusal whose fields are marked at their inputs, led by how many there are; the server's own
     text follows when a code says more than "fix this field" (a taken number, a place outside). */
  function fieldProblem(err, marked) {
    var p = err.data || {};
    if (!marked || !p.errors) return err;
    var generic = p.errors.every(function (e) { return e.code === "field.invalid" || e.code === "field.required"; });
    var lead = "赤く示された項目を直してください（" + marked + "か所）。" + (generic ? "" : p.message_ja || "");
    var shown = NoriaiProblem.make(err.status, lead, p.code);
    shown.data = Object.assign({}, p, { message_ja: lead });
    return shown;
  }

  /* A labelled input with the place for its error beneath. */
  function field(label, input, opts) {
    opts = opts || {};
    var err = el("span", { cls: "fld-error", role: "alert", hidden: true });
    var node = el("label", { cls: "fld" + (opts.cls ? " " + opts.cls : "") }, [
      el("span", { cls: "fld-label", text: label }, [opts.required ? el("span", { cls: "req", text: "必須" }) : null, opts.note || null]),
      opts.after ? el("span", { cls: "fld-row" }, [input].concat(opts.after)) : input,
      err,
    ]);
    return { node: node, input: input, err: err };
  }

  function setError(f, text) {
    f.err.textContent = text || "";
    f.err.hidden = !text;
    f.node.classList.toggle("invalid", !!text);
    if (f.input.setAttribute) f.input.setAttribute("aria-invalid", text ? "true" : "false");
  }

  /* "1950-05-02" -> "1950年5月2日" */
  function dateJa(iso) {
    if (!iso) return "";
    return +iso.slice(0, 4) + "年" + +iso.slice(5, 7) + "月" + +iso.slice(8, 10) + "日";
  }

  /* Numbers as typed on a Japanese keyboard: full-width letters, digits and hyphens to half-width. */
  function narrow(s) {
    return String(s || "").normalize("NFKC").replace(/[\u2010-\u2015\u2212\u30fc]/g, "-").trim();
  }

  function input(attrs) { return el("input", Object.assign({ type: "text", autocomplete: "off" }, attrs)); }

  /* ---------- one person's fields and evidence (registering, correcting) ---------- */

  /* opts: area (the service area, for the categories), values (a registration to correct), key
     (a prefix for data-id), onIdentity() after a name, kana or birth date changed. Returns
     {node, read(), showErrors(errors, prefix), clearErrors(), focus()}. read() gives {body, errors,
     evidence}: the request body, the page's own refusals (required fields) and which category each
     evidence[i] of the body is. */
  function memberEditor(opts) {
    var area = opts.area, v = opts.values || {}, key = opts.key || "m";
    var fields = {};
    function add(name, f) { fields[name] = f; f.input.setAttribute("data-id", key + "-" + name); return f.node; }

    var birth = input({ type: "date", max: NoriaiTime.today(), min: "1900-01-01", value: v.birth_date || "" });
    var ageNote = el("span", { cls: "age-note muted" });
    function showAge() {
      ageNote.textContent = /^\d{4}-\d\d-\d\d$/.test(birth.value) ? O.age(birth.value) + "歳" : "";
    }
    birth.addEventListener("input", showAge);
    showAge();

    var grid = el("div", { cls: "member-grid" }, [
      add("registration_no", field("登録番号", input({ value: v.registration_no || "", maxlength: 32, placeholder: "市の登録番号", spellcheck: "false" }), { required: true })),
      add("birth_date", field("生年月日", birth, { required: true, note: ageNote })),
      add("phone", field("電話（本人）", input({ type: "tel", value: v.phone || "", maxlength: 20, placeholder: "世帯と同じなら空欄" }), { cls: "span2" })),
      add("family_name", field("氏", input({ value: v.family_name || "", maxlength: 40 }), { required: true })),
      add("given_name", field("名", input({ value: v.given_name || "", maxlength: 40 }), { required: true })),
      add("family_kana", field("ふりがな（氏）", input({ value: v.family_kana || "", maxlength: 60, lang: "ja" }), { required: true })),
      add("given_kana", field("ふりがな（名）", input({ value: v.given_kana || "", maxlength: 60, lang: "ja" }), { required: true })),
    ]);
    var wheel = el("input", { type: "checkbox", "data-id": key + "-wheelchair" });
    wheel.checked = !!v.wheelchair;
    var companion = el("input", { type: "checkbox", "data-id": key + "-companion_needed" });
    companion.checked = !!v.companion_needed;
    var mobility = el("div", { cls: "inline mobility" }, [
      el("span", { cls: "fld-label", text: "移動" }),
      el("label", { cls: "check" }, [wheel, " 車いす"]),
      el("label", { cls: "check" }, [companion, " 付き添いが必要"]),
    ]);

    // evidence: one section per category with evidence of its own
    var original = (v.evidence || []).slice();
    var sections = [];
    var evBox = el("div", { cls: "evidence" }, [
      el("div", { cls: "evidence-head" }, [
        el("span", { cls: "fld-label", text: "利用資格の証明" }),
        el("span", { cls: "muted small-text", text: "（" + area.min_age + "歳以上の方は生年月日だけで利用できます）" }),
      ]),
    ]);
    area.categories.filter(function (c) { return c.evidence; }).forEach(function (c) {
      var had = original.filter(function (e) { return e.category === c.id; })[0] || null;
      var on = el("input", { type: "checkbox", "data-id": key + "-ev-" + c.id });
      on.checked = !!had;
      var f = {};
      var parts = [];
      function evField(prop, label, inp, o) {
        inp.setAttribute("data-id", key + "-ev-" + c.id + "-" + prop);
        f[prop] = field(label, inp, o);
        parts.push(f[prop].node);
      }
      if (c.id === "licence_surrendered") {
        var since = input({ type: "date", max: NoriaiTime.today(), value: (had && had.since) || "" });
        var todayBtn = el("button", { type: "button", cls: "quiet small", text: "今日", "data-id": key + "-ev-licence-today",
          on: { click: function () { since.value = NoriaiTime.today(); since.focus(); } } });
        evField("since", "返納日", since, { required: true, after: [todayBtn] });
        evField("document_no", "運転経歴証明書の番号", input({ value: (had && had.document_no) || "", maxlength: 32, spellcheck: "false" }));
      } else if (c.id === "disability") {
        var kind = el("select", {}, [el("option", { value: "", text: "― 選ぶ ―" })].concat(
          DISABILITY_KINDS.map(function (k) { return el("option", { value: k[0], text: k[1] }); })));
        kind.value = (had && had.kind) || "";
        evField("kind", "手帳の種類", kind, { required: true });
        evField("grade", "等級・判定", input({ value: (had && had.grade) || "", maxlength: 16, placeholder: "例：2級、A", cls: "short-input" }), { required: true });
        evField("document_no", "手帳の番号", input({ value: (had && had.document_no) || "", maxlength: 32, spellcheck: "false" }));
        evField("until", "有効期限", input({ type: "date", value: (had && had.until) || "" }), { after: [el("span", { cls: "muted small-text", text: "なければ空欄" })] });
      } else {
        evField("document_no", (c.document || "証明書") + "の番号", input({ value: (had && had.document_no) || "", maxlength: 32 }), { required: c.document_number_required });
        evField("until", "有効期限", input({ type: "date", value: (had && had.until) || "" }), { required: c.expires });
      }
      var detail = el("div", { cls: "evidence-fields" }, parts);
      detail.hidden = !on.checked;
      on.addEventListener("change", function () {
        detail.hidden = !on.checked;
        if (on.checked) { var first = detail.querySelector("input, select"); if (first) first.focus(); }
      });
      var onField = { node: el("div", { cls: "evidence-cat" }), input: on, err: el("span", { cls: "fld-error", role: "alert", hidden: true }) };
      onField.node.appendChild(el("label", { cls: "check cat-check" }, [on, " " + c.name + (c.accepted ? "" : "（乗車の対象外）")]));
      onField.node.appendChild(onField.err);
      onField.node.appendChild(detail);
      evBox.appendChild(onField.node);
      sections.push({ cat: c, on: onField, f: f, had: had });
    });

    var node = el("div", { cls: "member-editor" }, [grid, mobility, evBox]);
    if (opts.onIdentity) {
      ["family_name", "given_name", "family_kana", "given_kana", "birth_date"].forEach(function (n) {
        fields[n].input.addEventListener("change", opts.onIdentity);
      });
    }

    function val(n) { return fields[n].input.value.trim(); }

    function read() {
      var errors = [];
      var body = {
        registration_no: narrow(val("registration_no")),
        family_name: val("family_name"),
        given_name: val("given_name"),
        family_kana: val("family_kana"),
        given_kana: val("given_kana"),
        birth_date: fields.birth_date.input.value,
        phone: narrow(val("phone")),
        wheelchair: wheel.checked,
        companion_needed: companion.checked,
      };
      ["registration_no", "family_name", "given_name", "family_kana", "given_kana", "birth_date"].forEach(function (n) {
        if (!body[n]) errors.push({ f: fields[n], text: n === "birth_date" ? "生年月日を選んでください。" : "入力してください。" });
      });
      var evidence = [], which = [];
      // categories this page does not offer stay as they were
      original.forEach(function (e) {
        if (!sections.some(function (s) { return s.cat.id === e.category; })) { evidence.push(e); which.push(null); }
      });
      sections.forEach(function (s) {
        if (!s.on.input.checked) return;
        var e = Object.assign({}, s.had || {}, { category: s.cat.id });
        Object.keys(s.f).forEach(function (prop) {
          var x = s.f[prop].input.value.trim();
          if (x) e[prop] = prop === "document_no" ? narrow(x) : x;
          else delete e[prop];
        });
        evidence.push(e);
        which.push(s);
      });
      body.evidence = evidence;
      return { body: body, errors: errors, which: which };
    }

    /* Problem field errors (errors[].field without the member's prefix) next to their inputs;
       returns the errors no input here could take. */
    function showErrors(errs, which) {
      var left = [];
      errs.forEach(function (e) {
        var path = String(e.field || "");
        var m = /^evidence\[(\d+)\](?:\.(\w+))?$/.exec(path);
        var f = null;
        if (m) {
          var s = which && which[+m[1]];
          if (s) f = (m[2] && s.f[m[2]]) || s.on;
        } else if (fields[path]) {
          f = fields[path];
        }
        if (f) setError(f, fieldText(e));
        else left.push(e);
      });
      return left;
    }

    function clearErrors() {
      Object.keys(fields).forEach(function (n) { setError(fields[n], ""); });
      sections.forEach(function (s) {
        setError(s.on, "");
        Object.keys(s.f).forEach(function (p) { setError(s.f[p], ""); });
      });
    }

    return {
      node: node, read: read, showErrors: showErrors, clearErrors: clearErrors, setError: setError,
      focus: function () { fields.registration_no.input.focus(); },
      identity: function () {
        return { family_name: val("family_name"), given_name: val("given_name"), family_kana: val("family_kana"),
          given_kana: val("given_kana"), birth_date: fields.birth_date.input.value };
      },
    };
  }

  /* Focus the first marked input inside a node. */
  function focusFirstInvalid(root) {
    var bad = root.querySelector(".invalid input, .invalid select, .dups:not([hidden]) input[type=checkbox]:not(:checked)");
    if (bad) { bad.focus(); if (bad.scrollIntoView) bad.scrollIntoView({ block: "center" }); }
  }

  /* ---------- the new household form ---------- */

  var reg = { area: null, map: null, point: null, members: [], seq: 0, fields: null, searchTimer: null, searchSeq: 0 };

  function openRegister() {
    O.serviceArea().then(function (area) {
      if (!reg.area) build(area);
      if ($("reg-done").hidden && document.activeElement && !$("register-view").contains(document.activeElement)) $("reg-address").focus();
    }, function (err) { O.showError("reg-error", err); });
  }

  function build(area) {
    reg.area = area;
    reg.fields = {
      address: { node: $("reg-address").parentNode, input: $("reg-address"), err: $("reg-address-error") },
      point: { node: $("reg-point-box"), input: $("reg-lat"), err: $("reg-point-error") },
      phone: { node: $("reg-phone").parentNode, input: $("reg-phone"), err: $("reg-phone-error") },
      settlement: { node: $("reg-settlement").parentNode, input: $("reg-settlement"), err: $("reg-settlement-error") },
      tv_box: { node: $("reg-tvbox").parentNode, input: $("reg-tvbox"), err: $("reg-tvbox-error") },
    };
    var list = clear($("settlements"));
    area.places.forEach(function (p) {
      if (p.kind === "community_hall") list.appendChild(el("option", { value: p.name.replace(/(公民館|集会所)$/, "") }));
    });
    reg.map = O.ServiceMap.create($("reg-map"), area, { onPick: function (lat, lon) { setPoint(lat, lon, "map"); } });
    $("reg-map-note").textContent = area.roads.length
      ? "道路は市の地図データから（主な道路を先に表示" + (area.roads_left_out ? "・細い道の一部は省略" : "") + "）。"
      : "この市町村は道路の地図データがないため、区域・公民館・主な場所だけを表示しています。";
    resetForm();
  }

  function setPoint(lat, lon, how, who) {
    reg.point = { lat: lat, lon: lon };
    $("reg-lat").value = lat.toFixed(6);
    $("reg-lon").value = lon.toFixed(6);
    if (how !== "map") reg.map.setPoint(lat, lon);
    if (how === "neighbour") reg.map.zoomTo(lat, lon, 3000);
    showPoint(who);
  }

  function showPoint(who) {
    var box = clear($("reg-point-status"));
    var p = reg.point;
    O.show($("reg-map-hint"), !p);
    if (!p) { box.className = "point-status muted"; box.textContent = "まだ選んでいません。右の地図で自宅の場所をクリックしてください。"; return; }
    var inside = reg.map.inside(p.lat, p.lon);
    box.className = "point-status " + (inside ? "ok" : "refused");
    box.setAttribute("data-inside", inside ? "1" : "0");
    if (!inside) {
      box.appendChild(el("strong", { text: "区域の外です：" }));
      box.appendChild(document.createTextNode("この場所では登録できません（" + reg.area.name + "のサービス区域の外）。地図の白い所を選んでください。"));
      return;
    }
    setError(reg.fields.point, "");
    var hall = reg.map.nearestHall(p.lat, p.lon);
    box.appendChild(el("strong", { text: "区域内 ✓" }));
    if (who) box.appendChild(document.createTextNode("　" + who + "の家と同じ場所"));
    if (hall) box.appendChild(document.createTextNode("　最寄りの公民館：" + hall.place.name + "（約" + (Math.round(hall.metres / 50) * 50 || 50) + " m）"));
  }

  function latLonTyped() {
    var lat = parseFloat($("reg-lat").value), lon = parseFloat($("reg-lon").value);
    if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) setPoint(lat, lon, "typed");
  }
  $("reg-lat").addEventListener("change", latLonTyped);
  $("reg-lon").addEventListener("change", latLonTyped);

  /* ---------- a neighbour's point ---------- */

  $("reg-neighbour").addEventListener("input", function () {
    clearTimeout(reg.searchTimer);
    reg.searchTimer = setTimeout(findNeighbour, 250);
  });
  $("reg-neighbour").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { ev.preventDefault(); clearTimeout(reg.searchTimer); findNeighbour(); }
  });

  function findNeighbour() {
    var q = O.normalise($("reg-neighbour").value).replace(/[\s\u3000]+/g, "");
    var seq = ++reg.searchSeq;
    var list = clear($("reg-neighbours"));
    if (!q) return;
    O.api("GET", "/api/v1/residents?limit=8&q=" + encodeURIComponent(q)).then(function (rows) {
      if (seq !== reg.searchSeq) return;
      if (!rows.length) { list.appendChild(el("li", { cls: "muted", text: "見つかりません。" })); return; }
      rows.forEach(function (r) {
        list.appendChild(el("li", {}, [
          el("span", { cls: "who" }, [el("strong", { text: r.name }), " ", el("span", { cls: "kana", text: r.kana }), el("span", { cls: "muted small-text", text: "　No." + r.id })]),
          el("button", { type: "button", cls: "quiet small", text: "この家の場所を使う", "data-id": "copy-point-" + r.id,
            on: { click: function () { copyNeighbour(r); } } }),
        ]));
      });
    }, function (err) {
      if (seq === reg.searchSeq) list.appendChild(el("li", { cls: "error", text: O.say(err) }));
    });
  }

  function copyNeighbour(r) {
    setPoint(r.home.lat, r.home.lon, "neighbour", r.name + "さん");
    clear($("reg-neighbours"));
    $("reg-neighbour").value = "";
    $("reg-neighbour").focus(); // the button pressed is gone: the focus back on the search, not the top
    if (r.household_id && !$("reg-settlement").value) {
      O.api("GET", "/api/v1/households/" + r.household_id).then(function (hh) {
        if (!$("reg-settlement").value && hh.settlement) $("reg-settlement").value = hh.settlement;
      }, function () { /* the settlement is only a help */ });
    }
  }

  /* ---------- members ---------- */

  function addMember(focus) {
    var i = reg.seq++;
    var m = { id: i, dups: [], confirmed: false };
    m.editor = memberEditor({ area: reg.area, key: "m" + i, onIdentity: function () { checkDuplicates(m); } });
    m.title = el("h3", {});
    m.remove = el("button", { type: "button", cls: "quiet small", text: "この人を外す", "data-id": "m" + i + "-remove",
      on: { click: function () { removeMember(m); } } });
    m.dupBox = el("div", { cls: "dups", role: "alert", "data-id": "m" + i + "-dups", hidden: true });
    m.node = el("section", { cls: "card member", "data-id": "member-" + i }, [
      el("div", { cls: "member-head" }, [m.title, m.remove]),
      m.editor.node,
    ]);
    m.editor.node.insertBefore(m.dupBox, m.editor.node.children[1]); // beside the names it is about
    reg.members.push(m);
    $("reg-members").appendChild(m.node);
    numberMembers();
    if (focus) m.editor.focus();
  }

  function removeMember(m) {
    reg.members = reg.members.filter(function (x) { return x !== m; });
    m.node.parentNode.removeChild(m.node);
    numberMembers();
    $("reg-add-member").focus();
  }

  function numberMembers() {
    reg.members.forEach(function (m, i) {
      m.title.textContent = i === 0 ? "1人目（代表）" : i + 1 + "人目";
      m.remove.hidden = reg.members.length < 2;
    });
  }

  $("reg-add-member").addEventListener("click", function () { addMember(true); });

  /* Registered people who may be this member, as the operator leaves the name or birth date. */
  function checkDuplicates(m) {
    var who = m.editor.identity();
    if (!who.family_name || !who.given_name || !/^\d{4}-\d\d-\d\d$/.test(who.birth_date)) return Promise.resolve();
    var asked = JSON.stringify(who);
    m.asked = asked;
    return O.api("POST", "/api/v1/residents/duplicates", who).then(function (rows) {
      if (m.asked !== asked) return; // the fields changed meanwhile
      showDuplicates(m, rows);
    }, function () { /* the server checks again when saving */ });
  }

  function showDuplicates(m, rows) {
    var same = rows.length === m.dups.length && rows.every(function (r, i) { return m.dups[i] && m.dups[i].id === r.id; });
    m.dups = rows;
    if (!same) m.confirmed = false;
    var box = clear(m.dupBox);
    var appearing = box.hidden && rows.length;
    box.hidden = !rows.length;
    if (!rows.length) return;
    box.appendChild(el("p", { cls: "strong", text: "同じ方がすでに登録されているかもしれません。電話の相手に確かめてください。" }));
    var table = el("table", { cls: "dup-table" }, [
      el("thead", {}, [el("tr", {}, ["名前", "ふりがな", "生年月日", "住所", "登録番号", ""].map(function (h) { return el("th", { text: h }); }))]),
    ]);
    var tb = el("tbody");
    rows.forEach(function (d) {
      tb.appendChild(el("tr", { "data-id": "dup-" + d.id }, [
        el("td", { text: d.name }), el("td", { text: d.kana }), el("td", { text: dateJa(d.birth_date) }),
        el("td", { text: d.address || "―" }), el("td", { text: d.registration_no || "―" }),
        el("td", {}, [el("button", { type: "button", cls: "link", text: "この方を開く", on: { click: function () { O.selectTab("residents"); O.openResident(d.id); } } })]),
      ]));
    });
    table.appendChild(tb);
    box.appendChild(table);
    var ok = el("input", { type: "checkbox", "data-id": "m" + m.id + "-not-duplicate" });
    ok.checked = m.confirmed;
    ok.addEventListener("change", function () { m.confirmed = ok.checked; m.dupError.hidden = true; });
    m.dupError = el("span", { cls: "fld-error", role: "alert", hidden: true, text: "同じ方でないか確かめて、「別人として登録」にチェックしてください。" });
    box.appendChild(el("label", { cls: "check confirm" }, [ok, " 別人として登録（上の方とは別の人です）"]));
    box.appendChild(m.dupError);
    if (appearing && box.scrollIntoView) box.scrollIntoView({ block: "nearest" });
  }

  /* ---------- saving ---------- */

  $("reg-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    save();
  });

  function clearAll() {
    Object.keys(reg.fields).forEach(function (k) { setError(reg.fields[k], ""); });
    reg.members.forEach(function (m) { m.editor.clearErrors(); if (m.dupError) m.dupError.hidden = true; });
    O.hideError("reg-error");
  }

  function save() {
    clearAll();
    var bad = 0;
    var address = $("reg-address").value.trim();
    if (!address) { setError(reg.fields.address, "入力してください。"); bad++; }
    if (!reg.point) { setError(reg.fields.point, "地図で自宅の場所を選んでください。"); bad++; }
    else if (!reg.map.inside(reg.point.lat, reg.point.lon)) { setError(reg.fields.point, "区域の外の場所は登録できません。"); bad++; }
    var reads = reg.members.map(function (m) {
      var r = m.editor.read();
      r.errors.forEach(function (e) { m.editor.setError(e.f, e.text); bad++; });
      if (m.dups.length && !m.confirmed) { m.dupError.hidden = false; bad++; }
      return r;
    });
    if (bad) {
      O.showError("reg-error", new Error("赤く示された項目を直してください（" + bad + "か所）。"));
      focusFirstInvalid($("reg-form"));
      return;
    }
    // "another person" is said for the whole request: ask once more, so that someone registered
    // since the fields were left is shown too before it is said for them
    var allow = reg.members.some(function (m) { return m.confirmed; });
    O.busy($("reg-submit"), true);
    var asked = allow ? Promise.all(reg.members.map(checkDuplicates)) : Promise.resolve();
    asked.then(function () {
      var pending = reg.members.filter(function (m) { return m.dups.length && !m.confirmed; });
      if (pending.length) {
        O.busy($("reg-submit"), false);
        pending.forEach(function (m) { m.dupError.hidden = false; });
        O.showError("reg-error", new Error("ほかにも同じ方かもしれない登録が見つかりました。確かめて「別人として登録」にチェックしてください。"));
        focusFirstInvalid($("reg-form"));
        return;
      }
      var body = {
        household: {
          address: address, lat: reg.point.lat, lon: reg.point.lon,
          settlement: $("reg-settlement").value.trim(), phone: narrow($("reg-phone").value),
          tv_box: narrow($("reg-tvbox").value),
        },
        members: reads.map(function (r) { return r.body; }),
        allow_duplicates: allow,
      };
      return O.api("POST", "/api/v1/households", body).then(function (hh) {
        O.busy($("reg-submit"), false);
        done(hh);
      }, function (err) {
        O.busy($("reg-submit"), false);
        refused(err, reads);
      });
    });
  }

  function refused(err, reads) {
    var p = err.data || {};
    if (err.status === 409 && p.duplicates) {
      reg.members.forEach(function (m, i) {
        var mine = p.duplicates.filter(function (d) { return d.member === i; });
        if (mine.length) showDuplicates(m, mine);
      });
      O.showError("reg-error", err);
      focusFirstInvalid($("reg-form"));
      return;
    }
    var left = [], all = p.errors || [];
    all.forEach(function (e) {
      var f = String(e.field || "");
      var m = /^members\[(\d+)\]\.(.+)$/.exec(f);
      if (m && reg.members[+m[1]]) {
        left = left.concat(reg.members[+m[1]].editor.showErrors([Object.assign({}, e, { field: m[2] })], reads[+m[1]].which));
        return;
      }
      var h = /^household\.(\w+)$/.exec(f);
      var name = h ? (h[1] === "lat" || h[1] === "lon" ? "point" : h[1]) : null;
      if (name && reg.fields[name]) setError(reg.fields[name], fieldText(e));
      else left.push(e);
    });
    O.showError("reg-error", fieldProblem(err, all.length - left.length));
    focusFirstInvalid($("reg-form"));
  }

  /* Registered: who, their numbers and today's eligibility; one click books for each. */
  function done(hh) {
    var box = clear($("reg-done-body"));
    box.appendChild(el("p", { cls: "strong", text: hh.address + "（世帯 No." + hh.id + (hh.settlement ? "・" + hh.settlement : "") + "）" }));
    var list = el("ul", { cls: "rows done-list" });
    hh.members.forEach(function (m) {
      list.appendChild(el("li", { "data-id": "registered-" + m.id }, [
        el("div", { cls: "row-head" }, [
          el("strong", { text: m.family_name + " " + m.given_name }),
          el("span", { cls: "kana", text: "　" + m.family_kana + " " + m.given_kana }),
          el("span", { cls: "muted", text: "　登録番号 " + m.registration_no + "　No." + m.id }),
          el("span", { cls: "row-actions" }, [
            el("button", { type: "button", cls: "primary", text: "この方の予約をする", "data-id": "book-for-" + m.id,
              on: { click: function () { bookFor(m.id); } } }),
          ]),
        ]),
        O.renderVerdict(m.eligibility, m),
      ]));
    });
    box.appendChild(list);
    O.show($("reg-form"), false);
    O.show($("reg-done"), true);
    O.toast("登録しました。");
    var first = $("reg-done").querySelector("button.primary");
    if (first) first.focus();
  }

  /* The resident's card with the booking form, the destination focused. */
  function bookFor(id) {
    O.selectTab("residents");
    O.openResident(id).then(function () {
      if (!O.state.resident || O.state.resident.id !== id) return;
      var first = $("fav-row").querySelector("button") || $("dest");
      first.focus();
    });
  }

  $("reg-again").addEventListener("click", function () { resetForm(); $("reg-address").focus(); });
  $("reg-clear").addEventListener("click", function () { resetForm(); $("reg-address").focus(); });

  function resetForm() {
    if (!reg.area) return;
    ["reg-address", "reg-settlement", "reg-phone", "reg-tvbox", "reg-lat", "reg-lon", "reg-neighbour"].forEach(function (id) { $(id).value = ""; });
    clear($("reg-neighbours"));
    clear($("reg-members"));
    reg.members = [];
    reg.seq = 0;
    reg.point = null;
    reg.map.clearPoint();
    reg.map.fit();
    addMember(false);
    clearAll();
    showPoint();
    O.show($("reg-form"), true);
    O.show($("reg-done"), false);
  }

  /* Signing out: nothing of the last caller stays. */
  function forgetRegister() {
    if (reg.area) resetForm();
    reg.area = null;
    reg.map = null;
    clear($("reg-map"));
    clear($("reg-members"));
  }

  $("register-open").addEventListener("click", function () { O.selectTab("register"); });

  Object.assign(O, { openRegister: openRegister, forgetRegister: forgetRegister, memberEditor: memberEditor, fieldText: fieldText, fieldProblem: fieldProblem, dateJa: dateJa, focusFirstInvalid: focusFirstInvalid });
})();
