/* The operator console's session and start, loaded last (after operator/*.js): the common staff
 * sign-in (common/signin.js: operators and admins; the token lives in sessionStorage, so closing
 * the browser ends it), the start of a session (the server's clock from the board, the places,
 * the console, the resident in the address), signing out (the token revoked on the server, nothing
 * of the last caller left on screen). ES2017 (office PCs).
 */
"use strict";

(() => {
  const { $, state, show, clear, hideError, showError, selectTab, tickClock } = Operator;
  const BOARD_EVERY_MS = 15000;

  const auth = NoriaiSignIn.create({
    store: "noriai.operator", storage: "session", roles: ["operator", "admin"],
    wrongRole: "このユーザーはオペレーター画面を使えません。",
  });

  function showLogin(message) {
    ["residents-view", "board-view"].forEach((v) => show($(v), false));
    show($("tabs"), false);
    show($("logout"), false);
    $("who").textContent = "";
    show($("login-view"), true);
    if (message instanceof Error) showError("login-error", message);
    else if (message) {
      $("login-error").textContent = message;
      $("login-error").hidden = false;
    }
    $("login-user").focus();
  }

  function signOut(message) {
    auth.signOut(state.token);
    state.token = null;
    clearInterval(state.boardTimer);
    clearInterval(state.clockTimer);
    state.resident = null;
    state.catalog = null;
    $("watch-banner").hidden = true;
    $("optimizer-banner").hidden = true;
    // nothing of the last caller stays on screen for whoever signs in next
    $("search").value = "";
    clear($("results"));
    show($("resident"), false);
    show($("detail-empty"), true);
    if (history.replaceState) history.replaceState(null, "", location.pathname);
    tickClock();
    showLogin(message);
  }

  NoriaiSignIn.bindForm(auth, {
    problem: Operator.PROBLEM,
    done: (session) => {
      state.token = session.token;
      state.user = session.user;
      return startSession();
    },
  });
  $("logout").addEventListener("click", () => signOut(""));

  /* After sign-in: the server's clock (from the board), the places, then the console. */
  function startSession() {
    return Promise.all([Operator.api("GET", "/api/v1/board"), Operator.api("GET", "/api/v1/places")]).then(
      ([board, places]) => {
        state.places = places;
        state.placeById = {};
        places.forEach((p) => { state.placeById[p.id] = p; });
        Operator.renderBoard(board);
        show($("login-view"), false);
        hideError("login-error");
        show($("tabs"), true);
        show($("logout"), true);
        $("who").textContent = state.user;
        Operator.fillPlaceSelects();
        selectTab(state.tab);
        clearInterval(state.boardTimer);
        clearInterval(state.clockTimer);
        state.boardTimer = setInterval(Operator.refreshBoard, BOARD_EVERY_MS);
        state.clockTimer = setInterval(tickClock, 5000);
        const m = /r=(\d+)/.exec(location.hash);
        if (m) Operator.openResident(+m[1]);
        else $("search").focus();
      },
      (err) => {
        if (err.status === 403) {
          state.token = null;
          auth.forget();
          showLogin(err);
        } else if (err.status !== 401) {
          showLogin(err);
        }
      }
    );
  }

  Object.assign(Operator, { signOut });

  /* ---------- start ---------- */

  const saved = auth.saved();
  if (saved) {
    state.token = saved.token;
    state.user = saved.user || "";
  }
  Operator.updateCart();
  if (state.token) startSession();
  else showLogin("");
})();
