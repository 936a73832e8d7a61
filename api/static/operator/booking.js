/* Booking a ride on the resident's behalf: destination (favourites first), origin, party,
   wheelchair, when; the quote, the alternatives when nothing fits, the booking (a retry after a
   lost answer sends the same Idempotency-Key, so it cannot book twice). */
"use strict";

(() => {
  const { T, el, clear, $, state, button, show, land, busy, newKey, isoToday, hhmmOf, suggestTime, api, say, showError, hideError, toast } = Operator;
  const hm = T.short, yen = T.yen;

  const KIND_LABELS = {
    hospital: "病院",
    clinic: "診療所",
    supermarket: "買い物",
    station: "駅",
    city_hall: "役所・支所",
    community_hall: "公民館・集会所",
    post_office: "郵便局",
    bank: "銀行",
    school: "学校",
    other: "その他",
  };
  const KIND_ORDER = Object.keys(KIND_LABELS);

  function placeOptions(select, withHome, skip) {
    const groups = {};
    state.places.forEach((p) => { (groups[p.kind] = groups[p.kind] || []).push(p); });
    if (withHome) select.appendChild(el("option", { value: "home", text: "自宅" }));
    KIND_ORDER.forEach((k) => {
      if (!groups[k]) return;
      const g = el("optgroup", { label: KIND_LABELS[k] });
      groups[k].forEach((p) => { if (!skip || !skip[p.id]) g.appendChild(el("option", { value: p.id, text: p.name })); });
      if (g.children.length) select.appendChild(g);
    });
  }

  function fillPlaceSelects() {
    const origin = clear($("origin"));
    placeOptions(origin, true);
  }

  /* Destination: favourites first, then home (for the way back), then every place by kind. */
  function fillDestination(r) {
    const dest = clear($("dest"));
    dest.appendChild(el("option", { value: "", text: "― 行き先を選ぶ ―" }));
    const favs = (r.favourites || []).filter((id) => state.placeById[id]);
    if (favs.length) {
      const g = el("optgroup", { label: "よく行く場所" });
      favs.forEach((id) => g.appendChild(el("option", { value: id, text: state.placeById[id].name })));
      dest.appendChild(g);
    }
    dest.appendChild(el("option", { value: "home", text: "自宅（帰り）" }));
    const skip = {};
    favs.forEach((id) => { skip[id] = true; });
    placeOptions(dest, false, skip);
  }

  /* Another day than today only where the municipality takes bookings ahead (GET service-area). */
  function showBookingDay() {
    const ahead = !!state.area && !state.area.same_day_only;
    $("when-day-row").hidden = !ahead;
    $("when-day-label").hidden = !ahead;
    if (!$("when-day").value) $("when-day").value = T.today();
  }

  function resetBooking(r) {
    fillDestination(r);
    $("dest").value = "";
    $("origin").value = "home";
    $("when-now").checked = true;
    $("when-time").value = "";
    $("when-time").disabled = true;
    showBookingDay();
    $("when-day").value = T.today();
    $("when-day").min = T.today();
    $("when-now").disabled = false;
    $("party").value = "1";
    $("wheelchair").checked = !!r.wheelchair;
    state.retry = null;
    invalidateQuote(true);
    refreshLimits();
  }

  function renderFavourites() {
    const r = state.resident;
    const row = clear($("fav-row"));
    const favs = (r.favourites || []).filter((id) => state.placeById[id]);
    favs.forEach((id, i) => {
      const b = button((i + 1) + " " + state.placeById[id].name, () => {
        $("dest").value = id;
        destChanged();
        land($("fav-row").querySelector('[data-id="fav-' + id + '"]')); // the drawn-again button
      }, { cls: "fav", "data-id": "fav-" + id, "aria-pressed": $("dest").value === id ? "true" : "false" });
      row.appendChild(b);
    });
    if (!favs.length) row.appendChild(el("span", { cls: "muted", text: "よく行く場所は未登録です（下で選んで ☆ で追加）" }));
    const cur = $("dest").value;
    const isFav = favs.indexOf(cur) >= 0;
    $("fav-toggle").textContent = isFav ? "★ よく行く場所から外す" : "☆ よく行く場所に追加";
    $("fav-toggle").disabled = !cur || cur === "home" || (!isFav && favs.length >= 9);
  }

  function destChanged() {
    renderFavourites();
    invalidateQuote(true);
    refreshLimits();
  }
  function tripChanged() {
    invalidateQuote(true);
    refreshLimits();
  }

  $("dest").addEventListener("change", destChanged);
  $("origin").addEventListener("change", tripChanged);
  $("party").addEventListener("input", tripChanged);
  $("wheelchair").addEventListener("change", tripChanged);
  $("when-time").addEventListener("input", () => invalidateQuote(true));
  $("when-day").addEventListener("change", () => {
    if (whenDay() !== T.today() && whenMode() === "now") {
      $("when-pickup").checked = true;
      $("when-time").disabled = false;
      if (!$("when-time").value) $("when-time").value = "10:00";
    }
    $("when-now").disabled = whenDay() !== T.today();
    tripChanged();
  });
  document.querySelectorAll('input[name="when"]').forEach((radio) => {
    radio.addEventListener("change", () => {
      const mode = whenMode();
      $("when-time").disabled = mode === "now";
      applyLimits();
      if (mode !== "now" && !$("when-time").value) $("when-time").value = withinLimits(suggestTime(mode === "arrive" ? 60 : 30));
      if (mode !== "now") $("when-time").focus();
      invalidateQuote(true);
    });
  });

  $("fav-toggle").addEventListener("click", () => {
    const r = state.resident;
    const cur = $("dest").value;
    let favs = (r.favourites || []).slice();
    favs = favs.indexOf(cur) >= 0 ? favs.filter((x) => x !== cur) : favs.concat([cur]);
    api("PUT", "/api/v1/residents/" + r.id + "/favourites", { place_ids: favs }).then(
      (saved) => {
        r.favourites = saved;
        fillDestination(r);
        $("dest").value = cur;
        renderFavourites();
        toast("よく行く場所を更新しました。");
      },
      (err) => showError("book-error", err)
    );
  });

  /* The ride's day: today unless the municipality books ahead and another day is chosen. */
  function whenDay() {
    const d = $("when-day").value;
    return !$("when-day-row").hidden && /^\d{4}-\d\d-\d\d$/.test(d) ? d : T.today();
  }
  /* The label of a ride's day before its window when it is not today: "11月26日（木） ". */
  function dayPrefix(iso) {
    return iso && iso.slice(0, 10) !== T.today() ? T.dayLabel(iso.slice(0, 10)) + " " : "";
  }

  function whenMode() {
    return document.querySelector('input[name="when"]:checked').value;
  }

  /* Offer only what can be booked: once the trip is chosen, the server gives the times it can be
     asked for (POST /rides/time-limits). The time field gets them as min and max, the rule stands
     beside it in the words the phone and the TV use (「17:00 までに着く必要があるため、迎えは
     15:50 までです。」), and a time outside is refused in those words before anything is sent. */
  let asked = 0;
  function tripQuestion() {
    const r = state.resident;
    const dest = $("dest").value, origin = $("origin").value;
    if (!r || !dest || dest === origin) return null;
    const party = parseInt($("party").value, 10);
    return {
      resident_id: r.id,
      origin: toLocation(origin, r),
      destination: toLocation(dest, r),
      party_size: party >= 1 && party <= 99 ? party : 1,
      wheelchair: $("wheelchair").checked,
      date: whenDay(),
    };
  }
  function refreshLimits() {
    const q = tripQuestion();
    const mine = ++asked;
    state.limits = null;
    applyLimits();
    if (!q) return Promise.resolve();
    return api("POST", "/api/v1/rides/time-limits", q).then(
      (lim) => {
        if (mine !== asked) return; // another trip was chosen meanwhile
        state.limits = lim;
        applyLimits();
      },
      () => {} // the server decides at the quote
    );
  }
  /* 「17:00 までに着く必要があるため、迎えは 15:50 までです。」 */
  function lastPickupRule(lim) {
    if (!lim.service_hours) return "その日はタクシーが走っていません。";
    return lim.service_hours.end + " までに着く必要があるため、" +
      (lim.latest_pickup ? "迎えは " + hm(lim.latest_pickup) + " までです。" : "この行き先へは、今日はもう迎えに行けません。");
  }
  function hoursRule(lim) {
    return "運行時間（" + lim.service_hours.start + "–" + lim.service_hours.end + "）の中で時刻を選んでください。";
  }
  /* "HH:MM" rounded up to the field's 5 minutes. */
  function upTo5(hhmm) {
    let h = +hhmm.slice(0, 2), mi = Math.ceil(+hhmm.slice(3, 5) / 5) * 5;
    if (mi >= 60) { mi -= 60; h += 1; }
    return T.pad(Math.min(h, 23)) + ":" + T.pad(mi);
  }
  /* The first and last "HH:MM" the time field may hold in the chosen mode ("" where none). */
  function bounds() {
    const lim = state.limits;
    if (!lim || !lim.service_hours) return ["", ""];
    if (whenMode() === "arrive") return [hhmmOf(lim.earliest_arrival), hhmmOf(lim.latest_arrival)];
    // a pickup may be asked from opening (or now, today) to the latest pickup
    let first = lim.service_hours.start;
    if (whenDay() === T.today()) {
      const p = T.parts(T.now());
      const now = T.pad(p.h) + ":" + T.pad(p.mi);
      if (now > first) first = now;
    }
    return [lim.latest_pickup ? first : "", hhmmOf(lim.latest_pickup)];
  }
  function applyLimits() {
    const lim = state.limits, t = $("when-time"), note = $("when-limit");
    const [first, last] = bounds();
    const min = first && upTo5(first) <= last ? upTo5(first) : first;
    if (min) t.min = min; else t.removeAttribute("min");
    if (last) t.max = last; else t.removeAttribute("max");
    let text = lim ? lastPickupRule(lim) : "";
    if (lim && lim.service_hours && whenMode() === "arrive" && lim.earliest_arrival) {
      text += "着く時刻は " + hm(lim.earliest_arrival) + "〜" + hm(lim.latest_arrival) + " です。";
    }
    note.textContent = text;
    note.hidden = !text;
  }
  /* A suggested time moved inside the limits, when they are known. */
  function withinLimits(hhmm) {
    const [first, last] = bounds();
    if (last && hhmm > last) return last;
    if (first && hhmm < first) return upTo5(first);
    return hhmm;
  }
  /* Why the time asked cannot be booked, in the server's words, or "" when it can (or the limits
     are not known: the server decides). `t`: "HH:MM", or "" for now. */
  function timeRefusal(mode, t) {
    const lim = state.limits;
    if (!lim) return "";
    if (!lim.service_hours) return lastPickupRule(lim);
    if (mode === "arrive") {
      if (!lim.earliest_arrival) return lastPickupRule(lim);
      if (t < hhmmOf(lim.earliest_arrival)) return "その到着時刻には間に合いません。もっと遅い時刻を選んでください（いちばん早くて" + hhmmOf(lim.earliest_arrival) + "）。";
      if (t > hhmmOf(lim.latest_arrival)) return hoursRule(lim);
      return "";
    }
    if (mode === "now") {
      return !lim.latest_pickup || T.now().getTime() > Date.parse(lim.latest_pickup) ? lastPickupRule(lim) : "";
    }
    const [first, last] = bounds();
    if (!last || t > last) return lastPickupRule(lim);
    if (t < lim.service_hours.start) return hoursRule(lim);
    if (t < first) return "その時刻は、もう過ぎています。ほかの時刻を選んでください。";
    return "";
  }

  function invalidateQuote(hideResult) {
    state.quoted = null;
    state.anyway = null;
    $("book-btn").disabled = true;
    if (hideResult) {
      show($("quote-result"), false);
      hideError("book-error");
    }
  }

  function toLocation(value, r) {
    if (value === "home") return { lat: r.home.lat, lon: r.home.lon };
    return { place_id: value };
  }

  /* The request the form describes, or an Error saying what is missing. */
  function rideRequest() {
    const r = state.resident;
    const dest = $("dest").value;
    if (!dest) throw new Error("行き先を選んでください。");
    const origin = $("origin").value;
    if (dest === origin) throw new Error("出発地と行き先が同じです。");
    const party = parseInt($("party").value, 10);
    if (!(party >= 1)) throw new Error("人数を入れてください。");
    const req = {
      resident_id: r.id,
      origin: toLocation(origin, r),
      destination: toLocation(dest, r),
      party_size: party,
      wheelchair: $("wheelchair").checked,
    };
    const mode = whenMode();
    if (mode === "now") {
      if (whenDay() !== T.today()) throw new Error("今日以外の日は、迎えか到着の時刻を選んでください。");
      const no = timeRefusal(mode, "");
      if (no) throw new Error(no);
      req.pickup_after = T.iso(T.now(), true);
    } else {
      const t = $("when-time").value;
      if (!/^\d\d:\d\d$/.test(t)) throw new Error("時刻を入れてください。");
      const no = timeRefusal(mode, t);
      if (no) throw new Error(no);
      const day = whenDay();
      req[mode === "arrive" ? "arrive_by" : "pickup_after"] =
        day === T.today() ? isoToday(t) : day + "T" + t + ":00" + T.iso(T.now()).slice(-6);
    }
    return req;
  }

  /* The ends of a trip the form describes (home or a place of the list). */
  function placeName(loc, r) {
    if (loc.place_id) return state.placeById[loc.place_id] ? state.placeById[loc.place_id].name : "指定の場所";
    if (r && r.home && Math.abs(loc.lat - r.home.lat) < 0.0005 && Math.abs(loc.lon - r.home.lon) < 0.0006) return "自宅";
    return "指定の場所";
  }
  /* A stored ride's ends as the server names every stop (自宅, a place, the drone base). */
  function rideEnds(ride) {
    return ride.origin_name + " → " + ride.destination_name;
  }


  $("quote-btn").addEventListener("click", () => quote());

  function quote() {
    hideError("book-error");
    let req;
    try { req = rideRequest(); } catch (e) { showError("book-error", e); return Promise.resolve(); }
    invalidateQuote(false);
    busy($("quote-btn"), true);
    const res = $("quote-result");
    return api("POST", "/api/v1/rides/quote", req).then(
      (q) => {
        clear(res);
        show(res, true);
        res.className = "quote";
        res.removeAttribute("data-ride");
        if (q.available) {
          state.quoted = req;
          $("book-btn").disabled = false;
          res.appendChild(el("p", { cls: "big", id: "quote-window", text: dayPrefix(q.pickup_window.start) + "迎え " + hm(q.pickup_window.start) + "〜" + hm(q.pickup_window.end) }));
          res.appendChild(el("p", { text: placeName(req.origin, state.resident) + " → " + placeName(req.destination, state.resident) + "　" + hm(q.latest_arrival) + " までに到着" }));
          res.appendChild(el("p", { text: q.fare_text + "（" + req.party_size + "人）　車両の予定 " + hm(q.planned_pickup) + " 迎え" }));
          $("book-btn").focus();
        } else {
          res.className = "quote warn-box";
          res.appendChild(el("p", { cls: "strong", text: "その時間は空いている車両がありません。" }));
          alternatives(res, q.alternatives);
          land(res);
        }
      },
      (err) => {
        if (overlapOffer(res, req, err)) return;
        show(res, false);
        showError("book-error", err);
      }
    ).finally(() => {
      busy($("quote-btn"), false);
      if (document.activeElement === document.body) land($("quote-btn")); // it was disabled while asking
    });
  }

  /* The rider already has a ride at that time (ride.overlaps): say which, and offer to book
     anyway (the operator knows, e.g. a mistaken earlier booking to be cancelled next). The same
     trip twice (ride.duplicate) is only explained. Returns whether it was an overlap. */
  function overlapOffer(res, req, err) {
    if (!err.data || err.data.code !== "ride.overlaps") return false;
    clear(res);
    show(res, true);
    res.className = "quote warn-box";
    res.removeAttribute("data-ride");
    res.appendChild(el("p", { cls: "strong", id: "overlap-text", text: say(err) }));
    const anyway = button("それでも予約する", () => {
      state.anyway = req;
      $("book-btn").disabled = false;
      $("book-btn").click();
    }, { id: "book-anyway" });
    res.appendChild(anyway);
    anyway.focus();
    return true;
  }

  /* Alternative pickup windows as buttons; one click quotes that time. */
  function alternatives(box, alts) {
    if (!alts || !alts.length) {
      box.appendChild(el("p", { text: "近い時間にも空きがありません。時刻か行き先を変えてためしてください。" }));
      return;
    }
    box.appendChild(el("p", { text: "この時間なら空いています（押すと見積もります）：" }));
    const row = el("div", { cls: "alts" });
    alts.forEach((a, i) => {
      row.appendChild(button("迎え " + hm(a.pickup_window.start) + "〜" + hm(a.pickup_window.end), () => {
        $("when-pickup").checked = true;
        $("when-time").disabled = false;
        $("when-time").value = hhmmOf(a.pickup_after);
        quote();
      }, { cls: "alt", "data-id": "alt-" + i }));
    });
    box.appendChild(row);
  }

  $("book-btn").addEventListener("click", () => {
    hideError("book-error");
    let req, key;
    if (state.retry) {
      req = state.retry.req; // the answer to this booking was lost: send the same again
      key = state.retry.key;
    } else if (state.anyway) {
      req = Object.assign({}, state.anyway, { book_anyway: true }); // after a ride.overlaps refusal
      state.anyway = null;
      key = newKey();
    } else {
      try { req = rideRequest(); } catch (e) { showError("book-error", e); return; }
      key = newKey();
    }
    busy($("book-btn"), true);
    const res = $("quote-result");
    api("POST", "/api/v1/rides", req, { "Idempotency-Key": key }).then(
      (ride) => {
        state.retry = null;
        invalidateQuote(false);
        clear(res);
        show(res, true);
        res.className = "quote ok-box";
        res.setAttribute("data-ride", String(ride.id));
        res.appendChild(el("p", { cls: "strong", text: "予約しました（予約番号 " + ride.id + "）。利用者にお伝えください：" }));
        res.appendChild(el("p", { cls: "big", id: "booked-window", text: dayPrefix(ride.pickup_window.start) + "迎え " + hm(ride.pickup_window.start) + "〜" + hm(ride.pickup_window.end) }));
        res.appendChild(el("p", { text: rideEnds(ride) + "　" + hm(ride.latest_arrival) + " までに到着" }));
        res.appendChild(el("p", { id: "booked-fare", text: ride.fare_text }));
        res.appendChild(el("p", { cls: "muted", text: "車両 " + (state.vehicleNames[ride.vehicle] || ride.vehicle || "―") }));
        $("book-btn").disabled = true;
        land(res);
        Operator.loadRides();
        Operator.refreshBoard();
      },
      (err) => {
        if (err.status === 0) {
          state.retry = { req: req, key: key };
          showError("book-error", err, "（もう一度「予約する」を押すと、同じ予約を送り直します。二重にはなりません）");
          $("book-btn").disabled = false;
          return;
        }
        state.retry = null;
        invalidateQuote(false);
        if (overlapOffer(res, req, err)) {
          $("book-btn").disabled = true;
        } else if (err.status === 409 && err.data.alternatives) {
          clear(res);
          show(res, true);
          res.className = "quote warn-box";
          res.removeAttribute("data-ride");
          res.appendChild(el("p", { cls: "strong", text: say(err) }));
          alternatives(res, err.data.alternatives);
          land(res);
          Operator.loadRides();
          Operator.refreshBoard();
        } else {
          showError("book-error", err);
          land($("book-error"));
        }
      }
    ).finally(() => $("book-btn").classList.remove("busy"));
  });

  Object.assign(Operator, { fillPlaceSelects, resetBooking, renderFavourites, rideEnds, showBookingDay });
})();
