/* Building page elements, for every page: text only through textContent (never HTML from the
 * server), handlers through addEventListener (the CSP allows no inline script).
 * ES5: the set-top box and old phones load this file. */
"use strict";

var NoriaiDom = (function () {
  /* el("p", {cls, text, onclick: fn, on: {input: fn}, "data-id": "x", disabled: true}, [children])
   * An attribute that is null, undefined or false is left out; true is an empty attribute. */
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") e.textContent = v;
      else if (k === "cls") e.className = v;
      else if (k === "on") Object.keys(v).forEach(function (ev) { e.addEventListener(ev, v[ev]); });
      else if (k.slice(0, 2) === "on" && typeof v === "function") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  /* A full-width button of the phone pages: a label, and an optional smaller second line (opts.sub). */
  function button(label, onclick, opts) {
    opts = opts || {};
    var kids = [el("span", { cls: "label", text: label })];
    if (opts.sub) kids.push(el("span", { cls: "sub", text: opts.sub }));
    return el("button", {
      type: opts.type || "button", cls: "btn " + (opts.cls || ""), "data-id": opts.id,
      disabled: opts.disabled, onclick: onclick
    }, kids);
  }

  /* Empty a node; returns it. */
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /* Put `node` where `old` is (an old browser may lack Element.replaceWith). */
  function swap(old, node) {
    if (old.parentNode) old.parentNode.replaceChild(node, old);
    return node;
  }

  return { el: el, button: button, clear: clear, swap: swap };
})();
