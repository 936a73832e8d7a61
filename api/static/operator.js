/* The operator console's session and start, loaded last (after operator/*.js): the common desk
 * sign-in (common/signin.js: operators and admins; the token lives in sessionStorage, so closing
 * the browser ends it), the start of a session (the server's clock from the board, the places,
 * the console, the resident in the address), and what signing out clears (nothing of the last
 * caller is left on screen). ES2017 (office PCs).
 */
"use strict";

(() => {
  const { $, state, show, clear, selectTab, tickClock } = Operator;
  const BOARD_EVERY_MS = 15000;

  const auth = NoriaiSignIn.create({
    store: "noriai.operator", storage: "session", roles: ["operator", "admin"],
    wrongRole: "このユーザーはオペレーター画面を使えません。",
  });

  /* After sign-in: the server's clock (from the board), the places, then the console. */
  function startSession() {
    // the map and the booking rules (a road network may take a moment the first time): not waited for
    Operator.serviceArea().then(Operator.showBookingDay, () => {});
    return Promise.all([Operator.api("GET", "/api/v1/board"), Operator.api("GET", "/api/v1/places")]).then(
      ([board, places]) => {
        state.places = places;
        state.placeById = {};
        places.forEach((p) => { state.placeById[p.id] = p; });
        Operator.renderBoard(board);
        Operator.fillPlaceSelects();
        selectTab(state.tab);
        clearInterval(state.boardTimer);
        clearInterval(state.clockTimer);
        state.boardTimer = setInterval(Operator.refreshBoard, BOARD_EVERY_MS);
        state.clockTimer = setInterval(tickClock, 5000);
        const m = /r=(\d+)/.exec(location.hash);
        if (m) Operator.openResident(+m[1]);
        else $("search").focus();
      }
    );
  }

  function signedOut() {
    clearInterval(state.boardTimer);
    clearInterval(state.clockTimer);
    state.resident = null;
    state.catalog = null;
    state.area = null;
    state.areaPromise = null;
    Operator.forgetRegister();
    Operator.forgetRegistration();
    $("watch-banner").hidden = true;
    $("optimizer-banner").hidden = true;
    // nothing of the last caller stays on screen for whoever signs in next
    $("search").value = "";
    clear($("results"));
    clear($("tvqueue-rows"));
    show($("resident"), false);
    show($("detail-empty"), true);
    if (history.replaceState) history.replaceState(null, "", location.pathname);
    tickClock();
  }

  const desk = NoriaiSignIn.desk(auth, {
    problem: Operator.PROBLEM,
    hide: ["residents-view", "register-view", "board-view", "tvqueue-view", "tabs"],
    show: ["tabs"],
    use: (session) => {
      state.token = session ? session.token : null;
      state.user = session ? session.user : "";
    },
    start: startSession,
    signedOut: signedOut,
  });
  Operator.signOut = desk.signOut;

  Operator.updateCart();
  desk.resume();
})();
