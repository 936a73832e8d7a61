/* Small SVG charts drawn in the page (nothing loaded from outside): vertical bars with an optional
   line on a 0-100 % axis, horizontal bars, stacked vertical bars. Each chart is an <svg> with a
   <title>, one <rect class="bar"> per value (data-value holds the number) and value labels, so
   it reads without colour and prints in black and white. */
"use strict";

const NoriaiCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#1f5fa8", "#d9822b", "#2e7d32", "#8e44ad"];

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach((k) => e.setAttribute(k, attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svg(width, height, title) {
    const s = el("svg", { viewBox: "0 0 " + width + " " + height, role: "img", width: "100%",
                          preserveAspectRatio: "xMinYMin meet", class: "svgchart" });
    s.appendChild(el("title", {}, title));
    return s;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const n = v / p;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "X";
    return Math.abs(v - Math.round(v)) < 1e-9 ? String(Math.round(v)) : v.toFixed(1);
  }

  function empty(host, message) {
    host.replaceChildren();
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = message;
    host.appendChild(p);
  }

  /* bars: {labels, series: [{name, values}], stacked, line: {name, values (0..1)}, unit} */
  function columns(host, opts) {
    const n = opts.labels.length;
    if (!n) return empty(host, "この期間の記録はありません。");
    const W = 900, H = 300, L = 52, R = opts.line ? 52 : 16, T = 24, B = 64;
    const plotW = W - L - R, plotH = H - T - B;
    const totals = opts.labels.map((_, i) =>
      opts.stacked ? opts.series.reduce((s, ser) => s + (ser.values[i] || 0), 0)
                   : Math.max.apply(null, opts.series.map((ser) => ser.values[i] || 0)));
    const max = niceMax(Math.max.apply(null, totals.concat([0])));
    const s = svg(W, H, opts.title);
    for (let k = 0; k <= 4; k++) {
      const y = T + plotH - (plotH * k) / 4;
      s.appendChild(el("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
      s.appendChild(el("text", { x: L - 6, y: y + 4, class: "axis", "text-anchor": "end" }, fmt((max * k) / 4)));
      if (opts.line) {
        s.appendChild(el("text", { x: W - R + 6, y: y + 4, class: "axis" }, (25 * k) + "%"));
      }
    }
    const slot = plotW / n;
    const groups = opts.stacked ? 1 : opts.series.length;
    const bw = Math.max(2, Math.min(48, (slot * 0.7) / groups));
    const every = Math.ceil(n / 16);
    opts.labels.forEach((label, i) => {
      let base = 0;
      opts.series.forEach((ser, j) => {
        const v = ser.values[i] || 0;
        const h = (plotH * v) / max;
        const x = L + slot * i + (slot - bw * groups) / 2 + (opts.stacked ? 0 : j * bw);
        const y = T + plotH - h - (opts.stacked ? (plotH * base) / max : 0);
        const r = el("rect", { x: x, y: y, width: bw, height: Math.max(h, 0), fill: COLORS[j % COLORS.length],
                               class: "bar", "data-series": ser.name, "data-label": label, "data-value": v });
        r.appendChild(el("title", {}, label + " " + ser.name + ": " + fmt(v) + (opts.unit || "")));
        s.appendChild(r);
        if (opts.stacked) base += v;
      });
      const top = T + plotH - (plotH * totals[i]) / max;
      if (n <= 31) {
        s.appendChild(el("text", { x: L + slot * i + slot / 2, y: top - 4, class: "value", "text-anchor": "middle" },
                         fmt(totals[i])));
      }
      if (i % every === 0 || i === n - 1) {
        s.appendChild(el("text", { x: L + slot * i + slot / 2, y: H - B + 16, class: "axis", "text-anchor": "end",
                                   transform: "rotate(-35 " + (L + slot * i + slot / 2) + " " + (H - B + 16) + ")" },
                         label.replace(/（.）$/, "")));
      }
    });
    if (opts.line) {
      const pts = [];
      opts.line.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        const x = L + slot * i + slot / 2, y = T + plotH - plotH * v;
        pts.push(x + "," + y);
        const c = el("circle", { cx: x, cy: y, r: 4, class: "dot", "data-value": v });
        c.appendChild(el("title", {}, opts.labels[i] + " " + opts.line.name + ": " + (v * 100).toFixed(1) + "%"));
        s.appendChild(c);
      });
      if (pts.length > 1) s.appendChild(el("polyline", { points: pts.join(" "), class: "line" }));
    }
    legend(s, opts.series.map((x) => x.name), opts.line ? opts.line.name : null, L, 14);
    host.replaceChildren(s);
  }

  function legend(s, names, lineName, x, y) {
    names.forEach((name, j) => {
      s.appendChild(el("rect", { x: x, y: y - 10, width: 12, height: 12, fill: COLORS[j % COLORS.length] }));
      s.appendChild(el("text", { x: x + 16, y: y, class: "legend" }, name));
      x += 24 + name.length * 13;
    });
    if (lineName) {
      s.appendChild(el("line", { x1: x, x2: x + 18, y1: y - 4, y2: y - 4, class: "line" }));
      s.appendChild(el("text", { x: x + 24, y: y, class: "legend" }, lineName + "（右目盛り）"));
    }
  }

  /* horizontal bars: {labels, values (null = suppressed), unit, width (of the drawing, default 900)} */
  function rows(host, opts) {
    const n = opts.labels.length;
    if (!n) return empty(host, "この期間の記録はありません。");
    const W = opts.width || 900, rowH = 26, T = 8, L = Math.min(190, W / 3), R = 80;
    const H = T * 2 + rowH * n;
    const max = niceMax(Math.max.apply(null, opts.values.map((v) => v || 0).concat([0])));
    const s = svg(W, H, opts.title);
    opts.labels.forEach((label, i) => {
      const v = opts.values[i];
      const y = T + rowH * i;
      s.appendChild(el("text", { x: L - 8, y: y + rowH / 2 + 5, class: "axis", "text-anchor": "end" }, label));
      const w = v ? ((W - L - R) * v) / max : 0;
      const r = el("rect", { x: L, y: y + 4, width: w, height: rowH - 8, fill: COLORS[0], class: "bar",
                             "data-label": label, "data-value": v === null ? "" : v });
      r.appendChild(el("title", {}, label + ": " + fmt(v) + (opts.unit || "")));
      s.appendChild(r);
      s.appendChild(el("text", { x: L + w + 6, y: y + rowH / 2 + 5, class: "value" },
                       v === null ? "X（秘匿）" : fmt(v) + (opts.unit || "")));
    });
    host.replaceChildren(s);
  }

  return { columns: columns, rows: rows };
})();
