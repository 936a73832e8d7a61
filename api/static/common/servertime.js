/* The server's clock and time zone, for every page: every time a page shows or sends is the
 * tenant's local time as the server states it, never the device's own clock or zone.
 *
 * NoriaiTime.sync(iso) with the server's "now" (an ISO-8601 instant with the tenant's offset, as
 * /api/v1/me, the board and the manifest give it) sets both; NoriaiTime.syncFromServer(zone) asks
 * GET /healthz (which states the instant in UTC) and writes it in the tenant's zone (an IANA name,
 * from <meta name="noriai-timezone">). ES5 (the set-top box and old phones load this file).
 */
"use strict";

var NoriaiTime = (function () {
  var WEEKDAYS = "日月火水木金土";
  var offsetMs = 0; // server clock minus this device's clock
  var zone = "+09:00";

  /* An ISO instant (it may carry microseconds) as a Date; fractions cut to milliseconds. */
  function parse(iso) { return new Date(String(iso).replace(/(\.\d{3})\d+/, "$1")); }

  function sync(nowIso) {
    var m = /([+-]\d{2}:\d{2})$/.exec(nowIso);
    zone = m ? m[1] : "+00:00";
    offsetMs = parse(nowIso).getTime() - Date.now();
  }

  function now() { return new Date(Date.now() + offsetMs); }

  /* Local wall-clock parts of an instant in the tenant's zone (wd: 0 = Sunday). */
  function parts(d) {
    var sign = zone[0] === "-" ? -1 : 1;
    var mins = sign * (parseInt(zone.slice(1, 3), 10) * 60 + parseInt(zone.slice(4, 6), 10));
    var t = new Date(d.getTime() + mins * 60000);
    return {
      y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(),
      h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds(), wd: t.getUTCDay()
    };
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  /* "8:05" */
  function hhmm(d) { var p = parts(d); return p.h + ":" + pad(p.mi); }
  /* "2026-11-24": the server's today, or the day of `d`. */
  function today(d) { var p = parts(d || now()); return p.y + "-" + pad(p.mo) + "-" + pad(p.d); }
  /* The instant as local ISO with the tenant's offset, to the minute (to the second with `seconds`). */
  function iso(d, seconds) {
    var p = parts(d);
    return today(d) + "T" + pad(p.h) + ":" + pad(p.mi) + ":" + (seconds ? pad(p.s) : "00") + zone;
  }
  /* Today (by the server) at "HH:MM" local, as a Date. */
  function at(hm) { return new Date(today() + "T" + hm + ":00" + zone); }
  /* "08:30" or an ISO instant -> "8:30" */
  function short(s) {
    if (!s) return "";
    if (s.length > 5) s = s.slice(11, 16);
    return s.replace(/^0/, "");
  }
  /* "2026-11-24" (or a Date, by the server's zone) -> "11月24日（火）" */
  function dayLabel(day) {
    var y, m, d;
    if (typeof day === "string") {
      y = +day.slice(0, 4); m = +day.slice(5, 7); d = +day.slice(8, 10);
    } else {
      var p = parts(day || now());
      y = p.y; m = p.mo; d = p.d;
    }
    return m + "月" + d + "日（" + WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()] + "）";
  }
  /* 1234 -> "1,234円"; nothing -> "―" */
  function yen(n) {
    if (n === null || n === undefined) return "―";
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "円";
  }

  /* The same instant written with an IANA zone's offset: "...T02:05:00+00:00" -> "...T11:05:00+09:00". */
  function inZone(isoText, zoneName) {
    var d = parse(isoText);
    try {
      var f = {};
      new Intl.DateTimeFormat("en-US", {
        timeZone: zoneName, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit"
      }).formatToParts(d).forEach(function (p) { f[p.type] = p.value; });
      var wall = Date.UTC(+f.year, +f.month - 1, +f.day, +f.hour, +f.minute, +f.second);
      var mins = Math.round((wall - Math.floor(d.getTime() / 1000) * 1000) / 60000);
      var sign = mins < 0 ? "-" : "+";
      mins = Math.abs(mins);
      var ms = d.getTime() % 1000;
      return f.year + "-" + f.month + "-" + f.day + "T" + f.hour + ":" + f.minute + ":" + f.second + "." +
        ("00" + ms).slice(-3) + sign + pad(Math.floor(mins / 60)) + ":" + pad(mins % 60);
    } catch (e) {
      return isoText; // no Intl time zones here: the instant in UTC is still the server's
    }
  }

  /* Sync from GET /healthz; the zone is the page's <meta name="noriai-timezone"> unless given.
   * A failure keeps the last offset. */
  function syncFromServer(zoneName) {
    var meta = document.querySelector('meta[name="noriai-timezone"]');
    var name = zoneName || (meta && meta.content) || "Asia/Tokyo";
    return NoriaiApi.client().request("GET", "/healthz").then(function (h) {
      sync(inZone(h.now, name));
    }, function () { /* keep the last offset */ });
  }

  return {
    parse: parse, sync: sync, syncFromServer: syncFromServer, now: now, parts: parts, pad: pad,
    hhmm: hhmm, today: today, iso: iso, at: at, short: short, dayLabel: dayLabel, yen: yen, inZone: inZone
  };
})();
