/* What a refused or failed request says to people, for every page: the one problem renderer.
 *
 * The server states every problem (RFC 9457) with a stable `code` and `message_ja`, plain Japanese
 * chosen by that code with its parameters filled in. That is the lead. When no problem document
 * came back, the lead is a generic sentence chosen by the HTTP status (0 = no answer). Nothing here
 * reads the English `detail` to guess what happened.
 *
 * Nothing English is shown on any page: staff pages read message_ja too (its parameters, e.g. order
 * numbers or a cut-off time, are filled in by the server in Japanese); the English `detail` stays in
 * the problem document for logs and API clients. On the residents' pages (opts.resident) `detail`
 * is already plain Japanese and is the lead when message_ja is missing.
 *
 * Options (every function): resident; texts {status: sentence, other} to word a page's generic
 * leads (its own buttons, its own phone number), which stand in only where no problem document came
 * back (no answer, a proxy's error page). An Error made on the page (no `status`) says its own
 * message when that is Japanese (a script error's English reads as the generic `other`).
 * ES5 (the set-top box and old phones load this file).
 */
"use strict";

var NoriaiProblem = (function () {
  var el = NoriaiDom.el;

  var TEXTS = {
    0: "通信できません。電波のよい所で、もう一度ためしてください。",
    400: "送った内容を読めませんでした。もう一度ためしてください。",
    401: "サインインしてください。",
    403: "この操作をする権限がありません。",
    404: "見つかりませんでした。画面を更新して、もう一度選んでください。",
    409: "いまはその操作ができません（状態が変わっています）。",
    422: "送った内容に問題があります。",
    429: "操作が多すぎます。{seconds}秒ほど待ってから、もう一度ためしてください。",
    500: "サーバーでエラーが起きました。何も変わっていません。しばらくしてから、もう一度ためしてください。",
    other: "うまくいきませんでした。もう一度ためしてください。"
  };

  function data(err) { return (err && err.data) || {}; }
  function fromServer(err) { return !!err && typeof err.status === "number"; }

  /* The generic lead of a status: the page's wording first, then ours. */
  function byStatus(err, opts) {
    var texts = opts.texts || {};
    var s = err.status;
    var key = s >= 500 ? 500 : s;
    var t = texts[s] || texts[key] || TEXTS[key] || texts.other || TEXTS.other;
    return t.replace("{seconds}", String(data(err).retry_after_seconds || 60));
  }

  /* The Japanese sentence that leads. */
  function lead(err, opts) {
    opts = opts || {};
    if (!fromServer(err)) { // the page's own words; a script error's English is never shown
      var own = (err && err.message) || "";
      return /[\u3040-\u30ff\u4e00-\u9fff]/.test(own) ? own : (opts.texts && opts.texts.other) || TEXTS.other;
    }
    var p = data(err);
    if (p.message_ja) return p.message_ja;
    if (err.status === 0) return byStatus(err, opts);
    if (opts.resident && p.detail) return p.detail;
    return byStatus(err, opts);
  }

  /* More words under the lead: none. The English `detail` and field messages are never shown
   * (staff pages once showed them; issue 20), message_ja already names each refused field. Kept so
   * that callers of detail()/detailNode() need no change. */
  function detail() { return ""; }

  /* One line: the lead, and the server's words in brackets. */
  function text(err, opts) {
    var d = detail(err, opts);
    return lead(err, opts) + (d ? "（" + d + "）" : "");
  }

  /* The server's words as a smaller second line (lang="en"; opts.prefix e.g. "サーバー: "). */
  function detailNode(err, opts, tag) {
    var d = detail(err, opts);
    if (!d) return null;
    return el(tag || "span", { cls: "detail", lang: "en", "data-id": "detail", text: (opts && opts.prefix || "") + d });
  }

  /* Fill a message element of a desk page (<p class="error">): the lead (and `more`, a page's
   * own words after it), the detail below. */
  function fill(node, err, opts, more) {
    NoriaiDom.clear(node);
    node.appendChild(document.createTextNode(lead(err, opts) + (more || "")));
    var d = detailNode(err, opts);
    if (d) node.appendChild(d);
    node.hidden = false;
    return node;
  }

  /* A box of a phone page (div.box.error[data-id=problem]). opts.context: what did not happen
   * ("中止できませんでした。"), shown first; then the lead; then the detail. opts.id; opts.tag
   * ("p": a paragraph per line). */
  function box(err, opts) {
    opts = opts || {};
    var kids = [];
    if (opts.context) {
      kids.push(el("strong", { cls: "lead", text: opts.context }));
      kids.push(el(opts.tag || "span", { cls: "why", text: lead(err, opts) }));
    } else {
      kids.push(el(opts.tag || "strong", { cls: "lead", text: lead(err, opts) }));
    }
    kids.push(detailNode(err, opts, opts.tag));
    return el("div", { cls: "box error", role: "alert", id: opts.id, "data-id": opts.dataId || "problem" }, kids);
  }

  /* An Error that reads like a problem from the server (a refusal the page itself decides). */
  function make(status, messageJa, code) {
    var err = new Error(messageJa);
    err.status = status;
    err.data = { code: code, message_ja: messageJa };
    return err;
  }

  return { lead: lead, detail: detail, text: text, fill: fill, box: box, make: make, TEXTS: TEXTS };
})();
