/* Shared by the field pages for staff on a phone: the drone operator (/drone), the community
 * support worker (/support) and the supermarket (/seller).
 *
 * NoriaiField.start(opts) signs in with a user name and password (POST /api/v1/auth/token), keeps
 * the bearer token in localStorage under opts.store, shows the server's clock in the header
 * (GET /healthz, never the phone's own clock) and then calls opts.home(app). The app object has
 * the helpers every page needs: el(), button(), api(), show(), flash(), problem(), dayLabel() and
 * signOut(). Errors from the API are problem details with an English `detail`; they are shown
 * after a short Japanese lead-in that says what did not happen.
 */
"use strict";

var NoriaiField = (function () {
  var T = window.NoriaiTime;
  var WEEKDAYS = "日月火水木金土";

  var el = NoriaiDom.el, button = NoriaiDom.button; // dom.js

  /* "2026-11-24" (or a Date of the server's clock) -> "11月24日（火）" */
  function dayLabel(day) {
    var y, m, d;
    if (typeof day === "string") {
      y = +day.slice(0, 4); m = +day.slice(5, 7); d = +day.slice(8, 10);
    } else {
      var p = T.parts(day || T.now());
      y = p.y; m = p.mo; d = p.d;
    }
    return m + "月" + d + "日（" + WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()] + "）";
  }

  /* A box for a refused or failed request: the Japanese lead-in first, the server's words below. */
  function problem(err, lead) {
    var kids = [el("strong", { cls: "lead", text: lead || "できませんでした。" })];
    if (err && err.status === 0) {
      kids.push(el("span", { text: "通信できません。電波のよい所で、もう一度ためしてください。" }));
    } else if (err) {
      var detail = err.message || "";
      if (err.data && err.data.errors && err.data.errors.length) {
        detail += " (" + err.data.errors.map(function (e) { return e.field + ": " + e.message; }).join("; ") + ")";
      }
      if (detail) kids.push(el("span", { cls: "detail", lang: "en", "data-id": "detail", text: detail }));
    }
    return el("div", { cls: "box error", role: "alert", "data-id": "problem" }, kids);
  }

  var ZONE = (document.querySelector('meta[name="noriai-timezone"]') || { content: "Asia/Tokyo" }).content;

  /* The same instant written with the zone's offset: "...T02:05:00+00:00" -> "...T11:05:00+09:00". */
  function inZone(iso, zone) {
    var d = T.parse(iso);
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-US", {
        timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit"
      }).formatToParts(d).forEach(function (p) { parts[p.type] = p.value; });
      var wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
      var mins = Math.round((wall - Math.floor(d.getTime() / 1000) * 1000) / 60000);
      var sign = mins < 0 ? "-" : "+";
      mins = Math.abs(mins);
      var off = sign + T.pad(Math.floor(mins / 60)) + ":" + T.pad(mins % 60);
      var ms = d.getTime() % 1000;
      return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute + ":" +
        parts.second + "." + ("00" + ms).slice(-3) + off;
    } catch (e) {
      return iso;
    }
  }

  function start(opts) {
    var $screen = document.getElementById("screen");
    var $clock = document.getElementById("clock");
    var $flash = document.getElementById("flash");
    var app = {
      el: el, button: button, problem: problem, dayLabel: dayLabel, T: T,
      token: null, role: null, user: null,
      current: null // the screen on show: {name, node}
    };
    var ticker = null, poller = null;

    function saved() {
      try { return JSON.parse(localStorage.getItem(opts.store) || "null"); } catch (x) { return null; }
    }

    app.api = function (method, path, body) {
      var headers = { "Accept": "application/json" };
      if (app.token) headers["Authorization"] = "Bearer " + app.token;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(path, {
        method: method, headers: headers, cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body)
      }).then(function (r) {
        return r.text().then(function (t) {
          var data = null;
          try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
          if (!r.ok) {
            var err = new Error((data && data.detail) || ("HTTP " + r.status));
            err.status = r.status;
            err.data = data || {};
            if (r.status === 401 && app.token) {
              err.handled = true; // the token expired or was revoked: sign in again
              app.signOut("もう一度サインインしてください。");
            }
            throw err;
          }
          return data;
        });
      }, function () {
        var err = new Error("offline");
        err.status = 0;
        err.data = {};
        throw err;
      });
    };

    /* A file the API serves behind the bearer token, offered as a download. */
    app.download = function (path, fallbackName) {
      return fetch(path, { headers: { "Authorization": "Bearer " + app.token }, cache: "no-store" }).then(function (r) {
        if (!r.ok) {
          return r.text().then(function (t) {
            var data = {};
            try { data = JSON.parse(t); } catch (e) { data = {}; }
            var err = new Error(data.detail || ("HTTP " + r.status));
            err.status = r.status;
            err.data = data;
            throw err;
          });
        }
        var m = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
        var name = m ? m[1] : fallbackName;
        return r.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = el("a", { href: url, download: name, hidden: true });
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
          return name;
        });
      }, function () {
        var err = new Error("offline");
        err.status = 0;
        err.data = {};
        throw err;
      });
    };

    /* Replace the screen. quiet: a refresh of the same screen keeps the scroll place and message. */
    app.show = function (name, node, quiet) {
      app.current = { name: name, node: node };
      $screen.textContent = "";
      $screen.appendChild(node);
      if (quiet) return;
      $flash.hidden = true;
      window.scrollTo(0, 0);
      var head = $screen.querySelector("h1");
      if (head) { head.setAttribute("tabindex", "-1"); head.focus({ preventScroll: true }); }
    };

    app.flash = function (text, kind) {
      $flash.textContent = text;
      $flash.className = kind === "error" ? "error" : "";
      $flash.hidden = false;
    };

    /* The server's clock: synced from /healthz, shown as "いま 11:50". /healthz states the instant
     * in UTC; the tenant's zone comes from the page (<meta name="noriai-timezone">). */
    app.syncClock = function () {
      return fetch("/healthz", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (h) {
        T.sync(inZone(h.now, ZONE));
        tick();
      }, function () { /* keep the last offset */ });
    };
    /* An ISO instant -> "12:05" in the tenant's zone (the API gives some instants in UTC). */
    app.hm = function (iso) { return iso ? T.hhmm(T.parse(iso)) : ""; };
    function tick() { $clock.textContent = app.token ? "いま " + T.hhmm(T.now()) : ""; }

    /* fn runs every `seconds` while signed in (and at once when the page becomes visible again). */
    var polled = null;
    app.poll = function (fn, seconds) {
      if (poller) clearInterval(poller);
      polled = fn;
      poller = setInterval(function () { if (app.token && !document.hidden) fn(); }, seconds * 1000);
    };
    document.addEventListener("visibilitychange", function () {
      if (polled && app.token && !document.hidden) polled();
    });

    /* Revoke the token on the server too: a lost or shared device keeps nothing that works. */
    function revoke(token) {
      fetch("/api/v1/auth/sign-out", { method: "POST", headers: { Authorization: "Bearer " + token } })
        .catch(function () { /* offline: the token lapses by itself */ });
    }

    app.signOut = function (notice) {
      if (app.token) revoke(app.token);
      app.token = null;
      if (poller) { clearInterval(poller); poller = null; }
      polled = null;
      try { localStorage.removeItem(opts.store); } catch (x) { /* private mode */ }
      if (ticker) { clearInterval(ticker); ticker = null; }
      tick();
      signIn(notice);
    };

    /* The end of every home screen: refresh, who is signed in, sign out. */
    app.footer = function (onRefresh) {
      return el("div", { cls: "stack footer" }, [
        onRefresh ? button("最新にする", onRefresh, { cls: "secondary", id: "refresh" }) : null,
        el("p", { cls: "muted", text: (app.user || "") + " でサインイン中" }),
        button("サインアウト", function () { app.signOut("サインアウトしました。"); }, { cls: "secondary", id: "signout" })
      ]);
    };

    function signedIn(session) {
      app.token = session.token;
      app.role = session.role;
      app.user = session.user;
      if (!ticker) ticker = setInterval(tick, 15000);
      return app.syncClock().then(function () { opts.home(app); });
    }

    function signIn(notice) {
      var $error = el("div", { hidden: true });
      var $user = el("input", {
        id: "username", name: "username", type: "text", autocomplete: "username", autocapitalize: "none",
        spellcheck: "false", required: true
      });
      var $pass = el("input", {
        id: "password", name: "password", type: "password", autocomplete: "current-password", required: true
      });
      var $submit = button("サインイン", null, { type: "submit", cls: "primary", id: "signin" });
      var form = el("form", { cls: "stack", novalidate: true }, [
        el("div", { cls: "field" }, [el("label", { "for": "username", text: "ユーザー名" }), $user]),
        el("div", { cls: "field" }, [el("label", { "for": "password", text: "パスワード" }), $pass]),
        $error,
        $submit
      ]);
      function fail(node) {
        $error.replaceWith(node);
        $error = node;
        $error.hidden = false;
      }
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!$user.value.trim() || !$pass.value) {
          fail(el("div", { cls: "box error", role: "alert", text: "ユーザー名とパスワードを入れてください。" }));
          return;
        }
        $submit.disabled = true;
        $submit.firstChild.textContent = "たしかめています…";
        var body = new URLSearchParams();
        body.set("username", $user.value.trim());
        body.set("password", $pass.value);
        fetch("/api/v1/auth/token", {
          method: "POST", body: body, cache: "no-store", headers: { "Accept": "application/json" }
        }).then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (data) {
            if (!r.ok) {
              var err = new Error(data.detail || ("HTTP " + r.status));
              err.status = r.status;
              err.data = data;
              throw err;
            }
            return data;
          });
        }, function () {
          var err = new Error("offline");
          err.status = 0;
          throw err;
        }).then(function (tok) {
          if (opts.roles.indexOf(tok.role) < 0) {
            revoke(tok.access_token); // not this page's account: leave no live token behind
            var err = new Error("This account is a " + tok.role + " account.");
            err.status = 403;
            err.data = {};
            throw err;
          }
          var session = { token: tok.access_token, role: tok.role, user: $user.value.trim() };
          try { localStorage.setItem(opts.store, JSON.stringify(session)); } catch (x) { /* private mode */ }
          return signedIn(session);
        }).catch(function (err) {
          $submit.disabled = false;
          $submit.firstChild.textContent = "サインイン";
          $pass.value = "";
          fail(problem(err, err.status === 403 ? "この画面は「" + opts.roleName + "」のアカウントで使います。"
            : err.status === 401 ? "ユーザー名かパスワードがちがいます。5回続けて間違えると15分間サインインできません（管理者が解除できます）。"
            : "サインインできませんでした。"));
          $pass.focus();
        });
      });
      app.show("signin", el("div", { cls: "stack" }, [
        el("h1", { text: "サインイン" }),
        notice ? el("p", { cls: "box ok", role: "status", text: notice }) : null,
        el("p", { text: opts.roleName + "のユーザー名とパスワードを入れてください。" }),
        form
      ]));
    }

    var s = saved();
    if (s && s.token && opts.roles.indexOf(s.role) >= 0) signedIn(s);
    else signIn();
    return app;
  }

  return { start: start, el: el, button: button, dayLabel: dayLabel, problem: problem };
})();
