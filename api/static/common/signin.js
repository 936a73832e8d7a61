/* The staff sign-in of every staff page (operator, municipality, driver, drone, support, seller):
 * user name + password -> POST /api/v1/auth/token (OAuth2 password form); the session {token,
 * role, user, ...} kept in localStorage (sessionStorage on the office PCs' desk pages: storage
 * "session"); the role checked against the page's roles (a token of another role is revoked at
 * once and the page says whose screen this is); signing out revokes the token on the server
 * (POST /api/v1/auth/sign-out), so a lost or shared device keeps nothing that works.
 * The page's municipality (NoriaiApi.tenant()) goes with the sign-in, so a user of another town is
 * refused, and a kept session of another town's page is not resumed here.
 *
 *   var auth = NoriaiSignIn.create({ store: "noriai.driver", roles: ["driver"], wrongRole: "この画面は…" });
 *   auth.saved(); auth.signIn(user, password).then(session); auth.save(session); auth.signOut();
 *   auth.submit(user, password, ui): the form's submit, with its checks, busy state and messages.
 *   NoriaiSignIn.desk(auth, {...}): the desk pages' form (templates/login_form.html) and sign-out.
 * ES5 (the phones load this file).
 */
"use strict";

var NoriaiSignIn = (function () {
  var EMPTY = "ユーザー名とパスワードを入れてください。";

  function create(opts) {
    var api = NoriaiApi.client();
    var store = opts.storage === "session" ? window.sessionStorage : window.localStorage;

    function allowed(role) { return !role || !opts.roles || opts.roles.indexOf(role) >= 0; }

    /* The session kept on this device, or null (none, unreadable, another role's or another
     * municipality's: the same browser may open several towns' pages). */
    function saved() {
      var s = null;
      try { s = JSON.parse(store.getItem(opts.store) || "null"); } catch (x) { s = null; }
      var town = NoriaiApi.tenant();
      if (s && town && s.tenant && s.tenant !== town) return null;
      return s && s.token && allowed(s.role) ? s : null;
    }
    function save(session) {
      try { store.setItem(opts.store, JSON.stringify(session)); } catch (x) { /* private mode */ }
    }
    function forget() {
      try { store.removeItem(opts.store); } catch (x) { /* private mode */ }
    }
    function revoke(token) {
      if (!token) return;
      api.request("POST", "/api/v1/auth/sign-out", undefined, { token: token })
        .then(null, function () { /* offline: the token lapses by itself */ });
    }

    /* Resolves with the saved session; rejects with a problem (status 0, 401, 429, or 403 for
     * another role's account). */
    function signIn(user, password) {
      return api.request("POST", "/api/v1/auth/token", undefined, {
        form: NoriaiApi.withTenant({ username: user, password: password }), token: null
      }).then(function (t) {
        if (!allowed(t.role)) {
          revoke(t.access_token); // not this page's account: leave no live token behind
          throw NoriaiProblem.make(403, opts.wrongRole, "auth.wrong_role");
        }
        var session = { token: t.access_token, role: t.role, user: user, tenant: t.tenant_id };
        save(session);
        return session;
      });
    }

    function signOut(token) {
      revoke(token || (saved() || {}).token);
      forget();
    }

    /* The form's submit. ui: {busy(on), fail(err), done(session)} */
    function submit(user, password, ui) {
      user = (user || "").trim();
      if (!user || !password) {
        ui.fail(new Error(EMPTY));
        return;
      }
      ui.busy(true);
      signIn(user, password).then(function (session) {
        ui.busy(false);
        ui.done(session);
      }, function (err) {
        ui.busy(false);
        ui.fail(err);
      });
    }

    return { saved: saved, save: save, forget: forget, signIn: signIn, signOut: signOut, submit: submit };
  }

  /* The desk pages' sign-in (templates/login_form.html: #login-form, #login-user, #login-pass,
   * #login-submit, #login-error; and #logout, #who in the header). opts: problem (options of
   * problem.js); use(session or null): the page takes the session; start(session) -> a promise:
   * the page opens (a refusal shows the sign-in again); hide: ids shown only while signed in, show:
   * those of them to show at once; signedOut(): the page forgets what it showed; landing: the id of
   * what takes the focus once the page is open, unless start() put it somewhere (not the page's top).
   * Returns {resume(), signOut(message), showLogin(message or problem)}. */
  function desk(auth, opts) {
    function $(id) { return document.getElementById(id); }
    var problemOpts = opts.problem || {};
    var token = null;

    function showLogin(message) {
      opts.hide.concat(["logout"]).forEach(function (id) { $(id).hidden = true; });
      $("who").textContent = "";
      $("login-view").hidden = false;
      var e = $("login-error");
      if (message instanceof Error) NoriaiProblem.fill(e, message, problemOpts);
      else { e.textContent = message || ""; e.hidden = !message; }
      $("login-user").focus();
    }

    function begin(session) {
      token = session.token;
      opts.use(session);
      return opts.start(session).then(function () {
        $("login-view").hidden = true;
        $("login-error").hidden = true;
        opts.show.concat(["logout"]).forEach(function (id) { $(id).hidden = false; });
        $("who").textContent = session.user || "";
        var a = document.activeElement, to = opts.landing && $(opts.landing);
        if (to && (!a || a === document.body || $("login-view").contains(a))) { // the form just hidden
          if (!to.hasAttribute("tabindex")) to.setAttribute("tabindex", "-1");
          to.focus();
        }
      }, function (err) {
        if (err.status === 403) { // a kept session of another role
          auth.forget();
          token = null;
          opts.use(null);
        }
        if (err.status !== 401) showLogin(err); // a 401 has signed out already
      });
    }

    function signOut(message) {
      auth.signOut(token);
      token = null;
      opts.use(null);
      opts.signedOut();
      showLogin(message);
    }

    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      $("login-error").hidden = true;
      auth.submit($("login-user").value, $("login-pass").value, {
        busy: function (on) { $("login-submit").disabled = on; },
        fail: function (err) {
          NoriaiProblem.fill($("login-error"), err, problemOpts);
          if (err.status !== undefined) { $("login-pass").value = ""; $("login-pass").focus(); }
        },
        done: function (session) {
          $("login-pass").value = "";
          begin(session);
        }
      });
    });
    $("logout").addEventListener("click", function () { signOut(""); });

    function resume() {
      var s = auth.saved();
      if (s) begin(s);
      else showLogin("");
    }

    return { resume: resume, signOut: signOut, showLogin: showLogin };
  }

  return { create: create, desk: desk };
})();
