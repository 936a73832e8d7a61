/* The service area as a map the operator points at (no map tiles, nothing from outside): an inline
 * SVG drawn from GET /api/v1/service-area — the area's polygons (outside greyed), its roads when the
 * municipality routes on an OpenStreetMap file, its places and community halls with their names.
 *
 * Operator.serviceArea() loads the area once per session (state.area). Operator.ServiceMap.create(
 * container, area, {onPick(lat, lon, inside)}) draws a map in `container` and returns
 * {setPoint(lat, lon), clearPoint(), inside(lat, lon), nearestHall(lat, lon), fit(), redraw()}.
 * A click picks a point (a drag pans, the wheel or ＋／− zooms); the marker shows the point, red
 * with a cross when it lies outside the area. Everything is drawn in screen pixels (the SVG has no
 * scaling viewBox), so labels keep their size at every zoom and overlapping labels are left out.
 * Coordinates are WGS84 degrees; distances metres.
 * ES5 (kept to the oldest dialect; the console itself may use ES2017).
 */
"use strict";

(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var M_PER_DEG = 111320;
  var LABEL_PX = 13;
  var KIND_RANK = { community_hall: 0, hospital: 1, station: 2, city_hall: 3, clinic: 4, supermarket: 5 };

  function svg(tag, attrs, parent) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    if (parent) parent.appendChild(e);
    return e;
  }

  /* GET /api/v1/service-area, once per session. */
  function serviceArea() {
    var state = Operator.state;
    if (!state.areaPromise) {
      state.areaPromise = Operator.api("GET", "/api/v1/service-area").then(function (a) {
        state.area = a;
        return a;
      }, function (err) {
        state.areaPromise = null;
        throw err;
      });
    }
    return state.areaPromise;
  }

  /* Whether a point lies in a polygon of [lat, lon] corners (ray casting). */
  function inPolygon(lat, lon, poly) {
    var inside = false;
    for (var i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      var yi = poly[i][0], xi = poly[i][1], yj = poly[j][0], xj = poly[j][1];
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function distanceM(aLat, aLon, bLat, bLon) {
    var k = Math.cos(((aLat + bLat) / 2) * Math.PI / 180);
    var dx = (bLon - aLon) * k * M_PER_DEG, dy = (bLat - aLat) * M_PER_DEG;
    return Math.sqrt(dx * dx + dy * dy);
  }

  function create(container, area, opts) {
    opts = opts || {};
    var b = area.bounds;
    var lat0 = (b.south + b.north) / 2, lon0 = (b.west + b.east) / 2;
    var kx = Math.cos(lat0 * Math.PI / 180) * M_PER_DEG;
    var view = { cx: 0, cy: 0, s: 1 }; // centre (projected metres) and pixels per metre
    var point = null; // {lat, lon}
    var W = 0, H = 0, fitted = false;

    NoriaiDom.clear(container);
    container.classList.add("servicemap");
    var root = svg("svg", { role: "img", "aria-label": "サービス区域の地図（クリックで場所を選ぶ）", class: "map-svg" }, container);
    var tools = NoriaiDom.el("div", { cls: "map-tools" }, [
      NoriaiDom.el("button", { type: "button", cls: "map-btn", title: "拡大", "aria-label": "拡大", text: "＋", "data-id": "map-zoom-in", on: { click: function () { zoomBy(1.6); } } }),
      NoriaiDom.el("button", { type: "button", cls: "map-btn", title: "縮小", "aria-label": "縮小", text: "－", "data-id": "map-zoom-out", on: { click: function () { zoomBy(1 / 1.6); } } }),
      NoriaiDom.el("button", { type: "button", cls: "map-btn wide", title: "区域全体を表示", text: "全体", "data-id": "map-fit", on: { click: function () { fit(); } } }),
    ]);
    container.appendChild(tools);

    function project(lat, lon) { return { x: (lon - lon0) * kx, y: -(lat - lat0) * M_PER_DEG }; }
    function toScreen(lat, lon) {
      var p = project(lat, lon);
      return { x: W / 2 + (p.x - view.cx) * view.s, y: H / 2 + (p.y - view.cy) * view.s };
    }
    function fromScreen(x, y) {
      var px = view.cx + (x - W / 2) / view.s, py = view.cy + (y - H / 2) / view.s;
      return { lat: lat0 - py / M_PER_DEG, lon: lon0 + px / kx };
    }

    function measure() {
      var r = root.getBoundingClientRect();
      W = Math.max(1, Math.round(r.width));
      H = Math.max(1, Math.round(r.height));
    }

    function fit() {
      measure();
      if (W <= 1 || H <= 1) return; // not on screen yet: fitted when it is
      fitted = true;
      var a = project(b.north, b.west), c = project(b.south, b.east);
      view.cx = (a.x + c.x) / 2;
      view.cy = (a.y + c.y) / 2;
      view.s = Math.min(W / Math.max(1, c.x - a.x), H / Math.max(1, c.y - a.y)) * 0.94;
      redraw();
    }

    function zoomBy(f, atX, atY) {
      if (atX === undefined) { atX = W / 2; atY = H / 2; }
      var before = fromScreen(atX, atY);
      view.s = Math.max(0.002, Math.min(2, view.s * f));
      var p = project(before.lat, before.lon);
      view.cx = p.x - (atX - W / 2) / view.s;
      view.cy = p.y - (atY - H / 2) / view.s;
      redraw();
    }

    function ring(poly) {
      return poly.map(function (c, i) {
        var s = toScreen(c[0], c[1]);
        return (i ? "L" : "M") + s.x.toFixed(1) + " " + s.y.toFixed(1);
      }).join("") + "Z";
    }

    function roadsPath(major) {
      var d = [];
      area.roads.forEach(function (r) {
        if (r.major !== major) return;
        var a = toScreen(r.points[0][0], r.points[0][1]);
        for (var i = 1; i < r.points.length; i++) {
          var c = toScreen(r.points[i][0], r.points[i][1]);
          if ((a.x < 0 && c.x < 0) || (a.y < 0 && c.y < 0) || (a.x > W && c.x > W) || (a.y > H && c.y > H)) { a = c; continue; }
          d.push("M" + a.x.toFixed(1) + " " + a.y.toFixed(1) + "L" + c.x.toFixed(1) + " " + c.y.toFixed(1));
          a = c;
        }
      });
      return d.join("");
    }

    function redraw() {
      if (!W || !H) measure();
      while (root.firstChild) root.removeChild(root.firstChild);
      root.setAttribute("width", W);
      root.setAttribute("height", H);
      // outside the area greyed: the whole box with the area's polygons cut out
      svg("path", {
        d: "M-10 -10H" + (W + 10) + "V" + (H + 10) + "H-10Z" + area.areas.map(function (a) { return ring(a.polygon); }).join(""),
        "fill-rule": "evenodd", class: "map-outside",
      }, root);
      area.areas.forEach(function (a) {
        svg("path", { d: ring(a.polygon), class: "map-area" }, root);
      });
      if (area.roads.length) {
        svg("path", { d: roadsPath(false), class: "map-road" }, root);
        svg("path", { d: roadsPath(true), class: "map-road major" }, root);
      }
      var taken = []; // screen boxes of what is drawn on top: labels keep clear of them
      if (point) {
        var m = toScreen(point.lat, point.lon);
        taken.push({ x: m.x - 12, y: m.y - 12, w: 24, h: 24 });
      }
      drawHome(taken);
      drawPlaces(taken);
      drawPoint();
    }

    function clashes(box, taken) {
      return taken.some(function (t) {
        return box.x < t.x + t.w && t.x < box.x + box.w && box.y < t.y + t.h && t.y < box.y + box.h;
      });
    }

    /* Places as marks; names where they do not overlap one another (halls first), on the right of
       the mark or else on its left. */
    function drawPlaces(taken) {
      var places = area.places.slice().sort(function (p, q) {
        var rp = KIND_RANK[p.kind] === undefined ? 9 : KIND_RANK[p.kind];
        var rq = KIND_RANK[q.kind] === undefined ? 9 : KIND_RANK[q.kind];
        return rp - rq;
      });
      var marks = svg("g", { class: "map-places" }, root);
      var labels = svg("g", { class: "map-labels" }, root);
      places.forEach(function (p) {
        var s = toScreen(p.lat, p.lon);
        if (s.x < -20 || s.y < -20 || s.x > W + 20 || s.y > H + 20) return;
        var hall = p.kind === "community_hall";
        if (hall) svg("rect", { x: s.x - 5, y: s.y - 5, width: 10, height: 10, class: "map-hall", "data-place": p.id }, marks);
        else svg("circle", { cx: s.x, cy: s.y, r: 4, class: "map-place", "data-place": p.id }, marks);
        var w = p.name.length * LABEL_PX + 4, box = { x: s.x + 8, y: s.y - LABEL_PX / 2 - 2, w: w, h: LABEL_PX + 4 };
        if (box.x + box.w > W - 50 || clashes(box, taken)) box.x = s.x - 8 - w; // else on the left
        if (clashes(box, taken) || box.x < 0 || box.y < 0 || box.y + box.h > H) return;
        taken.push(box);
        svg("text", {
          x: box.x + 2, y: s.y + LABEL_PX / 2 - 1, class: "map-label" + (hall ? " hall" : ""), text: p.name,
        }, labels);
      });
    }

    /* The home a household has now (moving house): a white diamond named 「今の家」. */
    function drawHome(taken) {
      if (!opts.home) return;
      var s = toScreen(opts.home.lat, opts.home.lon);
      var label = opts.home.label || "今の家";
      var g = svg("g", { class: "map-home-mark", "data-id": "map-home" }, root);
      svg("path", { d: "M" + s.x + " " + (s.y - 8) + "L" + (s.x + 8) + " " + s.y + "L" + s.x + " " + (s.y + 8) + "L" + (s.x - 8) + " " + s.y + "Z", class: "map-home" }, g);
      var box = { x: s.x + 10, y: s.y - LABEL_PX / 2 - 2, w: label.length * LABEL_PX + 4, h: LABEL_PX + 4 };
      if (clashes(box, taken)) box.x = s.x - 10 - box.w;
      svg("text", { x: box.x + 2, y: s.y + LABEL_PX / 2 - 1, class: "map-label home", text: label }, g);
      taken.push({ x: s.x - 9, y: s.y - 9, w: 18, h: 18 }, box);
    }

    function drawPoint() {
      if (!point) return;
      var s = toScreen(point.lat, point.lon);
      var ok = inside(point.lat, point.lon);
      var g = svg("g", { class: "map-marker" + (ok ? "" : " outside"), "data-id": "map-marker", "data-inside": ok ? "1" : "0" }, root);
      svg("circle", { cx: s.x, cy: s.y, r: 11, class: "map-marker-ring" }, g);
      svg("circle", { cx: s.x, cy: s.y, r: 5, class: "map-marker-dot" }, g);
      if (!ok) {
        svg("path", { d: "M" + (s.x - 6) + " " + (s.y - 6) + "L" + (s.x + 6) + " " + (s.y + 6) + "M" + (s.x + 6) + " " + (s.y - 6) + "L" + (s.x - 6) + " " + (s.y + 6), class: "map-marker-cross" }, g);
      }
    }

    function inside(lat, lon) {
      return area.areas.some(function (a) { return inPolygon(lat, lon, a.polygon); });
    }

    /* The community hall nearest to a point: {place, metres}, or null. */
    function nearestHall(lat, lon) {
      var best = null;
      area.places.forEach(function (p) {
        if (p.kind !== "community_hall") return;
        var d = distanceM(lat, lon, p.lat, p.lon);
        if (!best || d < best.metres) best = { place: p, metres: d };
      });
      return best;
    }

    // ---- pointer: a click picks, a drag pans, the wheel zooms ----
    var drag = null;
    root.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY, cx: view.cx, cy: view.cy, moved: false };
      root.setPointerCapture(ev.pointerId);
    });
    root.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) return;
      drag.moved = true;
      root.classList.add("panning");
      view.cx = drag.cx - dx / view.s;
      view.cy = drag.cy - dy / view.s;
      if (!drag.frame) {
        drag.frame = requestAnimationFrame(function () { if (drag) drag.frame = 0; redraw(); });
      }
    });
    root.addEventListener("pointerup", function (ev) {
      if (!drag) return;
      var moved = drag.moved;
      drag = null;
      root.classList.remove("panning");
      if (moved) { redraw(); return; }
      var r = root.getBoundingClientRect();
      var at = fromScreen(ev.clientX - r.left, ev.clientY - r.top);
      var lat = Math.round(at.lat * 1e6) / 1e6, lon = Math.round(at.lon * 1e6) / 1e6;
      setPoint(lat, lon);
      if (opts.onPick) opts.onPick(lat, lon, inside(lat, lon));
    });
    root.addEventListener("pointercancel", function () { drag = null; root.classList.remove("panning"); });
    root.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = root.getBoundingClientRect();
      zoomBy(ev.deltaY < 0 ? 1.25 : 0.8, ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });

    function setPoint(lat, lon) {
      point = { lat: lat, lon: lon };
      var s = toScreen(lat, lon);
      if (s.x < 0 || s.y < 0 || s.x > W || s.y > H) { // off screen: bring it into view
        var p = project(lat, lon);
        view.cx = p.x;
        view.cy = p.y;
      }
      redraw();
    }
    function clearPoint() { point = null; redraw(); }

    // a hidden map (another tab) keeps its view; shown or resized again, it redraws as it was
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = W, h = H;
        measure();
        if (W <= 1 || H <= 1 || (w === W && h === H)) return;
        if (fitted) redraw(); else fit();
      }).observe(root);
    }
    fit();

    return {
      setPoint: setPoint, clearPoint: clearPoint, inside: inside, nearestHall: nearestHall, fit: fit, redraw: redraw,
      zoomTo: function (lat, lon, metresAcross) {
        measure();
        var p = project(lat, lon);
        view.cx = p.x;
        view.cy = p.y;
        view.s = W / metresAcross;
        redraw();
      },
    };
  }

  Operator.serviceArea = serviceArea;
  Operator.ServiceMap = { create: create, inPolygon: inPolygon, distanceM: distanceM };
})();
