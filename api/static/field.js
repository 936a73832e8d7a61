/* The shell of the field pages for staff on a phone: the driver (/driver), the drone operator
 * (/drone), the community support worker (/support) and the supermarket (/seller). Built on the
 * common scripts: the sign-in (common/signin.js), the API client (common/api.js), the problem
 * renderer (common/problem.js) and the server's clock (common/servertime.js).
 *
 * NoriaiField.start(opts) shows the sign-in screen (or resumes the session kept under opts.store
 * for opts.roles), shows the server's clock in the header and then calls opts.home(app, session).
 * The app object has what every page needs: el(), button(), api(), download(), loader(), show(),
 * flash(), problem(), dayLabel(), hm(), poll(), save(), footer() and signOut().
 *
 * opts: store, roles, roleName; home(app, session); and, for a page's own wording: title, intro,
 * after() (nodes below the form), wrongRole, expired (the notice when the token lapsed),
 * signInCls, keepUser (the user name stays filled in after signing out), clock(T) -> the
 * header's text, onSignOut(), problem (options of problem.js: the page's own generic leads).
 */
"use strict";

var NoriaiField = (function () {
  var T = window.NoriaiTime;
  var el = NoriaiDom.el, button = NoriaiDom.button, P = NoriaiProblem;

  function start(opts) {
    var $screen = document.getElementById("screen");
    var $clock = document.getElementById("clock");
    var $flash = document.getElementById("flash");
    var problemOpts = opts.problem || {};
    /* The page's problem options with `extra` on top. */
    function problemOptions(extra) {
      var o = {};
      [problemOpts, extra || {}].forEach(function (src) {
        Object.keys(src).forEach(function (k) { o[k] = src[k]; });
      });
      return o;
    }
    var app = {
      el: el, button: button, dayLabel: T.dayLabel, T: T,
      token: null, role: null, user: null, session: null,
      current: null // the screen on show: {name, node}
    };
    var ticker = null, poller = null, polled = null;
    var auth = NoriaiSignIn.create({
      store: opts.store, roles: opts.roles,
      wrongRole: opts.wrongRole || "この画面は「" + opts.roleName + "」のアカウントで使います。"
    });
    var client = NoriaiApi.client({
      token: function () { return app.token; },
      onUnauthorized: function () { app.signOut(opts.expired || "もう一度サインインしてください。"); }
    });

    app.api = function (method, path, body) { return client.request(method, path, body); };
    app.download = client.download;

    /* A box for a refused or failed request: what did not happen (lead), why, the server's words. */
    app.problem = function (err, context, extra) {
      var o = problemOptions(extra);
      o.context = context;
      return P.box(err, o);
    };
    app.problemText = function (err) { return P.text(err, problemOpts); };

    /* The page's list: load(quiet) fetches `path` and calls onData(data, changed, quiet) (changed:
     * not the same as last time; load.forget() makes the next one count as changed). A failed load
     * that was asked for (not quiet) shows the problem with a retry; a quiet one waits for the next. */
    app.loader = function (path, context, onData) {
      var sig = "";
      function load(quiet) {
        var token = app.token; // an answer that comes after signing out draws nothing
        return app.api("GET", path).then(function (data) {
          if (app.token !== token) return;
          var s = JSON.stringify(data);
          var changed = s !== sig;
          sig = s;
          app.syncClock();
          onData(data, changed, quiet);
        }, function (err) {
          if (err.handled || quiet || app.token !== token) return;
          app.show("error", el("div", { cls: "stack" }, [
            el("h1", { text: "よみこめませんでした" }),
            app.problem(err, context),
            button("もう一度ためす", function () { load(false); }, { cls: "primary", id: "retry" }),
            signOutButton()
          ]));
        });
      }
      load.forget = function () { sig = ""; };
      return load;
    };

    /* Replace the screen. quiet: a refresh of the same screen keeps the scroll place, the message and
     * the focus (on the control with the same data-id or id, else the heading). A screen drawn again
     * by 「最新にする」 keeps the focus on that button. */
    var keep = null;
    app.show = function (name, node, quiet) {
      var a = document.activeElement;
      var key = keep || (a && a !== $screen && $screen.contains(a) ? a.getAttribute("data-id") || a.id || "-" : null);
      keep = null;
      app.current = { name: name, node: node };
      $screen.textContent = "";
      $screen.appendChild(node);
      var head = $screen.querySelector("h1");
      if (head) head.setAttribute("tabindex", "-1");
      var again = key && ($screen.querySelector('[data-id="' + key + '"]') || document.getElementById(key));
      if (again && again.disabled) again = null;
      // a heading or a message drawn again is focusable from script, as the one it replaces was
      if (again && !again.matches("button, a[href], input, select, textarea, [tabindex]")) again.setAttribute("tabindex", "-1");
      if (quiet) {
        if (key && (again || head)) (again || head).focus({ preventScroll: true });
        return;
      }
      $flash.hidden = true;
      window.scrollTo(0, 0);
      if (again && key === "refresh") { again.focus(); return; }
      if (head) head.focus({ preventScroll: true });
    };

    /* A message under the header; no text hides it. */
    app.flash = function (text, kind) {
      $flash.textContent = text || "";
      $flash.className = kind === "error" ? "error" : "";
      $flash.hidden = !text;
    };

    /* The server's clock: synced from /healthz, shown in the header ("いま 11:50"). */
    app.syncClock = function () { return T.syncFromServer().then(tick); };
    /* An ISO instant -> "12:05" in the tenant's zone (the API gives some instants in UTC). */
    app.hm = function (iso) { return iso ? T.hhmm(T.parse(iso)) : ""; };
    function tick() {
      $clock.textContent = !app.token ? "" : opts.clock ? opts.clock(T) : "いま " + T.hhmm(T.now());
    }
    app.tick = tick;

    /* load(true) runs every `seconds` while signed in (and at once when the page becomes visible
     * again): a quiet refresh of an app.loader(). */
    app.poll = function (load, seconds) {
      if (poller) clearInterval(poller);
      polled = load;
      poller = setInterval(function () { if (app.token && !document.hidden) load(true); }, seconds * 1000);
    };
    document.addEventListener("visibilitychange", function () {
      if (polled && app.token && !document.hidden) polled(true);
    });

    /* Keep more in the session (e.g. the driver's vehicle). */
    app.save = function (more) {
      Object.keys(more).forEach(function (k) { app.session[k] = more[k]; });
      auth.save(app.session);
    };

    app.signOut = function (notice) {
      auth.signOut(app.token);
      app.token = null;
      app.session = null;
      if (!opts.keepUser) app.user = null;
      if (poller) { clearInterval(poller); poller = null; }
      polled = null;
      if (ticker) { clearInterval(ticker); ticker = null; }
      tick();
      if (opts.onSignOut) opts.onSignOut();
      signIn(notice);
    };

    function signOutButton() {
      return button("サインアウト", function () { app.signOut("サインアウトしました。"); }, { cls: "secondary", id: "signout" });
    }

    /* The end of every home screen: refresh, who is signed in, sign out. */
    app.footer = function (onRefresh) {
      return el("div", { cls: "stack footer" }, [
        onRefresh ? button("最新にする", function () { keep = "refresh"; onRefresh(); }, { cls: "secondary", id: "refresh" }) : null,
        el("p", { cls: "muted", text: (app.user || "") + " でサインイン中" }),
        signOutButton()
      ]);
    };

    /* resumed: a session kept on this phone (a reload). Until the page's own screen comes, it says
     * that it is loading, with a way out (sign out), whatever happens next. */
    function signedIn(session, resumed) {
      app.session = session;
      app.token = session.token;
      app.role = session.role;
      app.user = session.user;
      if (!ticker) ticker = setInterval(tick, 15000);
      if (resumed) {
        app.show("loading", el("div", { cls: "stack", "aria-busy": "true" }, [
          el("h1", { text: "よみこんでいます…" }),
          el("p", { cls: "muted", text: (app.user || "") + " でサインイン中" }),
          signOutButton()
        ]));
      }
      return app.syncClock().then(function () { opts.home(app, session); });
    }

    function signIn(notice) {
      var $error = el("div", { hidden: true });
      var $user = el("input", {
        id: "username", name: "username", type: "text", autocomplete: "username", autocapitalize: "none",
        autocorrect: "off", spellcheck: "false", required: true, value: opts.keepUser ? app.user : null
      });
      var $pass = el("input", {
        id: "password", name: "password", type: "password", autocomplete: "current-password", required: true
      });
      var $submit = button("サインイン", null, { type: "submit", cls: opts.signInCls || "primary", id: "signin" });
      var form = el("form", { cls: "stack", novalidate: true }, [
        el("div", { cls: "field" }, [el("label", { "for": "username", text: "ユーザー名" }), $user]),
        el("div", { cls: "field" }, [el("label", { "for": "password", text: "パスワード" }), $pass]),
        $error,
        $submit
      ]);
      var problem = problemOptions({ id: "signin-error" });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        auth.submit($user.value, $pass.value, {
          busy: function (on) {
            $submit.disabled = on;
            $submit.firstChild.textContent = on ? "たしかめています…" : "サインイン";
          },
          fail: function (err) {
            $error = NoriaiDom.swap($error, P.box(err, problem));
            if (err.status === undefined) return;
            $pass.value = "";
            $pass.focus();
          },
          done: signedIn
        });
      });
      app.show("signin", el("div", { cls: "stack" }, [
        el("h1", { text: opts.title || "サインイン" }),
        notice ? el("p", { cls: "box ok", role: "status", text: notice }) : null,
        el("p", { text: opts.intro || opts.roleName + "のユーザー名とパスワードを入れてください。" }),
        form
      ].concat(opts.after ? opts.after() : [])));
    }

    var s = auth.saved();
    if (s) signedIn(s, true);
    else signIn();
    return app;
  }

  return { start: start };
})();
