/* planner-map.js: the small runtime of the planner's Leaflet maps (medcommunity-planner, MIT).
 *
 * Every text shown comes pre-escaped from Python (html.escape) inside JSON data; this file only
 * builds icons from a fixed vocabulary (kind letter, grade level, flags, integer counts), binds
 * the given tooltip/popup HTML, places map names where they fit, fans out markers that share a
 * spot, and adds the panels, the base map, the scale and the language switch.
 */
(function (global) {
  "use strict";

  var GRADE = ["#6e6e6e", "#2b6cb0", "#e07b00", "#b3261e"];       // 未定级, 一级, 二级, 三级
  var LETTER = { h: "+", t: "\u4e2d", m: "\u5987", o: "H" };      // general, TCM (中), maternal-child (妇), other
  var NS = "http://www.w3.org/2000/svg";

  function level(p) {
    var g = Number(p.gl);
    return g >= 0 && g <= 3 ? Math.floor(g) : 0;
  }

  function count(p) {
    var n = Number(p.n);
    return isFinite(n) ? Math.max(0, Math.round(n)) : 0;
  }

  function svg(size, body) {
    return '<svg xmlns="' + NS + '" width="' + size + '" height="' + size + '" viewBox="0 0 ' + size + " " + size + '">' + body + "</svg>";
  }

  function star(cx, cy, r) {
    var pts = [];
    for (var i = 0; i < 10; i++) {
      var a = Math.PI / 2 + (i * Math.PI) / 5, rr = i % 2 === 0 ? r : r * 0.45;
      pts.push((cx + rr * Math.cos(a)).toFixed(1) + "," + (cy - rr * Math.sin(a)).toFixed(1));
    }
    return '<polygon points="' + pts.join(" ") + '" fill="#ffd400" stroke="#5a4500" stroke-width="0.8"/>';
  }

  // Marker HTML sits in a .pm-off wrapper: fanning out moves the wrapper, so the click target moves with it.
  function wrap(size, body) {
    return '<div class="pm-off">' + svg(size, body) + "</div>";
  }

  function facilityIcon(p) {
    var k = Object.prototype.hasOwnProperty.call(LETTER, p.fk) || p.fk === "c" || p.fk === "v" ? p.fk : "o";
    var fill = GRADE[level(p)], lead = p.lead === 1, small = p.sm === 1, bad = p.bad === 1, size, body;
    var cls = "pm-icon pm-fac pm-fk-" + k + (bad ? " pm-bad" : "");
    if (k === "v") {
      size = 9;
      body = '<circle cx="4.5" cy="4.5" r="3.5" fill="#2e7d32" stroke="#fff" stroke-width="1"/>';
    } else if (k === "c") {
      size = lead ? 26 : bad ? 18 : 14;
      var r = lead ? 9 : 5.5, c = size / 2;
      body = (bad ? '<circle cx="' + c + '" cy="' + c + '" r="' + (r + 2.5) + '" fill="none" stroke="#c62828" stroke-width="2.5"/>' : "") +
        '<circle cx="' + c + '" cy="' + c + '" r="' + r + '" fill="' + fill + '" stroke="' + (lead ? "#000" : "#fff") +
        '" stroke-width="' + (lead ? 2.5 : 1.5) + '"/>';
    } else {
      size = lead && !small ? 28 : small ? 16 : 18;
      var pad = lead && !small ? 3 : 2, w = size - 2 * pad, fs = lead && !small ? 14 : 9;
      body = '<rect x="' + pad + '" y="' + pad + '" width="' + w + '" height="' + w + '" rx="3" fill="' + fill + '" stroke="' +
        (lead ? "#000" : "#fff") + '" stroke-width="' + (lead ? (small ? 1.5 : 2.5) : 1.2) + '"/>' +
        '<text x="' + size / 2 + '" y="' + (size / 2 + fs * 0.36) + '" font-size="' + fs + '" font-weight="bold" text-anchor="middle" ' +
        'fill="#fff" font-family="Arial, \'Noto Sans CJK SC\', \'WenQuanYi Micro Hei\', \'Microsoft YaHei\', sans-serif">' + LETTER[k] + "</text>";
    }
    if (lead) {
      body += small ? star(size - 3, 3, 3.5) : star(size - 5, 5, 5);
      cls += " pm-lead";
    }
    if (p.dia === 1) {
      body += '<circle cx="' + (size - 3) + '" cy="' + (size - 3) + '" r="3" fill="#1565c0" stroke="#fff" stroke-width="1"/>';
    }
    return L.divIcon({ className: cls, html: wrap(size, body), iconSize: [size, size], iconAnchor: [size / 2, size / 2],
                       popupAnchor: [0, -size / 2], tooltipAnchor: [size / 2, 0] });
  }

  function dialysisIcon(p) {
    var fresh = p.st === "new", s = 22;
    var body = '<path d="M11 2 C11 2 4 10 4 14 a7 7 0 0 0 14 0 C18 10 11 2 11 2 Z" fill="' + (fresh ? "#1565c0" : "#ffffff") +
      '" stroke="#1565c0" stroke-width="2"/>' + (fresh ? '<path d="M11 10 v8 M7 14 h8" stroke="#fff" stroke-width="2"/>' : "");
    // Drawn beside the facility (to its upper right), so the facility's own marker stays visible and clickable.
    return L.divIcon({ className: "pm-icon pm-dia pm-dia-" + (fresh ? "new" : "old"), html: svg(s, body), iconSize: [s, s],
                       iconAnchor: [-9, s + 2], popupAnchor: [9 + s / 2, -s - 2], tooltipAnchor: [9 + s, -s / 2 - 2] });
  }

  // A problem marker: a red disc with "!" in the township of a center without its physician, a purple
  // square by the lead of a community short of experts (to the lead's upper left, clear of the lead).
  function shortIcon(p) {
    var exp = p.st === "exp", s = 22;
    var shape = exp ? '<rect x="2" y="2" width="18" height="18" rx="4" fill="#6a1b9a" stroke="#fff" stroke-width="2"/>'
                    : '<circle cx="11" cy="11" r="9" fill="#c62828" stroke="#fff" stroke-width="2"/>';
    var body = shape + '<text x="11" y="15.5" font-size="13" font-weight="bold" text-anchor="middle" fill="#fff" ' +
      'font-family="Arial, sans-serif">!</text>';
    return L.divIcon({ className: "pm-icon pm-short pm-short-" + (exp ? "exp" : "att"), html: svg(s, body), iconSize: [s, s],
                       iconAnchor: exp ? [s + 10, s + 6] : [s / 2, s / 2], tooltipAnchor: [0, -s / 2] });
  }

  function countIcon(p) {
    var text = String(count(p)), w = 8 + 6 * text.length;
    return L.divIcon({ className: "pm-count" + (p.x === 1 ? " pm-x-count" : ""), html: text, iconSize: [w, 14], iconAnchor: [w / 2, 7] });
  }

  function bilingual(zh, en) {
    var span = document.createElement("span"), a = document.createElement("span"), b = document.createElement("span");
    a.className = "zh"; a.textContent = zh; b.className = "en"; b.textContent = en;
    span.appendChild(a); span.appendChild(b);
    return span;
  }

  // A tooltip from plain-text data (village clinics): the name is set as text, never parsed as HTML.
  function textTip(p) {
    var div = document.createElement("div"), b = document.createElement("b");
    b.textContent = String(p.nm);
    div.appendChild(b);
    div.appendChild(document.createElement("br"));
    div.appendChild(bilingual("\u6751\u536b\u751f\u5ba4", "village clinic"));
    if (p.syn === 1) {
      div.appendChild(document.createTextNode(" \u00b7 "));
      var s = bilingual("\u5408\u6210\u6570\u636e", "synthesized");
      s.className = "pm-syn";
      div.appendChild(s);
    }
    return div;
  }

  function cleanClass(s) {
    return String(s || "").replace(/[^A-Za-z0-9_\- ]/g, "");
  }

  function clusterIcon(cluster) {
    var n = cluster.getChildCount(), s = n < 10 ? 20 : n < 100 ? 24 : 28;
    return L.divIcon({ html: "<span>" + n + "</span>", className: "pm-cluster", iconSize: [s, s] });
  }

  function overlap(a, b) {
    return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
  }

  var TOKEN = /%%([0-9a-f]{8})%%/g;

  // Map names: each [lat, lng, html, class, priority, minZoom (relative), movable, [dx, dy]].
  // Shown by priority where they fit; priority 0 always shows, moved around the others.
  function Names(map, rows) {
    var pane = map.createPane("pm-names");
    pane.style.zIndex = 640;            // above markers (600), below tooltips (650)
    pane.style.pointerEvents = "none";
    var items = rows.map(function (r, i) {
      var icon = L.divIcon({ className: "pm-name " + cleanClass(r[3]), html: "<span>" + PM.expand(r[2]) + "</span>", iconSize: null });
      var m = L.marker([r[0], r[1]], { pane: "pm-names", icon: icon, interactive: false, keyboard: false });
      m.addTo(map);
      return { m: m, p: Number(r[4]) || 0, dz: Number(r[5]) || 0, mv: r[6] === 1, off: r[7] || [0, 0], i: i, w: 0, h: 0 };
    });
    items.sort(function (a, b) { return a.p - b.p || a.i - b.i; });
    function place() {
      var z = map.getZoom(), size = map.getSize(), boxes = [], todo = [];
      // Read everything first, then write: measuring a name right after showing it would force one
      // layout of the whole page per name.
      items.forEach(function (it) {
        var el = it.m.getElement();
        if (!el) return;
        var pt = map.latLngToContainerPoint(it.m.getLatLng());
        var show = z >= PM.z0 + it.dz - 0.01 && pt.x > -80 && pt.y > -80 && pt.x < size.x + 80 && pt.y < size.y + 80;
        if (show) todo.push({ it: it, el: el, pt: pt });
        else if (el.style.display !== "none") { el.style.display = "none"; el.classList.remove("pm-shown"); }
      });
      var fresh = todo.filter(function (q) { return !q.it.w; });
      fresh.forEach(function (q) { q.el.style.display = ""; });
      fresh.forEach(function (q) { var span = q.el.firstChild; q.it.w = span.offsetWidth + 6; q.it.h = span.offsetHeight + 2; });
      todo.forEach(function (q) {
        var it = q.it, el = q.el, pt = q.pt, span = el.firstChild;
        var w = it.w, h = it.h, ox = it.off[0], oy = it.off[1];
        var cands = it.mv ? [[0, 0], [0, -h], [0, h], [w * 0.55, 0], [-w * 0.55, 0], [w * 0.5, -h], [-w * 0.5, h],
                             [0, -2 * h], [0, 2 * h]] : [[0, 0]];
        var chosen = null, box = null;
        for (var k = 0; k < cands.length && !chosen; k++) {
          var b = [pt.x + ox + cands[k][0] - w / 2, pt.y + oy + cands[k][1] - h / 2, w, h];
          if (!boxes.some(function (o) { return overlap(o, b); })) { chosen = cands[k]; box = b; }
        }
        if (!chosen && it.p === 0) { chosen = [0, 0]; box = [pt.x + ox - w / 2, pt.y + oy - h / 2, w, h]; }
        if (!chosen) { el.style.display = "none"; el.classList.remove("pm-shown"); return; }
        boxes.push(box);
        el.style.display = "";
        el.classList.add("pm-shown");
        span.style.transform = "translate(calc(-50% + " + (ox + chosen[0]) + "px), calc(-50% + " + (oy + chosen[1]) + "px))";
      });
    }
    map.on("zoomend moveend resize", place);
    place();
    return { place: place, items: items };
  }

  // Markers whose symbols would overlap on screen are fanned out around the first of them (a lead when
  // there is one), which stays in place and on top; recomputed at every zoom. A ring is pushed further
  // out when one of its symbols would land on a lead elsewhere, or a lead of its own on any symbol.
  function Spread(map, markers) {
    function half(o) {
      var sz = ((o.m.options.icon || {}).options || {}).iconSize || [16, 16];
      return Math.max(sz[0], sz[1]) / 2;
    }
    function clash(a, b) {   // two square symbols, centres (x, y), half-sizes h, overlap by more than a pixel
      return Math.abs(a.x - b.x) < a.h + b.h - 1 && Math.abs(a.y - b.y) < a.h + b.h - 1;
    }
    function run() {
      var pts = [], hmax = 1;
      markers.forEach(function (o) {
        if (!map.hasLayer(o.m) || !o.m.getElement()) return;
        var p = map.latLngToLayerPoint(o.m.getLatLng()), h = half(o);
        hmax = Math.max(hmax, h);
        pts.push({ o: o, x: p.x, y: p.y, h: h, lead: o.lead });
      });
      pts.sort(function (a, b) { return b.o.lead - a.o.lead || a.o.i - b.o.i; });
      // A grid of cells as wide as the largest symbol: overlapping symbols lie in neighbouring cells.
      var cs = 2 * hmax, grid = {};
      function key(x, y) { return Math.floor(x / cs) + ":" + Math.floor(y / cs); }
      function near(q, f) {
        var cx = Math.floor(q.x / cs), cy = Math.floor(q.y / cs);
        for (var i = -1; i <= 1; i++) for (var j = -1; j <= 1; j++) {
          var cell = grid[(cx + i) + ":" + (cy + j)];
          if (cell) for (var k = 0; k < cell.length; k++) f(cell[k]);
        }
      }
      function put(q) { var k = key(q.x, q.y); (grid[k] = grid[k] || []).push(q); }
      // Groups: symbols that overlap, joined transitively (union-find, the root the first in sort order).
      var up = pts.map(function (q, k) { q.k = k; return k; });
      function root(k) { while (up[k] !== k) { up[k] = up[up[k]]; k = up[k]; } return k; }
      pts.forEach(function (q) {
        near(q, function (r) {
          if (clash(q, r)) { var a = root(q.k), b = root(r.k); if (a !== b) up[Math.max(a, b)] = Math.min(a, b); }
        });
        put(q);
      });
      var groups = {}, order = [];
      pts.forEach(function (q) {
        var r = root(q.k);
        if (!groups[r]) { groups[r] = []; order.push(r); }
        groups[r].push(q);
      });
      // Obstacles: every group's first symbol where it is, then each ring as it is placed.
      grid = {};
      order.forEach(function (r) { var c = groups[r][0]; put({ x: c.x, y: c.y, h: c.h, lead: c.lead }); });
      order.forEach(function (r) {
        var g = groups[r], c = g[0], n = g.length - 1, best = null;
        g.forEach(function (q) { q.dx = 0; q.dy = 0; });
        if (n > 0) {
          var hm = 0;
          g.forEach(function (q) { hm = Math.max(hm, q.h); });
          // Squares on a circle clear each other at any angle when the centres are sqrt(2) x (h1 + h2) apart.
          var r0 = Math.max(Math.SQRT2 * (c.h + hm + 2), n > 1 ? (Math.SQRT2 * (2 * hm + 2)) / (2 * Math.sin(Math.PI / n)) : 0);
          [1, 1.4, 1.8, 2.4, 3.2].some(function (f) {
            var ring = g.slice(1).map(function (q, k) {
              var a = -Math.PI / 2 + (2 * Math.PI * k) / n;
              return { q: q, x: c.x + Math.round(r0 * f * Math.cos(a)), y: c.y + Math.round(r0 * f * Math.sin(a)), h: q.h, lead: q.lead };
            });
            var bad = 0;
            ring.forEach(function (s) {
              near(s, function (o) { if ((s.lead || o.lead) && clash(s, o)) bad += 1; });
            });
            if (best === null || bad < best.bad) best = { ring: ring, bad: bad };
            return bad === 0;
          });
          best.ring.forEach(function (s) { s.q.dx = s.x - s.q.x; s.q.dy = s.y - s.q.y; put(s); });
        }
        g.forEach(function (q, k) {
          var el = q.o.m.getElement(), inner = el && el.firstChild;
          if (!inner) return;
          inner.style.transform = q.dx || q.dy ? "translate(" + q.dx + "px," + q.dy + "px)" : "";
          el.classList.toggle("pm-spread", k > 0);
        });
      });
    }
    map.on("zoomend", run);
    map.on("overlayadd", run);
    run();
    return run;
  }

  var PM = {
    layers: {},
    labels: {},
    map: null,
    z0: 0,
    names: null,
    spreadMarkers: [],
    pending: 0,

    // Replace label tokens (%%<8 hex>%%) by their bilingual HTML, given once per page in PM.labels.
    expand: function (html) {
      return String(html).replace(TOKEN, function (m, k) {
        return Object.prototype.hasOwnProperty.call(PM.labels, k) ? PM.labels[k] : m;
      });
    },
    cluster: clusterIcon,

    point: function (feature, latlng) {
      var p = feature.properties || {}, icon;
      if (p.mk === "dia") icon = dialysisIcon(p);
      else if (p.mk === "cnt") icon = countIcon(p);
      else if (p.mk === "short") icon = shortIcon(p);
      else icon = facilityIcon(p);
      var m = L.marker(latlng, { icon: icon, keyboard: false, riseOnHover: p.mk !== "cnt", interactive: p.mk !== "cnt",
                                 zIndexOffset: p.lead === 1 ? 1000 : p.mk === "short" ? 800 : 0 });
      return m;
    },

    bind: function (feature, layer) {
      var p = feature.properties || {};
      var isPath = typeof layer.setStyle === "function";
      if (p.cls && layer.options) layer.options.className = cleanClass((layer.options.className || "") + " " + p.cls).trim();
      // Builders of other subpackages may separate lines with "\n": shown as line breaks.
      if (p.tip) layer.bindTooltip(function () { return PM.expand(p.tip).replace(/\n/g, "<br>"); }, { sticky: isPath, direction: "top", className: "pm-tip", opacity: 0.96 });
      else if (p.nm != null) layer.bindTooltip(function () { return textTip(p); }, { direction: "top", className: "pm-tip" });
      var pop = p.pop != null ? p.pop : (p.px != null && p.tip ? p.tip + p.px : null);  // px: the popup's part beyond the tooltip
      if (pop) {
        layer.bindPopup(function () { return PM.expand(pop).replace(/\n/g, "<br>"); }, { maxWidth: 400, minWidth: 240, className: "pm-pop", autoPanPadding: [60, 60] });
        // The tooltip repeats the popup's first lines: hide it while the popup is open.
        layer.on("popupopen", function () { if (layer.closeTooltip) layer.closeTooltip(); });
      }
      if (p.id && !PM.layers[p.id]) PM.layers[p.id] = layer;
      if (isPath && p.style && (p.tip || pop)) {
        var base = p.style;
        layer.on("mouseover", function () { layer.setStyle({ weight: (base.weight || 1) + 2, color: "#111" }); });
        layer.on("mouseout", function () { layer.setStyle(base); });
      }
    },

    panel: function (map, position, html, cls) {
      var Ctl = L.Control.extend({
        onAdd: function () {
          var div = L.DomUtil.create("div", "pm-panel " + cleanClass(cls));
          div.innerHTML = PM.expand(html);
          L.DomEvent.disableClickPropagation(div);
          L.DomEvent.disableScrollPropagation(div);
          return div;
        }
      });
      return new Ctl({ position: position }).addTo(map);
    },

    setLang: function (lang) {
      var root = document.documentElement;
      lang = lang === "en" ? "en" : "zh";
      root.classList.remove("lang-zh", "lang-en");
      root.classList.add("lang-" + lang);
      root.setAttribute("lang", lang === "en" ? "en" : "zh-CN");
      if (PM.names) { PM.names.items.forEach(function (it) { it.w = 0; }); PM.names.place(); }
    },

    toggleLang: function () {
      PM.setLang(document.documentElement.classList.contains("lang-en") ? "zh" : "en");
    },

    layer: function (map, spec) {
      var collection = { type: "FeatureCollection", features: spec.features };
      var opts = { onEachFeature: PM.bind, className: "pm-" + cleanClass(spec.key),
                   style: function (f) { return (f.properties || {}).style || {}; } };
      if (spec.int === 0) opts.interactive = false;
      if (spec.kind !== "shape") opts.pointToLayer = PM.point;
      // A point in a shape layer is a disc of p.r metres (villages), styled like the layer's polygons.
      else opts.pointToLayer = function (f, latlng) { return L.circle(latlng, { radius: Number((f.properties || {}).r) || 100 }); };
      var layer;
      if (spec.kind === "cluster") {
        // Chunked loading adds markers in later timer ticks on a slow machine: PM.pending counts the
        // clustered layers still loading, so a reader (and the browser tests) can tell the page is complete.
        var busy = false;
        layer = L.markerClusterGroup({ maxClusterRadius: 45, disableClusteringAtZoom: 15, showCoverageOnHover: false,
                                       chunkedLoading: true, iconCreateFunction: PM.cluster,
                                       chunkProgress: function (done, total) {
                                         if (done < total) {
                                           if (!busy) { busy = true; PM.pending += 1; }
                                           return;
                                         }
                                         if (busy) { busy = false; PM.pending -= 1; }
                                       } });
        layer.addLayer(L.geoJSON(collection, opts));
      } else {
        layer = L.geoJSON(collection, opts);
      }
      if (spec.spread) {
        layer.eachLayer(function (m) {
          if (m.getLatLng) PM.spreadMarkers.push({ m: m, lead: (m.feature.properties || {}).lead === 1 ? 1 : 0, i: PM.spreadMarkers.length });
        });
      }
      return layer;
    },

    start: function (map, data, cfg) {
      cfg = cfg || {};
      PM.labels = Object.assign({}, cfg.labels || {}, data.labels || {});
      document.title = data.title || document.title;
      var container = map.getContainer();
      if (cfg.blank) L.DomUtil.addClass(container, "pm-blank");
      if (map.attributionControl) map.attributionControl.setPrefix("Leaflet");
      (cfg.tiles || []).forEach(function (tl) {
        var tiles = L.tileLayer(tl.url, { attribution: tl.attr || "", subdomains: tl.subdomains || "abc", maxZoom: tl.maxZoom || 18 });
        tiles.once("tileerror", function () { PM.notice(PM.expand(cfg.tileError || ""), "pm-tile-error"); });
        tiles.addTo(map);
      });
      var overlays = {};
      (data.layers || []).forEach(function (spec) {
        var layer = PM.layer(map, spec);
        if (spec.show) layer.addTo(map);
        overlays[PM.expand(spec.label)] = layer;
      });
      var small = window.innerWidth < 1600 || window.innerHeight < 950;
      L.control.layers(null, overlays, { collapsed: small, position: "topright" }).addTo(map);
      var Lang = L.Control.extend({
        onAdd: function () {
          var div = L.DomUtil.create("div", "pm-lang leaflet-bar");
          var b = L.DomUtil.create("button", "pm-lang-button", div);
          b.type = "button";
          b.innerHTML = '<span class="zh">English</span><span class="en">\u4e2d\u6587</span>';
          b.title = "\u4e2d\u6587 / English";
          L.DomEvent.on(b, "click", function (e) { L.DomEvent.stop(e); PM.toggleLang(); });
          L.DomEvent.disableClickPropagation(div);
          return div;
        }
      });
      new Lang({ position: "topleft" }).addTo(map);
      var panels = (data.panels || []).map(function (p) { return PM.panel(map, p.pos, p.html, p.cls); });
      L.control.scale({ metric: true, imperial: false, position: "bottomright" }).addTo(map);
      if (cfg.stamp) {
        var Stamp = L.Control.extend({ onAdd: function () {
          var div = L.DomUtil.create("div", "pm-stamp");
          div.innerHTML = PM.expand(cfg.stamp);
          return div;
        } });
        new Stamp({ position: "bottomright" }).addTo(map);
      }
      var banner = [data.banner, cfg.notice].filter(function (x) { return x; }).map(PM.expand).join(" · ");
      if (banner) PM.notice(banner, "pm-banner-main");
      // Fit the region into what the panels leave free (when the window is wide enough to leave anything).
      var size = map.getSize(), left = 10, right = 10;
      panels.forEach(function (c) {
        var el = c.getContainer(), w = el.offsetWidth + 20;
        if (/left/.test(c.getPosition())) left = Math.max(left, w); else right = Math.max(right, w);
      });
      // Panels fold, so they may cover the edges: the region gets most of the window.
      left = Math.min(left, size.x * 0.16); right = Math.min(right, size.x * 0.16);
      if (data.bounds && data.bounds.length === 2) {
        map.fitBounds(data.bounds, { paddingTopLeft: [left, 30], paddingBottomRight: [right, 24], animate: false });
      }
      PM.z0 = map.getZoom();
      PM.names = Names(map, data.names || []);
      PM.spread = Spread(map, PM.spreadMarkers);
      PM.map = map;
    },

    notice: function (html, cls) {
      var el = document.getElementById(cls);
      if (!el) {
        el = document.createElement("div");
        el.id = cls;
        el.className = "pm-banner " + cleanClass(cls);
        document.body.appendChild(el);
      }
      el.innerHTML = html;
    }
  };

  global.PM = PM;
})(window);
