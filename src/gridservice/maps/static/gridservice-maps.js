/* gridservice map helpers: a canvas layer of customers fed from one packed
 * array, a legend control and a grid-label layer. Plain Leaflet 1.9, no other
 * dependency, so the map works with no network at all. */
(function () {
  "use strict";

  function b64bytes(s) {
    var bin = atob(s), n = bin.length, out = new Uint8Array(n);
    for (var i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
  }

  function plane16(bytes, offset, n) {
    // Two byte planes (all low bytes, then all high bytes) -> Uint16Array.
    var out = new Uint16Array(n);
    for (var i = 0; i < n; i++) out[i] = bytes[offset + i] | (bytes[offset + n + i] << 8);
    return out;
  }

  /* Decode the packed customers written by gridservice.maps.customers.pack_points:
   * zlib( dx byte planes | qy byte planes | category bytes ), points sorted by
   * x with x stored as deltas. Returns {lon: Float64Array, lat: Float64Array, cat: Uint8Array}. */
  function decodePoints(packed) {
    var n = packed.n, b = packed.bbox;
    if (n === 0) return Promise.resolve({lon: new Float64Array(0), lat: new Float64Array(0), cat: new Uint8Array(0)});
    return inflate(b64bytes(packed.data)).then(function (bytes) {
      var dx = plane16(bytes, 0, n), qy = plane16(bytes, 2 * n, n), cat = bytes.subarray(4 * n, 5 * n);
      var lon = new Float64Array(n), lat = new Float64Array(n);
      var sx = (b[2] - b[0]) / 65535, sy = (b[3] - b[1]) / 65535, x = 0;
      for (var i = 0; i < n; i++) {
        x = (x + dx[i]) & 0xffff;
        lon[i] = b[0] + x * sx;
        lat[i] = b[1] + qy[i] * sy;
      }
      return {lon: lon, lat: lat, cat: cat};
    });
  }

  L.GsPoints = L.Layer.extend({
    options: {minZoom: 13, radius: 3, colors: ["#1f78b4"], pane: "gsPoints", maxDraw: 200000},

    initialize: function (packed, options) {
      L.setOptions(this, options);
      this._packed = packed;
      this._pts = null;
      this.drawn = 0;
      var self = this;
      this.ready = decodePoints(packed).then(function (p) { self._pts = p; self._redraw(); return p; });
    },

    onAdd: function (map) {
      this._map = map;
      if (!map.getPane(this.options.pane)) {
        // Above the vector overlays (400), below markers and popups (600+).
        var pane = map.createPane(this.options.pane);
        pane.style.zIndex = 406;
        pane.style.pointerEvents = "none";
      }
      this._canvas = L.DomUtil.create("canvas", "gs-points leaflet-zoom-hide");
      this.getPane().appendChild(this._canvas);
      map.on("moveend zoomend resize viewreset", this._redraw, this);
      this._redraw();
    },

    onRemove: function (map) {
      map.off("moveend zoomend resize viewreset", this._redraw, this);
      L.DomUtil.remove(this._canvas);
      this._canvas = null;
    },

    _redraw: function () {
      var map = this._map, canvas = this._canvas;
      if (!map || !canvas) return;
      var size = map.getSize();
      canvas.width = size.x; canvas.height = size.y;
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
      var ctx = canvas.getContext("2d");
      ctx.clearRect(0, 0, size.x, size.y);
      this.drawn = 0;
      var p = this._pts;
      if (!p || map.getZoom() < this.options.minZoom) return;
      var bounds = map.getBounds(), w = bounds.getWest(), e = bounds.getEast(), s = bounds.getSouth(), nn = bounds.getNorth();
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.lineWidth = 1;
      var outline = map.getZoom() >= 16;  // white rims help when zoomed in; at 14-15 they wash out dense villages
      var r = this.options.radius, colors = this.options.colors, count = 0, maxDraw = this.options.maxDraw;
      for (var i = 0; i < p.lon.length && count < maxDraw; i++) {
        var x = p.lon[i], y = p.lat[i];
        if (x < w || x > e || y < s || y > nn) continue;
        var pt = map.latLngToContainerPoint([y, x]);
        ctx.beginPath();
        ctx.arc(pt.x, pt.y, r, 0, 2 * Math.PI);
        ctx.fillStyle = colors[p.cat[i] % colors.length];
        ctx.fill();
        if (outline) ctx.stroke();
        count++;
      }
      this.drawn = count;
    }
  });
  L.gsPoints = function (packed, options) { return new L.GsPoints(packed, options); };

  L.Control.GsLegend = L.Control.extend({
    options: {position: "bottomright", html: ""},
    onAdd: function () {
      var div = L.DomUtil.create("div", "gs-legend leaflet-control");
      div.innerHTML = this.options.html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    }
  });
  L.control.gsLegend = function (options) { return new L.Control.GsLegend(options); };

  /* A heat layer from base64 Float32 triplets (lat, lon, weight). */
  L.gsHeat = function (b64, options) {
    var bytes = b64bytes(b64), f = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), pts = [];
    for (var i = 0; i + 2 < f.length; i += 3) pts.push([f[i], f[i + 1], f[i + 2]]);
    // In its own pane (gridservice.maps.base.PANES): above the grid fills, under the network and outages.
    var layer = L.heatLayer(pts, L.extend({pane: "gsHeat"}, options)), onAdd = layer.onAdd;
    layer.onAdd = function (map) {
      if (!map.getPane("gsHeat")) {
        var pane = map.createPane("gsHeat");
        pane.style.zIndex = 402;
        pane.style.pointerEvents = "none";
      }
      return onAdd.call(this, map);
    };
    return layer;
  };

  /* One marker per row of [lat, lon, text, minZoom?, className?]: grid and place names. */
  L.gsLabels = function (rows, options) {
    var opts = L.extend({className: "gs-label", pane: "gsLabels"}, options || {});
    if (!opts.pane) opts.pane = "markerPane";
    var group = L.featureGroup();
    rows.forEach(function (r) {
      var cls = opts.className + (r[4] ? " " + r[4] : "");
      var icon = L.divIcon({className: cls, html: "<span></span>", iconSize: null});
      var m = L.marker([r[0], r[1]], {icon: icon, interactive: false, keyboard: false, pane: opts.pane});
      m.gsMinZoom = r[3] || 0;
      m.on("add", function () { var el = m.getElement(); if (el) el.firstChild.textContent = r[2]; });
      group.addLayer(m);
    });
    // Rows come most important first: a label that would overlap one already shown is hidden,
    // and so is a row below its zoom (villages in a county view).
    function declutter() {
      var shown = [];
      var zoom = group._map ? group._map.getZoom() : 0;
      // opts.avoid: labels of another layer that win (place names give way to grid names)
      if (opts.avoid && group._map) {
        group._map.getContainer().querySelectorAll(opts.avoid).forEach(function (el) {
          if (el.style.visibility !== "hidden") shown.push(el.getBoundingClientRect());
        });
      }
      group.eachLayer(function (m) {
        var el = m.getElement();
        if (!el) return;
        var span = el.firstChild;
        if (zoom < m.gsMinZoom) { span.style.visibility = "hidden"; return; }
        span.style.visibility = "visible";
        var r = span.getBoundingClientRect();
        var hit = shown.some(function (s) {
          return !(r.right < s.left || r.left > s.right || r.bottom < s.top || r.top > s.bottom);
        });
        if (hit) span.style.visibility = "hidden"; else shown.push(r);
      });
    }
    group.on("add", function () {
      var map = group._map;
      var later = function () { setTimeout(declutter, opts.avoid ? 50 : 0); };  // after the labels it avoids
      later();
      map.on("zoomend", later);
      group.once("remove", function () { map.off("zoomend", later); });
    });
    return group;
  };
})();
