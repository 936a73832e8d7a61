/* The smartphone page (/m): a resident, or a family member on the resident's behalf.
 *
 * Sign in with the resident number (利用者番号) and the PIN the operator set; then a home screen
 * with today's rides, orders and notices, booking and cancelling a taxi, and shopping before the
 * cut-off. A family member (ご家族の方) signs in with her own login id and password instead, picks
 * the linked resident she acts for (when there are several; every request names that resident in
 * the Noriai-Resident header) and sees that resident's day; she books and cancels rides only when
 * her link allows it (`can_book`), and never shops or sees another household. One column, large type, large tap targets, native form controls. What a refusal says
 * comes from the common renderer (common/problem.js): the server's message_ja, or its `detail`,
 * which is plain Japanese on these endpoints. Requests go through the common API client.
 *
 * The session token is kept in localStorage ("noriai.phone"). All times come from the server's
 * clock (GET /api/v1/me `now`), never from the phone's own clock.
 */
"use strict";

(function () {
  var STORE = "noriai.phone";
  var CALL = "わからないときは、オペレーターに電話してください。";

  var state = {
    token: null,
    name: "",
    me: null,
    stack: [], // screens to go back to
    screen: null,
    guard: false, // a history entry is pushed so the phone's back button stays in the page
    cart: {}, // product id -> {product, quantity}
    lastOrder: null, // {sig, key} of an order attempt that did not go through
    announced: {}, // notice id -> true once an urgent notice was shown (read out once, not on every refresh)
    family: null // a family member's session: {name, residents: [{id, name, given_name, permission}], acting: id}
  };

  var $screen = document.getElementById("screen");
  var $clock = document.getElementById("clock");
  var $flash = document.getElementById("flash");

  /* ---------- small helpers ---------- */

  var el = NoriaiDom.el, button = NoriaiDom.button; // common/dom.js

  function h1(text) { return el("h1", { tabindex: "-1", text: text }); }
  function para(text, cls) { return el("p", { cls: cls, text: text }); }
  function errorBox(id) { return el("div", { cls: "box error", id: id, role: "alert", hidden: true }); }
  function showError($box, message) {
    $box.textContent = message;
    $box.hidden = false;
    $box.scrollIntoView({ block: "center" });
  }

  var randomKey = NoriaiApi.newKey;

  function digits(s) { // full-width digits (a Japanese keyboard) count as digits
    return String(s || "").replace(/[０-９]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xfee0); }).replace(/\s+/g, "");
  }

  var T = window.NoriaiTime; // the server's clock and zone (common/servertime.js)
  var parseIso = T.parse, serverNow = T.now, hhmm = T.hhmm, isoLocal = T.iso, atLocal = T.at;
  var short = T.short, yen = T.yen;
  function minutesText(mins) {
    var h = Math.floor(mins / 60), m = mins % 60;
    return (h ? h + "時間" : "") + (h && !m ? "" : m + "分");
  }

  /* ---------- the API ---------- */

  /* A 401 to a signed-in request: the session ended (expired, locked, or a new PIN); sign in again. */
  var client = NoriaiApi.client({
    token: function () { return state.token; },
    onUnauthorized: function () { signedOut("もう一度サインインしてください。"); }
  });
  function api(method, path, body, extraHeaders, keep401) {
    var headers = extraHeaders;
    if (state.family && state.family.acting) { // a family member acts for this resident
      headers = {};
      Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
      headers["Noriai-Resident"] = String(state.family.acting);
    }
    return client.request(method, path, body, { headers: headers, keep401: keep401 });
  }
  function save() {
    try {
      localStorage.setItem(STORE, JSON.stringify({ token: state.token, name: state.name, family: state.family, tenant: NoriaiApi.tenant() }));
    } catch (x) { /* private mode */ }
  }

  /* What a refusal says: the server's plain Japanese, or a lead by status. */
  var SAY = {
    resident: true,
    texts: { other: "うまくいきませんでした。もう一度ためすか、オペレーターに電話してください。" }
  };
  function say(err) { return NoriaiProblem.text(err, SAY); }

  /* ---------- screens and the back button ---------- */

  /* A screen is {name, render() -> element, refresh?() -> screen}. */
  function show(screen, quiet) {
    state.screen = screen;
    $screen.textContent = "";
    $screen.appendChild(screen.render());
    if (quiet) return; // a refresh of the same screen: keep the place, the focus and the message
    $flash.hidden = true;
    window.scrollTo(0, 0);
    var head = $screen.querySelector("h1");
    if (head) head.focus({ preventScroll: true });
  }
  function go(make, arg) {
    state.stack.push(state.screen);
    show(make(arg));
    if (!state.guard) { history.pushState({ noriai: 1 }, ""); state.guard = true; }
  }
  function back() {
    var prev = state.stack.pop();
    if (!prev) prev = home();
    show(prev.refresh ? prev.refresh() : prev);
  }
  function finish(screen) { // the end of a task: its result, with home behind it
    state.stack = [home()];
    show(screen);
    if (!state.guard) { history.pushState({ noriai: 1 }, ""); state.guard = true; }
  }
  function goHome(message) {
    state.stack = [];
    show(home());
    if (message) flash(message);
  }
  function flash(text) {
    $flash.textContent = text;
    $flash.hidden = false;
  }
  window.addEventListener("popstate", function () {
    state.guard = false;
    if (!state.me) return;
    if (state.stack.length) {
      back();
      if (state.stack.length) { history.pushState({ noriai: 1 }, ""); state.guard = true; }
    } else if (state.screen && state.screen.name !== "home") {
      goHome();
    }
  });

  function loading(title) {
    return el("div", { cls: "stack", "aria-busy": "true" }, [h1(title), para("よみこんでいます…", "muted")]);
  }

  function message(title, lines, buttons) {
    return {
      name: "message",
      render: function () {
        var box = el("div", { cls: "stack" }, [h1(title)]);
        lines.forEach(function (l) { box.appendChild(typeof l === "string" ? para(l) : l); });
        (buttons || [["ホームへもどる", function () { goHome(); }, "primary", "home"]]).forEach(function (b) {
          box.appendChild(button(b[0], b[1], { cls: b[2] || "secondary", id: b[3] }));
        });
        return box;
      }
    };
  }

  function failed(err) {
    if (err.handled) return;
    show(message("できませんでした", [el("p", { cls: "box error", role: "alert", text: say(err) })], [
      ["もどる", back, "secondary", "back"],
      ["ホームへもどる", function () { goHome(); }, "secondary", "home"]
    ]));
  }

  /* ---------- sign-in ---------- */

  function signIn(notice) {
    return {
      name: "signin",
      render: function () {
        var $error = errorBox("signin-error");
        var $rid = el("input", {
          id: "resident-id", name: "resident_id", type: "text", inputmode: "numeric", pattern: "[0-9]*",
          autocomplete: "username", maxlength: "10", "aria-describedby": "resident-id-help", required: true
        });
        var $pin = el("input", {
          id: "pin", name: "pin", type: "password", inputmode: "numeric", pattern: "[0-9]*",
          autocomplete: "current-password", maxlength: "8", required: true
        });
        var $show = el("input", {
          id: "pin-show", type: "checkbox",
          onchange: function () { $pin.type = $show.checked ? "tel" : "password"; }
        });
        var $submit = button("サインイン", null, { type: "submit", cls: "primary", id: "signin" });
        var form = el("form", { cls: "stack", novalidate: true, autocomplete: "on" }, [
          el("div", { cls: "field" }, [
            el("label", { "for": "resident-id", text: "利用者番号" }),
            el("p", { cls: "help", id: "resident-id-help", text: "登録のときにお知らせした番号です。" }),
            $rid
          ]),
          el("div", { cls: "field" }, [
            el("label", { "for": "pin", text: "暗証番号（数字4〜8けた）" }),
            $pin,
            el("label", { cls: "check", "for": "pin-show" }, [$show, " 暗証番号を見えるようにする"])
          ]),
          $error,
          $submit
        ]);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          var rid = digits($rid.value), pin = digits($pin.value);
          if (!rid || !/^[0-9]+$/.test(rid)) { showError($error, "利用者番号を数字で入れてください。"); $rid.focus(); return; }
          if (!pin) { showError($error, "暗証番号を入れてください。"); $pin.focus(); return; }
          $submit.disabled = true;
          $submit.firstChild.textContent = "たしかめています…";
          api("POST", "/api/v1/m/session", NoriaiApi.withTenant({ resident_id: parseInt(rid, 10), pin: pin }), undefined, true).then(function (s) {
            state.token = s.access_token;
            state.name = s.name;
            state.family = null;
            save();
            return loadHousehold();
          }).catch(function (err) {
            $submit.disabled = false;
            $submit.firstChild.textContent = "サインイン";
            $pin.value = "";
            $error.classList.toggle("locked", err.status === 423);
            showError($error, say(err));
            if (err.status !== 423) $pin.focus();
          });
        });
        return el("div", { cls: "stack" }, [
          h1("サインイン"),
          notice ? el("p", { cls: "box ok", role: "status", text: notice }) : null,
          para("利用者番号と暗証番号を入れて、「サインイン」を押してください。"),
          para("ご家族の方は、この画面のいちばん下の「ご家族の方はこちら」からどうぞ。", "muted"),
          form,
          para("暗証番号がない方、わからない方は、オペレーターに電話してください。", "muted"),
          el("div", { cls: "stack footer" }, [
            para("ご家族の方は、ご自分のログインIDとパスワードで使えます。"),
            button("ご家族の方はこちら", function () { show(familySignIn()); }, { cls: "secondary", id: "to-family" })
          ])
        ]);
      }
    };
  }

  /* A family member's sign-in: her own login id and password (not the resident's PIN). */
  function familySignIn(notice) {
    return {
      name: "family-signin",
      render: function () {
        var $error = errorBox("family-error");
        var $login = el("input", {
          id: "login-id", name: "login_id", type: "text", autocomplete: "username", autocapitalize: "none",
          spellcheck: "false", maxlength: "64", "aria-describedby": "login-id-help", required: true
        });
        var $password = el("input", {
          id: "password", name: "password", type: "password", autocomplete: "current-password", maxlength: "128", required: true
        });
        var $show = el("input", {
          id: "password-show", type: "checkbox",
          onchange: function () { $password.type = $show.checked ? "text" : "password"; }
        });
        var $submit = button("サインイン", null, { type: "submit", cls: "primary", id: "family-signin" });
        var form = el("form", { cls: "stack", novalidate: true, autocomplete: "on" }, [
          el("div", { cls: "field" }, [
            el("label", { "for": "login-id", text: "ログインID" }),
            el("p", { cls: "help", id: "login-id-help", text: "登録のときにお知らせしたIDです（メールアドレスのこともあります）。" }),
            $login
          ]),
          el("div", { cls: "field" }, [
            el("label", { "for": "password", text: "パスワード" }),
            $password,
            el("label", { cls: "check", "for": "password-show" }, [$show, " パスワードを見えるようにする"])
          ]),
          $error,
          $submit
        ]);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          var login = $login.value.replace(/^\s+|\s+$/g, "");
          if (!login) { showError($error, "ログインIDを入れてください。"); $login.focus(); return; }
          if (!$password.value) { showError($error, "パスワードを入れてください。"); $password.focus(); return; }
          $submit.disabled = true;
          $submit.firstChild.textContent = "たしかめています…";
          api("POST", "/api/v1/m/family/session", NoriaiApi.withTenant({ login_id: login, password: $password.value }), undefined, true).then(function (s) {
            state.token = s.access_token;
            state.name = s.name;
            state.family = { name: s.name, residents: s.residents, acting: s.residents.length === 1 ? s.residents[0].id : null };
            save();
            if (state.family.acting) return loadHousehold();
            show(pickResident());
          }).catch(function (err) {
            $submit.disabled = false;
            $submit.firstChild.textContent = "サインイン";
            $password.value = "";
            showError($error, say(err));
            $password.focus();
          });
        });
        return el("div", { cls: "stack" }, [
          h1("ご家族の方のサインイン"),
          notice ? el("p", { cls: "box ok", role: "status", text: notice }) : null,
          para("ご家族の方のログインIDとパスワードを入れて、「サインイン」を押してください。"),
          form,
          para("パスワードがわからないときは、オペレーターに電話してください。", "muted"),
          el("div", { cls: "stack footer" }, [
            button("ご本人のサインイン（利用者番号）", function () { show(signIn()); }, { cls: "secondary", id: "to-resident" })
          ])
        ]);
      }
    };
  }

  /* Whom a family member acts for: asked again from the server (an operator may have changed it). */
  function pickResident(notice) {
    var s = {
      name: "pick",
      render: function () {
        var box = loading("どなたの予定を見ますか");
        api("GET", "/api/v1/m/family").then(function (acc) {
          if (state.screen !== s) return;
          state.family.residents = acc.residents;
          save();
          box.textContent = "";
          box.removeAttribute("aria-busy");
          box.appendChild(el("p", { cls: "hello", text: acc.name + " さん（ご家族）" }));
          box.appendChild(h1(acc.residents.length ? "どなたの予定を見ますか" : "登録されている方がいません"));
          if (notice) box.appendChild(el("p", { cls: "box warn", role: "status", id: "pick-notice", text: notice }));
          if (!acc.residents.length) {
            box.appendChild(para("いま、ご家族として登録されている方がいません。オペレーターに電話してください。"));
          }
          acc.residents.forEach(function (r) {
            box.appendChild(button(r.name + " さん", function () {
              state.family.acting = r.id;
              save();
              loadHousehold();
            }, { cls: "primary big", id: "pick-" + r.id, sub: r.permission === "book" ? "予定を見る・タクシーを予約する" : "予定を見る（見るだけ）" }));
          });
          box.appendChild(el("div", { cls: "stack footer" }, [
            button("サインアウト", function () { go(signOutScreen); }, { cls: "secondary", id: "signout" }),
            para(CALL, "muted")
          ]));
          box.querySelector("h1").focus({ preventScroll: true });
        }, function (err) {
          if (err.handled || state.screen !== s) return;
          box.removeAttribute("aria-busy");
          box.lastChild.replaceWith(el("p", { cls: "box error", role: "alert", text: say(err) }));
          box.appendChild(button("もう一度ためす", function () { show(pickResident(notice)); }, { cls: "primary", id: "retry" }));
        });
        return box;
      }
    };
    return s;
  }

  /* The resident she acted for is no longer hers to see (the link was revoked or changed). */
  function familyLost() {
    state.family.acting = null;
    state.me = null;
    state.stack = [];
    save();
    show(pickResident("ご家族の登録が変わりました。もう一度えらんでください。"));
  }

  function actingName() {
    var f = state.family;
    var r = f && f.residents.filter(function (x) { return x.id === f.acting; })[0];
    return r ? r.name : state.me.members[0].name;
  }

  function signedOut(notice) {
    var wasFamily = !!state.family;
    state.token = null;
    state.me = null;
    state.stack = [];
    state.cart = {};
    state.family = null;
    try { localStorage.removeItem(STORE); } catch (x) { /* private mode */ }
    $clock.textContent = "";
    show(wasFamily ? familySignIn(notice) : signIn(notice));
  }

  function signOutScreen() {
    return message("サインアウトしますか", [
      state.family ? "次に使うときは、ログインIDとパスワードがいります。" : "次に使うときは、利用者番号と暗証番号がいります。"
    ], [
      ["サインアウトする", function () {
        var p = state.token ? api("POST", "/api/v1/m/session/end", undefined, undefined, true) : Promise.resolve();
        p.catch(function () { /* signing out on the phone is enough */ }).then(function () { signedOut("サインアウトしました。"); });
      }, "primary", "signout-yes"],
      ["もどる", back, "secondary", "back"]
    ]);
  }

  /* A family member changes her own password (the one the operator told her first). */
  function passwordScreen() {
    return {
      name: "password",
      render: function () {
        var $error = errorBox("password-error");
        function field(id, label, auto) {
          return el("input", { id: id, type: "password", autocomplete: auto, maxlength: "128", "aria-label": label });
        }
        var $current = field("current-password", "今のパスワード", "current-password");
        var $new = field("new-password", "新しいパスワード", "new-password");
        var $again = field("new-password-again", "新しいパスワード（もう一度）", "new-password");
        var $save = button("パスワードを変える", function () {
          if (!$current.value || !$new.value) { showError($error, "今のパスワードと新しいパスワードを入れてください。"); return; }
          if ($new.value !== $again.value) { showError($error, "新しいパスワードが2回とも同じになるように入れてください。"); $again.focus(); return; }
          $save.disabled = true;
          api("PUT", "/api/v1/m/family/password", { current_password: $current.value, new_password: $new.value }).then(function () {
            goHome("パスワードを変えました。次からは新しいパスワードでサインインしてください。");
          }, function (err) {
            if (err.handled) return;
            $save.disabled = false;
            showError($error, say(err));
          });
        }, { cls: "primary", id: "password-save" });
        return el("div", { cls: "stack" }, [
          h1("パスワードを変える"),
          para("8文字以上で、ほかの人にわからないものにしてください。"),
          el("div", { cls: "field" }, [el("label", { "for": "current-password", text: "今のパスワード" }), $current]),
          el("div", { cls: "field" }, [el("label", { "for": "new-password", text: "新しいパスワード" }), $new]),
          el("div", { cls: "field" }, [el("label", { "for": "new-password-again", text: "新しいパスワード（もう一度）" }), $again]),
          $error,
          $save,
          button("やめる（もどる）", back, { cls: "secondary", id: "back" })
        ]);
      }
    };
  }

  function setMe(me) {
    state.me = me;
    T.sync(me.now);
    tick();
  }

  function loadHousehold() {
    return api("GET", "/api/v1/me").then(function (me) {
      setMe(me);
      goHome();
    }, function (err) {
      if (err.handled) return;
      if (state.family && (err.status === 404 || err.status === 403 || err.status === 422)) { familyLost(); return; }
      if (err.status === 401 || err.status === 403) { signedOut(); return; }
      show(message("よみこめませんでした", [el("p", { cls: "box error", role: "alert", text: say(err) })], [
        ["もう一度ためす", function () { loadHousehold(); }, "primary", "retry"]
      ]));
    });
  }

  /* ---------- home: today at a glance ---------- */

  /* data: [rides, orders, notices] when already fetched */
  function home(data) {
    var s = {
      name: "home",
      refresh: function () { return home(); },
      render: function () {
        var me = state.me;
        var fam = state.family;
        var box = el("div", { cls: "stack" }, [
          el("p", { cls: "hello", text: fam ? fam.name + " さん（ご家族）" : (state.name || me.members[0].name) + " さん" }),
          h1("今日は " + me.today_label)
        ]);
        if (fam) {
          box.appendChild(el("div", { cls: "box info", id: "acting" }, [
            el("p", { cls: "big", id: "acting-name", text: actingName() + " さんの予定" }),
            me.can_book ? null : para("見るだけの登録です。予約や取り消しは、ご本人かオペレーターにお願いしてください。")
          ]));
        }
        if (me.can_book) box.appendChild(button("タクシーを予約", function () { go(rideForm, {}); }, { cls: "primary big", id: "menu-ride" }));
        var sh = me.shopping;
        if (sh && sh.member && me.whole_household) {
          box.appendChild(button("お買い物", function () { go(shop); }, {
            cls: "shop big", id: "menu-shop",
            sub: sh.open ? "注文は " + short(sh.cutoff) + " まで" : "次のお届けは " + sh.next_delivery_label
          }));
        }
        var $today = el("section", { cls: "stack", "aria-busy": "true", "aria-labelledby": "today-h" }, [
          el("h2", { id: "today-h", text: "今日の予定" }),
          para("よみこんでいます…", "muted")
        ]);
        var $notices = el("section", { cls: "stack", "aria-labelledby": "notices-h" });
        box.appendChild($today);
        box.appendChild($notices);
        box.appendChild(el("div", { cls: "stack footer" }, [
          button("画面を新しくする", function () { reloadHome(true); }, { cls: "secondary", id: "refresh" }),
          fam && fam.residents.length > 1 ? button("ほかの方の予定を見る", function () {
            state.family.acting = null;
            state.me = null; // nothing of this resident is left to go back to
            state.stack = [];
            save();
            show(pickResident());
          }, { cls: "secondary", id: "switch" }) : null,
          fam ? button("パスワードを変える", function () { go(passwordScreen); }, { cls: "secondary", id: "password-change" }) : null,
          button("サインアウト", function () { go(signOutScreen); }, { cls: "secondary", id: "signout" }),
          para(CALL, "muted")
        ]));
        var done = function (res) {
          if (state.screen !== s) return;
          fillToday($today, res[0], res[1], res[2]);
          fillNotices($notices, res[2]);
        };
        /* A refresh in place: only the day and the notices are drawn again; the buttons above and
           below stay, and the focus stays on the same control (or its section) when it was inside. */
        s.update = function (res) {
          var a = document.activeElement, inside = a && ($today.contains(a) || $notices.contains(a));
          var key = inside && (a.getAttribute("data-id") || a.id);
          var sh = state.me.shopping, sub = $screen.querySelector('[data-id="menu-shop"] .sub');
          if (sub && sh) sub.textContent = sh.open ? "注文は " + short(sh.cutoff) + " まで" : "次のお届けは " + sh.next_delivery_label;
          while ($today.lastChild !== $today.firstChild) $today.removeChild($today.lastChild);
          $today.appendChild(para(""));
          $notices.textContent = "";
          done(res);
          if (!inside) return;
          var again = key && ($screen.querySelector('[data-id="' + key + '"]') || document.getElementById(key));
          if (again) again.focus({ preventScroll: true });
          else { $today.setAttribute("tabindex", "-1"); $today.focus({ preventScroll: true }); }
        };
        if (data) done(data);
        else homeData().then(done, function (err) {
          if (err.handled || state.screen !== s) return;
          if (state.family && (err.status === 404 || err.status === 403 || err.status === 422)) { familyLost(); return; }
          $today.removeAttribute("aria-busy");
          $today.lastChild.replaceWith(el("p", { cls: "box error", role: "alert", text: say(err) }));
        });
        return box;
      }
    };
    return s;
  }

  function homeData() {
    var sh = state.me.shopping;
    return Promise.all([
      api("GET", "/api/v1/me/rides"),
      sh && sh.member ? api("GET", "/api/v1/me/orders") : Promise.resolve([]), // a family member sees them too
      api("GET", "/api/v1/me/notices")
    ]);
  }

  /* Every minute on the home screen: fetch everything first, then redraw in place. */
  function reloadHome(asked) { // asked: the person pressed 「画面を新しくする」 (a failure is told)
    api("GET", "/api/v1/me").then(function (me) {
      setMe(me);
      return homeData();
    }).then(function (data) {
      if (state.screen && state.screen.name === "home") {
        if (state.screen.update) state.screen.update(data);
        else show(home(data), true);
      }
    }, function (err) { // unasked: keep what is shown; the next try may work
      if (!asked || err.handled) return;
      if (state.family && (err.status === 404 || err.status === 403 || err.status === 422)) { familyLost(); return; }
      if (err.status === 401 || err.status === 403) { signedOut(); return; }
      flash(say(err));
    });
  }

  function member(id) {
    return state.me.members.filter(function (m) { return m.id === id; })[0] || state.me.members[0];
  }

  function fillToday($today, rides, orders, notices) {
    $today.removeAttribute("aria-busy");
    $today.lastChild.remove();
    notices.filter(function (n) { return n.urgent; }).forEach(function (n) {
      // announced once: drawn again on a refresh, it is not read out again
      $today.appendChild(el("p", { cls: "box urgent", role: state.announced[n.id] ? null : "alert", "data-id": n.id, text: n.text }));
      state.announced[n.id] = true;
    });
    (state.me.can_book ? rides.return_offers : []).forEach(function (o) {
      $today.appendChild(el("div", { cls: "card offer" }, [
        para(o.rider + "さん、" + o.from + " からの帰りのタクシーは、まだ予約していません。"),
        button("帰りのタクシーを予約", function () {
          go(rideForm, { rider: member(o.resident_id), from: { id: o.from_place_id, name: o.from }, toHome: true });
        }, { cls: "primary", id: "return-" + o.after_ride, sub: o.from + " → 自宅" })
      ]));
    });
    if (!rides.rides.length && !orders.length) {
      $today.appendChild(para("今日の予約と注文は、まだありません。"));
    }
    rides.rides.forEach(function (r) { $today.appendChild(rideCard(r)); });
    orders.forEach(function (o) { $today.appendChild(orderCard(o)); });
  }

  function fillNotices($box, notices) {
    var plain = notices.filter(function (n) { return !n.urgent; });
    $box.appendChild(el("h2", { id: "notices-h", text: "お知らせ" }));
    if (!plain.length) { $box.appendChild(para("今日のお知らせはありません。", "muted")); return; }
    var list = el("ul", { cls: "notices" });
    plain.forEach(function (n) {
      list.appendChild(el("li", { "data-id": n.id }, [el("span", { cls: "at", text: short(n.at) }), " ", n.text]));
    });
    $box.appendChild(list);
  }

  function rideCard(r) {
    var live = r.status === "confirmed" || r.status === "vehicle_arrived" || r.status === "on_board";
    var kids = [
      el("p", { cls: "kind" }, [el("span", { text: "タクシー" }), el("span", { cls: "status st-" + r.status, "data-id": "status", text: r.status_label })]),
      el("p", { cls: "when", "data-id": "window", text: "迎え " + short(r.pickup_from) + "〜" + short(r.pickup_to) }),
      para(r.from + " → " + r.to),
      para((r.rider ? r.rider + "さん" : "") + (r.party_size > 1 ? "ほか" + (r.party_size - 1) + "人" : "") + "　" +
        (r.arrive_by && r.status !== "cancelled" ? short(r.arrive_by) + " までに着きます" : "")),
      r.fare_text ? para(r.fare_text, "fare") : null
    ];
    if (r.late) {
      kids.push(el("p", { cls: "box urgent", "data-id": "late", text: "お迎えが遅れています。すみません。タクシー会社の係が確認しています。" }));
    } else if (r.status === "confirmed" && r.eta_minutes !== null && r.eta_minutes <= 15) {
      kids.push(el("p", { cls: "box urgent", text: "あと約" + Math.max(1, r.eta_minutes) + "分で迎えに行きます。" + r.wait_at + "お待ちください。" }));
    }
    if (r.cancellable && state.me.can_book) kids.push(button("この予約を取り消す", function () { go(cancelRide, r); }, { cls: "secondary", id: "cancel-ride-" + r.id }));
    return el("article", { cls: "card" + (live ? "" : " past"), "data-id": "ride-" + r.id }, kids);
  }

  function orderCard(o) {
    var names = o.items.slice(0, 3).map(function (x) { return x.name + "×" + x.quantity; }).join("、");
    if (o.items.length > 3) names += " ほか" + (o.items.length - 3) + "品";
    var kids = [
      el("p", { cls: "kind" }, [el("span", { text: "お買い物" }), el("span", { cls: "status st-order-" + o.status, "data-id": "status", text: o.status_label })]),
      el("p", { cls: "when", text: o.delivery_label + " のお届け" }),
      state.me.shopping && o.status !== "cancelled" && o.status !== "handed_over" ? para(short(state.me.shopping.deliver_by) + " ごろまでに届けます") : null,
      para(names),
      para("合計 " + yen(o.total_yen))
    ];
    if (o.cancellable && state.me.whole_household) kids.push(button("この注文を取り消す", function () { go(cancelOrder, o); }, { cls: "secondary", id: "cancel-order-" + o.id }));
    return el("article", { cls: "card" + (o.status === "cancelled" ? " past" : ""), "data-id": "order-" + o.id }, kids);
  }

  /* ---------- cancelling, with a confirm step ---------- */

  function cancelRide(r) {
    /* The fee on the screen goes with the cancellation: when the fee due has changed in between (the
       cut-off passed), nothing is cancelled and the new fee is shown for the resident to decide again. */
    var shown = r.cancel_fee_yen || 0;
    function showFee(x) {
      shown = x.cancel_fee_yen || 0;
      var p = document.getElementById("cancel-fee");
      if (p) { p.textContent = x.cancel_fee_text || ""; p.hidden = !x.cancel_fee_text; }
    }
    api("GET", "/api/v1/me/rides").then(function (res) { // the fee as of now, not as of the list
      res.rides.forEach(function (x) { if (x.id === r.id) showFee(x); });
    }, function () {});
    return message("この予約を取り消しますか", [
      el("div", { cls: "card" }, [
        el("p", { cls: "when", text: "迎え " + short(r.pickup_from) + "〜" + short(r.pickup_to) }),
        para(r.from + " → " + r.to)
      ]),
      el("p", { cls: "box urgent", id: "cancel-fee", text: r.cancel_fee_text, hidden: !r.cancel_fee_text }),
      errorBox("cancel-error")
    ], [
      ["いいえ、取り消さない", back, "secondary", "no"],
      ["はい、取り消す", function (e) {
        var yes = e.currentTarget;
        yes.disabled = true;
        api("POST", "/api/v1/me/rides/" + r.id + "/cancel", { expected_fee_yen: shown }).then(function (res) {
          var gone = (res.rides || []).filter(function (x) { return x.id === r.id; })[0];
          goHome("タクシーの予約（迎え " + short(r.pickup_from) + "〜" + short(r.pickup_to) + "）を取り消しました。" +
            (gone && gone.fare_text ? gone.fare_text + "。" : ""));
        }, function (err) {
          /* the operator cancelled it meanwhile: say so and show the ride as it is now */
          if (err.data && err.data.code === "ride.illegal_transition" && err.data.ride_status === "cancelled") { goHome(say(err)); return; }
          if (!err.data || err.data.code !== "ride.fee_changed") { failed(err); return; }
          showFee(err.data);
          showError(document.getElementById("cancel-error"), say(err));
          yes.disabled = false;
          // the focus (the disabled button lost it) on いいえ, not on はい: one more press must not
          // cancel at the new fee; the refusal above it is read out (role=alert)
          document.querySelector('#screen [data-id="no"]').focus({ preventScroll: true });
        });
      }, "danger", "yes"]
    ]);
  }

  function cancelOrder(o) {
    return message("この注文を取り消しますか", [
      el("div", { cls: "card" }, [el("p", { cls: "when", text: o.delivery_label + " のお届け" }), para("合計 " + yen(o.total_yen))])
    ], [
      ["いいえ、取り消さない", back, "secondary", "no"],
      ["はい、取り消す", function (e) {
        e.currentTarget.disabled = true;
        api("POST", "/api/v1/me/orders/" + o.id + "/cancel").then(function () {
          goHome("お買い物の注文（" + yen(o.total_yen) + "）を取り消しました。");
        }, failed);
      }, "danger", "yes"]
    ]);
  }

  /* ---------- booking a ride ---------- */

  function choice(name, value, label, checked, onchange) {
    var input = el("input", { type: "radio", name: name, value: value, checked: !!checked, onchange: onchange });
    return el("label", { cls: "choice", "data-id": name + "-" + value }, [input, el("span", { text: label })]);
  }

  function timeOptions(fromDate, toDate) {
    var step = 10 * 60000;
    var out = [];
    for (var t = Math.ceil(fromDate.getTime() / step) * step; t <= toDate.getTime(); t += step) out.push(new Date(t));
    return out;
  }

  /* The times a ride can be asked for now: "in N minutes" choices, pickup times and arrival times
     (10-minute steps) inside today's service hours. The server has the last word; this only
     leaves out what cannot work (a pickup later than 20 minutes before the end of service). */
  function rideTimes() {
    var me = state.me;
    var now = serverNow().getTime();
    var lead = me.booking.min_lead_minutes * 60000;
    var open = atLocal(me.service_hours.start).getTime();
    var end = atLocal(me.service_hours.end).getTime();
    var lastPickup = end - 20 * 60000;
    var relative = [{ value: "now", label: "今すぐ", minutes: 0 }, { value: "30", label: "30分後", minutes: 30 }, { value: "60", label: "1時間後", minutes: 60 }]
      .filter(function (r) {
        var t = Math.max(now + r.minutes * 60000, now + lead);
        return t >= open && t <= lastPickup;
      });
    var first = Math.max(now + lead, open);
    return {
      relative: relative,
      departs: timeOptions(new Date(first), new Date(lastPickup)),
      arrivals: timeOptions(new Date(first + 20 * 60000), new Date(end))
    };
  }

  /* opts: {rider, from: {id, name} (default: home), toHome} */
  function rideForm(opts) {
    opts = opts || {};
    var me = state.me;
    var riders = me.members.filter(function (m) { return m.eligible; });
    if (!riders.length) {
      return message("タクシーを予約", ["タクシーを使う登録がありません。", "登録は、オペレーターに電話してください。"]);
    }
    if (!me.service_hours) return message("タクシーを予約", ["今日はタクシーが走っていません。"]);
    var times = rideTimes();
    if (!times.relative.length && !times.departs.length && !times.arrivals.length) {
      return message("タクシーを予約", [
        el("p", { cls: "box warn", id: "rides-closed", text: "今日のタクシーの予約は、もう受け付けていません。" }),
        "タクシーは " + short(me.service_hours.start) + "〜" + short(me.service_hours.end) + " に走ります。次の運行日に予約してください。"
      ]);
    }
    var trip = { rider: opts.rider && opts.rider.eligible ? opts.rider : riders[0], from: opts.from || null, to: opts.toHome ? "home" : null };
    return {
      name: "ride",
      render: function () {
        var $error = errorBox("ride-error");
        var box = el("div", { cls: "stack" }, [h1("タクシーを予約")]);

        if (riders.length > 1) {
          var who = el("fieldset", { cls: "stack" }, [el("legend", { text: "だれが乗りますか" })]);
          riders.forEach(function (m) {
            who.appendChild(choice("rider", m.id, m.name + " さん", m === trip.rider, function () { trip.rider = m; renderDest(); }));
          });
          box.appendChild(who);
        }

        /* where to: favourites as big buttons, then every place in a select */
        var dest = el("fieldset", { cls: "stack" }, [el("legend", { text: "どこへ行きますか" })]);
        var $favs = el("div", { cls: "stack" });
        var $select = el("select", { id: "dest-select", "aria-label": "ほかの行き先" });
        function renderDest() {
          $favs.textContent = "";
          var picks = [];
          if (trip.from) picks.push({ id: "home", name: "自宅" });
          trip.rider.favourites.forEach(function (p) { picks.push(p); });
          picks.forEach(function (p) {
            var on = trip.to === (p.id === "home" ? "home" : p.id) || (trip.to && trip.to.id === p.id);
            $favs.appendChild(el("button", {
              type: "button", cls: "btn pick", "aria-pressed": on ? "true" : "false", "data-id": "to-" + p.id,
              onclick: function () {
                trip.to = p.id === "home" ? "home" : p;
                $select.value = "";
                renderDest();
                $favs.querySelector('[data-id="to-' + p.id + '"]').focus(); // the drawn-again button
                $error.hidden = true;
              }
            }, [el("span", { cls: "tick", "aria-hidden": "true", text: on ? "✓" : "" }), el("span", { cls: "label", text: p.name })]));
          });
          $select.textContent = "";
          $select.appendChild(el("option", { value: "", text: "ほかの行き先をえらぶ" }));
          if (trip.from) $select.appendChild(el("option", { value: "home", text: "自宅" }));
          me.places.forEach(function (p) { $select.appendChild(el("option", { value: p.id, text: p.name })); });
          var inFavs = picks.some(function (p) { return trip.to && (trip.to === p.id || trip.to.id === p.id || (trip.to === "home" && p.id === "home")); });
          $select.value = !trip.to || inFavs ? "" : (trip.to === "home" ? "home" : trip.to.id);
          $select.classList.toggle("chosen", !!$select.value);
          refreshTimes();
        }
        /* Offer only what can be booked: the server's latest pickup (the ride must end by closing
           time) and earliest arrival for this trip, once the trip is chosen. */
        var asked = 0;
        function refreshTimes() {
          if (!trip.to || !$depart || !$chair) return;
          var home = { lat: trip.rider.home.lat, lon: trip.rider.home.lon };
          var q = {
            resident_id: trip.rider.id,
            origin: trip.from ? { place_id: trip.from.id } : home,
            destination: trip.to === "home" ? home : { place_id: trip.to.id },
            wheelchair: $chair.checked
          };
          var mine = ++asked;
          api("POST", "/api/v1/me/time-limits", q).then(function (lim) {
            if (mine !== asked) return; // a later trip was chosen meanwhile
            var close = lim.service_hours ? lim.service_hours.end : "";
            $limit.textContent = close + " までに着く必要があるため、" +
              (lim.latest_pickup ? "迎えは " + short(lim.latest_pickup) + " までです。" : "この行き先へは、今日はもう迎えに行けません。");
            $limit.hidden = false;
            function fill($sel, first, last, suffix, pickIndex) {
              var was = $sel.value;
              $sel.textContent = "";
              if (!first || !last) return;
              var ts = timeOptions(parseIso(first), parseIso(last));
              if (!ts.length || ts[ts.length - 1].getTime() !== parseIso(last).getTime()) ts.push(parseIso(last));
              ts.forEach(function (t) { $sel.appendChild(el("option", { value: isoLocal(t), text: hhmm(t) + suffix })); });
              $sel.value = was;
              if ($sel.selectedIndex < 0) $sel.selectedIndex = Math.min(pickIndex, ts.length - 1);
            }
            fill($depart, lim.earliest_pickup, lim.latest_pickup, " ごろに迎え", 0);
            fill($arrive, lim.earliest_arrival, lim.latest_arrival, " までに着きたい", 6);
            var now = serverNow().getTime();
            var last = lim.latest_pickup ? parseIso(lim.latest_pickup).getTime() : -Infinity;
            var off = { now: now > last, "30": now + 30 * 60000 > last, "60": now + 60 * 60000 > last, pick: !$depart.options.length, arrive: !$arrive.options.length };
            Object.keys(off).forEach(function (v) {
              var label = when.querySelector('[data-id="when-' + v + '"]');
              if (!label) return;
              label.hidden = off[v];
              label.querySelector("input").disabled = off[v];
            });
            var checked = when.querySelector("input[name=when]:checked");
            if (!checked || checked.disabled) {
              var open = when.querySelector("input[name=when]:not(:disabled)");
              if (open) open.checked = true;
            }
            whenChanged();
          }, function () { /* the server decides at the quote */ });
        }
        $select.addEventListener("change", function () {
          var v = $select.value;
          trip.to = v === "" ? null : v === "home" ? "home" : me.places.filter(function (p) { return p.id === v; })[0];
          renderDest();
          $error.hidden = true;
        });
        renderDest();
        dest.appendChild($favs);
        dest.appendChild(el("label", { cls: "small-label", "for": "dest-select", text: "上にないときは、ここからえらんでください" }));
        dest.appendChild($select);
        box.appendChild(dest);

        /* where from */
        var $from = el("select", { id: "from-select" }, [el("option", { value: "home", text: "自宅" })]);
        me.places.forEach(function (p) { $from.appendChild(el("option", { value: p.id, text: p.name })); });
        $from.value = trip.from ? trip.from.id : "home";
        $from.addEventListener("change", function () {
          var v = $from.value;
          trip.from = v === "home" ? null : me.places.filter(function (p) { return p.id === v; })[0];
          if (!trip.from && trip.to === "home") trip.to = null;
          renderDest();
        });
        box.appendChild(el("div", { cls: "field" }, [el("label", { "for": "from-select", text: "乗る場所" }), $from]));

        /* when */
        var $depart = el("select", { id: "depart-time", "aria-label": "出発の時刻" });
        times.departs.forEach(function (t) { $depart.appendChild(el("option", { value: isoLocal(t), text: hhmm(t) + " ごろに迎え" })); });
        var $arrive = el("select", { id: "arrive-time", "aria-label": "着きたい時刻" });
        times.arrivals.forEach(function (t) { $arrive.appendChild(el("option", { value: isoLocal(t), text: hhmm(t) + " までに着きたい" })); });
        if (times.arrivals.length > 6) $arrive.selectedIndex = 6;
        var when = el("fieldset", { cls: "stack" }, [el("legend", { text: "いつ乗りますか" })]);
        var $limit = el("p", { cls: "small-label", id: "time-limit", hidden: true });
        when.appendChild($limit);
        var $departWrap = el("div", { cls: "sub-field", hidden: true }, [$depart]);
        var $arriveWrap = el("div", { cls: "sub-field", hidden: true }, [$arrive]);
        function whenChanged() {
          var on = when.querySelector("input[name=when]:checked");
          var v = on ? on.value : "";
          $departWrap.hidden = v !== "pick";
          $arriveWrap.hidden = v !== "arrive";
        }
        times.relative.forEach(function (r, i) { when.appendChild(choice("when", r.value, r.label, i === 0, whenChanged)); });
        if (times.departs.length) {
          when.appendChild(choice("when", "pick", "出発の時刻をえらぶ", false, whenChanged));
          when.appendChild($departWrap);
        }
        if (times.arrivals.length) {
          when.appendChild(choice("when", "arrive", "着きたい時刻をえらぶ", false, whenChanged));
          when.appendChild($arriveWrap);
        }
        if (!when.querySelector("input:checked")) when.querySelector("input").checked = true;
        whenChanged();
        box.appendChild(when);

        /* how many */
        var party = el("fieldset", { cls: "stack" }, [el("legend", { text: "何人で乗りますか（ご本人をふくめて）" })]);
        var row = el("div", { cls: "row" });
        for (var n = 1; n <= me.booking.max_party_size; n++) row.appendChild(choice("party", String(n), n + "人", n === 1));
        party.appendChild(row);
        box.appendChild(party);

        var $chair = el("input", { id: "wheelchair", type: "checkbox", checked: !!trip.rider.wheelchair });
        box.appendChild(el("label", { cls: "check", "for": "wheelchair" }, [$chair, " 車いすのまま乗る"]));
        $chair.addEventListener("change", refreshTimes); // boarding takes longer: the last pickup moves
        refreshTimes();

        box.appendChild($error);
        box.appendChild(button("空きをしらべる", function () {
          if (!trip.to) { showError($error, "行き先をえらんでください。"); return; }
          var w = when.querySelector("input[name=when]:checked").value;
          var t = serverNow();
          var req = {
            resident_id: trip.rider.id,
            origin: trip.from ? { place_id: trip.from.id } : { lat: trip.rider.home.lat, lon: trip.rider.home.lon },
            destination: trip.to === "home" ? { lat: trip.rider.home.lat, lon: trip.rider.home.lon } : { place_id: trip.to.id },
            party_size: parseInt(box.querySelector("input[name=party]:checked").value, 10),
            wheelchair: $chair.checked
          };
          if (w === "30") req.pickup_after = isoLocal(new Date(t.getTime() + 30 * 60000));
          else if (w === "60") req.pickup_after = isoLocal(new Date(t.getTime() + 60 * 60000));
          else if (w === "pick") req.pickup_after = $depart.value;
          else if (w === "arrive") req.arrive_by = $arrive.value;
          else req.pickup_after = isoLocal(new Date(t.getTime() + 59999)); // now, to the next whole minute
          go(rideQuote, {
            req: req,
            rider: trip.rider,
            from: trip.from ? trip.from.name : "自宅",
            to: trip.to === "home" ? "自宅" : trip.to.name
          });
        }, { cls: "primary", id: "quote" }));
        box.appendChild(button("やめる", back, { cls: "secondary", id: "back" }));
        return box;
      }
    };
  }

  function tripLines(t) {
    var req = t.req;
    return el("dl", { cls: "facts" }, [
      el("dt", { text: "乗る人" }), el("dd", { text: t.rider.name + " さん" + (req.party_size > 1 ? "（ほか" + (req.party_size - 1) + "人）" : "") }),
      el("dt", { text: "乗る場所" }), el("dd", { text: t.from }),
      el("dt", { text: "行き先" }), el("dd", { text: t.to })
    ]);
  }

  function alternativesBox(t, alts) {
    var box = el("div", { cls: "stack" });
    if (!alts.length) {
      box.appendChild(para("近い時刻にも空きがありません。ほかの時刻をえらぶか、オペレーターに電話してください。"));
      return box;
    }
    box.appendChild(para("この時刻なら予約できます。えらんでください。"));
    alts.forEach(function (a, i) {
      var label = a.pickup_window ? "迎え " + short(a.pickup_window.start) + "〜" + short(a.pickup_window.end) : short(a.pickup_after) + " ごろに迎え";
      box.appendChild(button(label, function () {
        var req = Object.assign({}, t.req, { pickup_after: a.pickup_after });
        delete req.arrive_by;
        go(rideQuote, Object.assign({}, t, { req: req }));
      }, { cls: "secondary", id: "alt-" + i, sub: a.latest_arrival ? short(a.latest_arrival) + " までに着きます" : null }));
    });
    return box;
  }

  function rideQuote(t) {
    var key = randomKey(); // one booking attempt: a retry after a lost answer books once
    var s = {
      name: "quote",
      render: function () {
        var box = loading("しらべています");
        api("POST", "/api/v1/me/quote", t.req).then(function (q) {
          if (state.screen !== s) return;
          box.textContent = "";
          box.removeAttribute("aria-busy");
          if (!q.available) {
            box.appendChild(h1("その時刻は予約できません"));
            box.appendChild(el("p", { cls: "box warn", text: "その時間は、タクシーがいっぱいです。" }));
            box.appendChild(tripLines(t));
            box.appendChild(alternativesBox(t, q.alternatives || []));
            box.appendChild(button("時刻をえらびなおす", back, { cls: "secondary", id: "back" }));
            box.querySelector("h1").focus({ preventScroll: true });
            return;
          }
          var $error = errorBox("book-error");
          var $alts = el("div", { cls: "stack" });
          var $book = button("予約する", function () {
            $book.disabled = true;
            $book.firstChild.textContent = "予約しています…";
            api("POST", "/api/v1/me/rides", t.req, { "Idempotency-Key": key }).then(function (ride) {
              finish(rideDone(ride, t));
            }, function (err) {
              if (err.handled) return;
              $book.disabled = false;
              $book.firstChild.textContent = "予約する";
              showError($error, say(err));
              if (err.status === 409 && err.data.alternatives) {
                $book.hidden = true;
                $alts.textContent = "";
                $alts.appendChild(alternativesBox(t, err.data.alternatives));
              } else if (err.status !== 0) {
                key = randomKey(); // refused: a new try is a new request
              }
            });
          }, { cls: "primary", id: "book" });
          box.appendChild(h1("この予約でよいですか"));
          box.appendChild(el("div", { cls: "box promise" }, [
            el("p", { cls: "when", id: "quote-window", text: "迎え " + short(q.pickup_window.start) + "〜" + short(q.pickup_window.end) }),
            para(short(q.latest_arrival) + " までに着きます"),
            para(q.fare_text, "fare")
          ]));
          box.appendChild(tripLines(t));
          box.appendChild(para("迎えの時刻になったら、乗る場所でお待ちください。", "muted"));
          box.appendChild($error);
          box.appendChild($alts);
          box.appendChild($book);
          box.appendChild(button("やめる（もどる）", back, { cls: "secondary", id: "back" }));
          box.querySelector("h1").focus({ preventScroll: true });
        }, function (err) {
          if (err.handled || state.screen !== s) return;
          box.textContent = "";
          box.removeAttribute("aria-busy");
          box.appendChild(h1("予約できません"));
          box.appendChild(el("p", { cls: "box error", role: "alert", id: "quote-error", text: say(err) }));
          box.appendChild(button("もどって、えらびなおす", back, { cls: "primary", id: "back" }));
          box.appendChild(button("ホームへもどる", function () { goHome(); }, { cls: "secondary", id: "home" }));
        });
        return box;
      }
    };
    return s;
  }

  function rideDone(ride, t) {
    return message("予約しました", [
      el("div", { cls: "box ok" }, [
        el("p", { cls: "when", id: "done-window", text: "迎え " + short(ride.pickup_from) + "〜" + short(ride.pickup_to) }),
        para(t.from + " → " + t.to),
        ride.arrive_by ? para(short(ride.arrive_by) + " までに着きます") : null,
        para(ride.fare_text, "fare")
      ]),
      para(state.family
        ? t.rider.given_name + "さんに、迎えの時刻には" + ride.wait_at + "待つように伝えてください。"
        : t.rider.given_name + "さん、迎えの時刻には" + ride.wait_at + "お待ちください。")
    ]);
  }

  /* ---------- shopping ---------- */

  function cartLines() {
    return Object.keys(state.cart).map(function (id) { return { product_id: parseInt(id, 10), quantity: state.cart[id].quantity }; });
  }
  function cartCount() {
    return Object.keys(state.cart).reduce(function (a, k) { return a + state.cart[k].quantity; }, 0);
  }
  function cartTotal() {
    return Object.keys(state.cart).reduce(function (a, k) { return a + state.cart[k].quantity * state.cart[k].product.price_yen; }, 0);
  }
  function maxQuantity() { return (state.me.shopping && state.me.shopping.max_quantity_per_line) || 20; }

  function leftText() {
    var sh = state.me.shopping;
    var mins = Math.max(0, Math.ceil((parseIso(sh.cutoff_at) - serverNow()) / 60000));
    return "あと " + minutesText(mins);
  }

  function cutoffBox() {
    var sh = state.me.shopping;
    return el("div", { cls: "box info", id: "cutoff" }, [
      el("p", {}, ["注文は ", el("strong", { text: short(sh.cutoff) + " まで" }), "（", el("span", { cls: "left", "data-left": "1", text: leftText() }), "）"]),
      para("今日の " + short(sh.deliver_by) + " ごろまでに届けます。")
    ]);
  }

  /* Always in sight at the bottom while shopping: what is in the cart, back, and on to the cart. */
  function cartBar() {
    var n = cartCount();
    return el("div", { cls: "cartbar", id: "cartbar" }, [
      el("p", { id: "cart-summary", text: n ? "かご " + n + "点　" + yen(cartTotal()) : "かごは空です" }),
      el("div", { cls: "pair" }, [
        button("もどる", back, { cls: "secondary", id: "back" }),
        n ? button("かごを見る", function () { go(cartScreen); }, { cls: "primary", id: "to-cart" }) : null
      ])
    ]);
  }
  function updateCartBar() {
    var bar = document.getElementById("cartbar");
    if (bar) bar.replaceWith(cartBar());
  }

  function shopClosed() {
    var sh = state.me.shopping;
    var afterCutoff = hhmm(serverNow()).replace(/^(\d):/, "0$1:") >= sh.cutoff;
    return message("お買い物", [
      el("p", { cls: "box warn", id: "closed", text: afterCutoff ? "今日の注文は " + short(sh.cutoff) + " で締め切りました。" : "今日は注文を受け付けていません。" }),
      el("p", { cls: "big", id: "next-delivery", text: "次のお届けは " + sh.next_delivery_label + " です。" }),
      para(sh.next_delivery_label + " の " + short(sh.cutoff) + " までに注文すると、その日の " + short(sh.deliver_by) + " ごろまでに届きます。")
    ]);
  }

  /* The shop asks the server first: whether orders are open is the server's answer at this moment. */
  function shop() {
    var s = {
      name: "shop-loading",
      render: function () {
        var box = loading("お買い物");
        api("GET", "/api/v1/me").then(function (me) {
          if (state.screen !== s) return;
          setMe(me);
          show(shopMenu());
        }, failed);
        return box;
      }
    };
    return s;
  }

  function shopMenu() {
    var sh = state.me.shopping;
    if (!sh || !sh.member) {
      return message("お買い物", ["お買い物の会員登録がありません。", "申しこみは、オペレーターに電話してください。"]);
    }
    if (!sh.open || parseIso(sh.cutoff_at) <= serverNow()) return shopClosed();
    var s = {
      name: "shop",
      refresh: function () { return shop(); },
      render: function () {
        var box = el("div", { cls: "stack" }, [h1("お買い物"), cutoffBox(), el("h2", { text: "品物の種類をえらんでください" })]);
        var $grid = el("div", { cls: "grid", "aria-busy": "true" }, [para("よみこんでいます…", "muted")]);
        box.appendChild($grid);
        box.appendChild(cartBar());
        api("GET", "/api/v1/me/catalog/categories").then(function (cats) {
          if (state.screen !== s) return;
          $grid.textContent = "";
          $grid.removeAttribute("aria-busy");
          cats.forEach(function (c, i) {
            $grid.appendChild(button(c.category, function () { go(items, c.category); }, { cls: "secondary", id: "cat-" + i }));
          });
        }, failed);
        return box;
      }
    };
    return s;
  }

  function stepper(p, onchange) {
    var q = state.cart[p.id] ? state.cart[p.id].quantity : 0;
    var $q = el("output", { cls: "qty", "aria-live": "polite", text: String(q) });
    function set(v) {
      q = Math.max(0, Math.min(maxQuantity(), v));
      if (q === 0) delete state.cart[p.id]; else state.cart[p.id] = { product: p, quantity: q };
      $q.textContent = String(q);
      $minus.disabled = q === 0;
      $plus.disabled = q >= maxQuantity();
      updateCartBar();
      if (onchange) onchange(q);
    }
    var $minus = el("button", { type: "button", cls: "step", "aria-label": p.name + "を1つへらす", "data-id": "minus-" + p.id, disabled: q === 0, onclick: function () { set(q - 1); } }, ["−"]);
    var $plus = el("button", { type: "button", cls: "step", "aria-label": p.name + "を1つふやす", "data-id": "plus-" + p.id, disabled: q >= maxQuantity(), onclick: function () { set(q + 1); } }, ["＋"]);
    return el("div", { cls: "stepper" }, [$minus, $q, $plus]);
  }

  function items(category) {
    var s = {
      name: "items",
      refresh: function () { return items(category); },
      render: function () {
        var box = el("div", { cls: "stack" }, [h1(category), cutoffBox()]);
        var $list = el("ul", { cls: "products", "aria-busy": "true" }, [el("li", { cls: "muted", text: "よみこんでいます…" })]);
        box.appendChild($list);
        box.appendChild(cartBar());
        api("GET", "/api/v1/me/catalog?category=" + encodeURIComponent(category)).then(function (products) {
          if (state.screen !== s) return;
          $list.textContent = "";
          $list.removeAttribute("aria-busy");
          products.forEach(function (p) {
            $list.appendChild(el("li", { cls: "product", "data-id": "item-" + p.id }, [
              el("div", { cls: "what" }, [el("span", { cls: "name", text: p.name }), el("span", { cls: "price", text: yen(p.price_yen) })]),
              stepper(p)
            ]));
          });
        }, failed);
        return box;
      }
    };
    return s;
  }

  function cartScreen() {
    var s = {
      name: "cart",
      refresh: function () { return cartScreen(); },
      render: function () {
        var box = el("div", { cls: "stack" }, [h1("かごの中")]);
        var ids = Object.keys(state.cart);
        if (!ids.length) {
          box.appendChild(para("かごは空です。"));
          box.appendChild(button("品物をえらぶ", back, { cls: "primary", id: "back" }));
          return box;
        }
        var sh = state.me.shopping;
        var $total = el("p", { cls: "total", id: "cart-total" });
        function total() { $total.textContent = "合計 " + yen(cartTotal()); }
        var list = el("ul", { cls: "products" });
        ids.forEach(function (id) {
          var p = state.cart[id].product;
          list.appendChild(el("li", { cls: "product", "data-id": "line-" + id }, [
            el("div", { cls: "what" }, [el("span", { cls: "name", text: p.name }), el("span", { cls: "price", text: yen(p.price_yen) + "（1つ）" })]),
            stepper(p, total)
          ]));
        });
        total();
        var $error = errorBox("order-error");
        var $order = button("この内容で注文する", function () {
          var lines = cartLines();
          if (!lines.length) { showError($error, "かごは空です。品物をえらんでください。"); return; }
          var sig = JSON.stringify(lines);
          if (!state.lastOrder || state.lastOrder.sig !== sig) state.lastOrder = { sig: sig, key: randomKey() };
          $order.disabled = true;
          $order.firstChild.textContent = "注文しています…";
          api("POST", "/api/v1/me/orders", { lines: lines }, { "Idempotency-Key": state.lastOrder.key }).then(function (o) {
            state.cart = {};
            state.lastOrder = null;
            finish(message("注文しました", [
              el("div", { cls: "box ok" }, [
                el("p", { cls: "when", id: "order-done", text: "合計 " + yen(o.total_yen) }),
                para(o.items.length + "品　" + o.delivery_label + " の " + short(sh.deliver_by) + " ごろまでに届けます。")
              ]),
              para("届いたら、お知らせします。")
            ]));
          }, function (err) {
            if (err.handled) return;
            if (err.status !== 0) state.lastOrder = null; // answered: a new try is a new order
            $order.disabled = false;
            $order.firstChild.textContent = "この内容で注文する";
            showError($error, say(err));
          });
        }, { cls: "primary", id: "order" });
        box.appendChild(list);
        box.appendChild($total);
        box.appendChild(cutoffBox());
        box.appendChild($error);
        box.appendChild($order);
        box.appendChild(button("買い物をつづける", back, { cls: "secondary", id: "back" }));
        return box;
      }
    };
    return s;
  }

  /* ---------- the clock, and keeping home fresh ---------- */

  function tick() {
    if (!state.me) return;
    $clock.textContent = "いま " + hhmm(serverNow());
    Array.prototype.forEach.call(document.querySelectorAll("[data-left]"), function (e) { e.textContent = leftText(); });
  }
  setInterval(tick, 20000);
  setInterval(function () {
    if (state.me && state.screen && state.screen.name === "home" && document.visibilityState === "visible") reloadHome();
  }, 60000);
  document.addEventListener("visibilitychange", function () {
    if (state.me && document.visibilityState === "visible" && state.screen && state.screen.name === "home") reloadHome();
  });

  /* ---------- start ---------- */

  try {
    var saved = JSON.parse(localStorage.getItem(STORE) || "null");
    var town = NoriaiApi.tenant();  // a session of another town's page stays there
    if (saved && saved.token && !(town && saved.tenant && saved.tenant !== town)) {
      state.token = saved.token;
      state.name = saved.name || "";
      state.family = saved.family || null;
    }
  } catch (x) { /* nothing kept */ }
  if (!state.token) show(signIn());
  else if (state.family && !state.family.acting) show(pickResident());
  else loadHousehold();
  window.noriaiPhone = { state: state };
})();
