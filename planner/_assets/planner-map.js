/* planner-map.js: the small runtime of the planner's Leaflet maps (medcommunity-planner, MIT).
 *
 * Every text shown comes pre-escaped from Python (html.escape) inside JSON data; this file only
 * builds icons from a fixed vocabulary (kind letter, grade level, flags, integer counts), binds
 * the given tooltip/popup HTML, and adds the panels and the language switch.
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

  function facilityIcon(p) {
    var k = Object.prototype.hasOwnProperty.call(LETTER, p.fk) || p.fk === "c" || p.fk === "v" ? p.fk : "o";
    var fill = GRADE[level(p)], lead = p.lead === 1, small = p.sm === 1, size, body, cls = "pm-icon pm-fac pm-fk-" + k;
    if (k === "v") {
      size = 9;
      body = '<circle cx="4.5" cy="4.5" r="3.5" fill="#2e7d32" stroke="#fff" stroke-width="1"/>';
    } else if (k === "c") {
      size = lead ? 26 : 14;
      var r = lead ? 9 : 5.5, c = size / 2;
      body = '<circle cx="' + c + '" cy="' + c + '" r="' + r + '" fill="' + fill + '" stroke="' + (lead ? "#000" : "#fff") +
        '" stroke-width="' + (lead ? 2.5 : 1.5) + '"/>';
    } else {
      size = lead && !small ? 28 : small ? 16 : 18;
      var pad = lead && !small ? 3 : 2, w = size - 2 * pad, fs = lead && !small ? 14 : 9;
      body = '<rect x="' + pad + '" y="' + pad + '" width="' + w + '" height="' + w + '" rx="3" fill="' + fill + '" stroke="' +
        (lead ? "#000" : "#fff") + '" stroke-width="' + (lead ? (small ? 1.5 : 2.5) : 1.2) + '"/>' +
        '<text x="' + size / 2 + '" y="' + (size / 2 + fs * 0.36) + '" font-size="' + fs + '" font-weight="bold" text-anchor="middle" ' +
        'fill="#fff" font-family="Arial, \'Noto Sans CJK SC\', \'Microsoft YaHei\', sans-serif">' + LETTER[k] + "</text>";
    }
    if (lead) {
      body += small ? star(size - 3, 3, 3.5) : star(size - 5, 5, 5);
      cls += " pm-lead";
    }
    if (p.dia === 1) {
      body += '<circle cx="' + (size - 3) + '" cy="' + (size - 3) + '" r="3" fill="#1565c0" stroke="#fff" stroke-width="1"/>';
    }
    return L.divIcon({ className: cls, html: svg(size, body), iconSize: [size, size], iconAnchor: [size / 2, size / 2],
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

  function countIcon(p) {
    var text = String(count(p)), w = 8 + 6 * text.length;
    return L.divIcon({ className: "pm-count" + (p.x === 1 ? " pm-x" : ""), html: text, iconSize: [w, 14], iconAnchor: [w / 2, 7] });
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
      div.appendChild(document.createElement("br"));
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

  var TOKEN = /%%([0-9a-f]{8})%%/g;

  var PM = {
    layers: {},
    labels: {},

    // Replace label tokens (%%<8 hex>%%) by their bilingual HTML, given once per page in PM.labels.
    expand: function (html) {
      return String(html).replace(TOKEN, function (m, k) {
        return Object.prototype.hasOwnProperty.call(PM.labels, k) ? PM.labels[k] : m;
      });
    },
    cluster: clusterIcon,
    map: null,

    point: function (feature, latlng) {
      var p = feature.properties || {}, icon;
      if (p.mk === "dia") icon = dialysisIcon(p);
      else if (p.mk === "cnt") icon = countIcon(p);
      else icon = facilityIcon(p);
      return L.marker(latlng, { icon: icon, keyboard: false, riseOnHover: p.mk !== "cnt", interactive: p.mk !== "cnt" });
    },

    bind: function (feature, layer) {
      var p = feature.properties || {};
      var isPath = typeof layer.setStyle === "function";
      if (p.cls && layer.options) layer.options.className = cleanClass((layer.options.className || "") + " " + p.cls).trim();
      if (p.tip) layer.bindTooltip(function () { return PM.expand(p.tip); }, { sticky: isPath, direction: "top", className: "pm-tip", opacity: 0.95 });
      else if (p.nm != null) layer.bindTooltip(function () { return textTip(p); }, { direction: "top", className: "pm-tip" });
      var pop = p.pop != null ? p.pop : (p.px != null && p.tip ? p.tip + p.px : null);  // px: the popup's part beyond the tooltip
      if (pop) layer.bindPopup(function () { return PM.expand(pop); }, { maxWidth: 380, className: "pm-pop", autoPanPadding: [40, 40] });
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
    },

    toggleLang: function () {
      PM.setLang(document.documentElement.classList.contains("lang-en") ? "zh" : "en");
    },

    init: function (map, cfg) {
      PM.map = map;
      if (map.attributionControl) map.attributionControl.setPrefix("Leaflet");
      if (cfg.blank) L.DomUtil.addClass(map.getContainer(), "pm-blank");
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
      (cfg.panels || []).forEach(function (p) { PM.panel(map, p.pos, p.html, p.cls); });
    }
  };

  global.PM = PM;
})(window);
