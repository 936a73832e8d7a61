/* Building page elements for the phone pages (residents', drivers', field staff's): text only
 * through textContent (never HTML from the server), handlers through addEventListener (the CSP
 * allows no inline script). */
"use strict";

var NoriaiDom = (function () {
  /* el("p", {cls, text, onclick, "data-id", disabled: true}, [children]) */
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") e.textContent = v;
      else if (k === "cls") e.className = v;
      else if (k.slice(0, 2) === "on" && typeof v === "function") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  /* A full-width button: a label, and an optional smaller second line (opts.sub). */
  function button(label, onclick, opts) {
    opts = opts || {};
    var kids = [el("span", { cls: "label", text: label })];
    if (opts.sub) kids.push(el("span", { cls: "sub", text: opts.sub }));
    return el("button", {
      type: opts.type || "button", cls: "btn " + (opts.cls || ""), "data-id": opts.id,
      disabled: opts.disabled, onclick: onclick
    }, kids);
  }

  return { el: el, button: button };
})();
