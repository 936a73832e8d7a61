/* The one API client of every page: a bearer token, JSON in and out, problem details as errors.
 *
 *   var api = NoriaiApi.client({ token: function () { return state.token; }, onUnauthorized: fn, timeout: ms });
 *   api.request("POST", "/api/v1/rides", body, { headers: {"Idempotency-Key": k} }).then(data, err)
 *
 * A refused request rejects with an Error carrying `status` (the HTTP status) and `data` (the
 * problem document, RFC 9457: code, message_ja, detail, errors and any other member; {} when the
 * answer was not JSON); `message` is the server's `detail`. A request that never got an answer
 * (no network, or no answer within `timeout`) rejects with status 0. A 401 to a request that
 * carried a token calls onUnauthorized(err) and marks the error `handled` (the page signs in again).
 * What the error says to people: problem.js. ES5 (the set-top box and old phones load this file).
 *
 * NoriaiApi.tenant(): the page's municipality (<html data-tenant>, set by the server for
 * /t/<id>/... and for the only municipality of the plain pages), or null. Requests that sign in
 * without a staff token send it (a new TV box, the phone's PIN, the staff sign-in).
 */
"use strict";

var NoriaiApi = (function () {
  function failure(status, data, fallback) {
    var err = new Error((data && data.detail) || fallback);
    err.status = status;
    err.data = data || {};
    return err;
  }

  function offline() {
    return failure(0, {}, "offline");
  }

  /* {a: 1, b: "x y"} -> "a=1&b=x%20y" (a form body without URLSearchParams, which old boxes lack). */
  function formBody(fields) {
    return Object.keys(fields).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(fields[k]);
    }).join("&");
  }

  /* Within `ms`, or a rejection (set-top box networks can hang without ever failing). */
  function within(promise, ms) {
    if (!ms) return promise;
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
      promise.then(function (v) { clearTimeout(timer); resolve(v); }, function (e) { clearTimeout(timer); reject(e); });
    });
  }

  /* The body of an answer: parsed JSON, or null when empty or not JSON. */
  function parse(text) {
    try { return text ? JSON.parse(text) : null; } catch (e) { return null; }
  }

  function client(opts) {
    opts = opts || {};
    var tokenOf = opts.token || function () { return null; };

    /* opts: headers {}, form {} (sent as application/x-www-form-urlencoded instead of `body`),
     * raw (resolve with the Response itself, for files), keep401 (a 401 does not sign out). */
    function request(method, path, body, ropts) {
      ropts = ropts || {};
      var headers = { "Accept": "application/json" };
      var token = ropts.token !== undefined ? ropts.token : tokenOf();
      if (token) headers["Authorization"] = "Bearer " + token;
      var payload;
      if (ropts.form) {
        headers["Content-Type"] = "application/x-www-form-urlencoded";
        payload = formBody(ropts.form);
      } else if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        payload = JSON.stringify(body);
      }
      Object.keys(ropts.headers || {}).forEach(function (k) { headers[k] = ropts.headers[k]; });
      var sent = within(fetch(path, { method: method, headers: headers, body: payload, cache: "no-store" }), opts.timeout);
      return sent.then(function (r) {
        if (r.ok && ropts.raw) return r;
        return r.text().then(function (t) {
          var data = parse(t);
          if (r.ok) return data;
          var err = failure(r.status, data, "HTTP " + r.status);
          if (r.status === 401 && token && !ropts.keep401 && opts.onUnauthorized) {
            err.handled = true; // the token expired or was revoked: the page signs in again
            opts.onUnauthorized(err);
          }
          throw err;
        });
      }, function () { throw offline(); });
    }

    /* A file the API serves behind the token, offered as a download; resolves with its name. */
    function download(path, fallbackName) {
      return request("GET", path, undefined, { raw: true }).then(function (r) {
        var m = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
        var name = m ? m[1] : fallbackName;
        return r.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = document.createElement("a");
          a.href = url;
          a.download = name;
          a.hidden = true;
          document.body.appendChild(a);
          a.click();
          document.body.removeChild(a);
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
          return name;
        });
      });
    }

    return { request: request, download: download };
  }

  /* A fresh Idempotency-Key: one per booking or order attempt, kept for its retries. */
  function newKey() {
    var c = window.crypto || window.msCrypto;
    var a = new Uint32Array(4);
    if (c && c.getRandomValues) c.getRandomValues(a);
    else for (var i = 0; i < 4; i++) a[i] = Math.floor(Math.random() * 4294967296) ^ Date.now();
    return Array.prototype.map.call(a, function (x) { return ("0000000" + x.toString(16)).slice(-8); }).join("-");
  }

  /* The page's municipality (its tenant id), or null where the page names none. */
  function tenant() {
    var id = document.documentElement.getAttribute("data-tenant");
    return id ? id : null;
  }

  /* `body` with the page's municipality as `tenant_id` (unchanged when the page names none). */
  function withTenant(body) {
    var out = {};
    Object.keys(body || {}).forEach(function (k) { out[k] = body[k]; });
    if (tenant()) out.tenant_id = tenant();
    return out;
  }

  return { client: client, newKey: newKey, formBody: formBody, tenant: tenant, withTenant: withTenant };
})();
