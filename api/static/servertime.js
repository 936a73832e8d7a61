/* The server's clock and time zone for the pages (TV, phone): every time a page shows or sends is
 * the tenant's local time as the server states it, never the device's own clock or zone.
 * NoriaiTime.sync(iso) with the server's "now" (an ISO-8601 instant with offset) sets both. */
"use strict";

var NoriaiTime = (function () {
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

  /* Local wall-clock parts of an instant in the tenant's zone. */
  function parts(d) {
    var sign = zone[0] === "-" ? -1 : 1;
    var mins = sign * (parseInt(zone.slice(1, 3), 10) * 60 + parseInt(zone.slice(4, 6), 10));
    var t = new Date(d.getTime() + mins * 60000);
    return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes() };
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  /* "8:05" */
  function hhmm(d) { var p = parts(d); return p.h + ":" + pad(p.mi); }
  /* The instant as local ISO with the tenant's offset, to the minute. */
  function iso(d) {
    var p = parts(d);
    return p.y + "-" + pad(p.mo) + "-" + pad(p.d) + "T" + pad(p.h) + ":" + pad(p.mi) + ":00" + zone;
  }
  /* Today (by the server) at "HH:MM" local, as a Date. */
  function at(hm) {
    var p = parts(now());
    return new Date(p.y + "-" + pad(p.mo) + "-" + pad(p.d) + "T" + hm + ":00" + zone);
  }
  /* "08:30" or an ISO instant -> "8:30" */
  function short(s) {
    if (!s) return "";
    if (s.length > 5) s = s.slice(11, 16);
    return s.replace(/^0/, "");
  }
  function yen(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "円"; }

  return { parse: parse, sync: sync, now: now, parts: parts, pad: pad, hhmm: hhmm, iso: iso, at: at, short: short, yen: yen };
})();
