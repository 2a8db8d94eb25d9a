// Leaflet maps that follow the server's basemap setting (/web-config.json):
// "local" (the default: the area's land and place names from /web-basemap.json,
// no tiles, nothing leaves the machine), an intranet XYZ server, OSM or Amap in
// GCJ-02 (layers are shifted onto it) when chosen, or none at all.
import { api } from "./api.js";
import { gcjToWgs, mapGeometry, wgsToGcj } from "./coords.js";
import { lang, t } from "./i18n.js";
import { debounce, num } from "./util.js";

const L = window.L;

const same = (lon, lat) => [lon, lat];

/**
 * A map in `element` with the configured tiles.
 * Returns {map, geojson(data, options), toLatLng(lon, lat), geometryOf(layer), fromLatLng(latlng)}.
 */
export function createMap(element, config) {
  const base = config && config.basemap;
  // maxZoom must be set even with no tiles (marker clustering needs it)
  const map = L.map(element, { zoomControl: true, attributionControl: true, zoomSnap: 0.25, minZoom: 3, maxZoom: (base && base.max_zoom) || 19 });
  map.setView([27.2, 116.45], 11); // Nanfeng until the data's bounds are known
  let forward = same;
  let backward = same;
  if (base && base.local) {
    element.classList.add("local-basemap");
    drawLocalBasemap(map);
  } else if (base) {
    L.tileLayer(base.url, {
      attribution: base.attribution || "",
      subdomains: base.subdomains || "abc",
      maxZoom: base.max_zoom || 19,
    }).addTo(map);
    if (base.crs === "gcj02") {
      forward = wgsToGcj;
      backward = gcjToWgs;
    }
  } else {
    element.classList.add("no-basemap");
  }

  // A view left while its requests were out: their late moves of the removed map do nothing, and
  // late reads (bounds, positions) see the pane where it was (Leaflet would read the panes it removed).
  map.on("unload", () => {
    for (const name of ["setView", "fitBounds"]) map[name] = () => map;
    map._getMapPanePos = () => L.point(0, 0);
  });

  const toLatLng = (lon, lat) => {
    const [x, y] = forward(lon, lat);
    return L.latLng(y, x);
  };
  return {
    map,
    toLatLng,
    /** WGS-84 lon/lat of a map position. */
    fromLatLng(latlng) {
      return backward(latlng.lng, latlng.lat);
    },
    /** An L.geoJSON layer whose coordinates are shifted for the basemap. */
    geojson(data, options = {}) {
      return L.geoJSON(data, { ...options, coordsToLatLng: (c) => toLatLng(c[0], c[1]) });
    },
    /** The WGS-84 GeoJSON geometry of a (possibly edited) layer. */
    geometryOf(layer) {
      return mapGeometry(layer.toGeoJSON(15).geometry, backward);
    },
  };
}

let localBasemap = null; // one fetch per page: the land and place names do not change with the view

/** The area's land under every layer and its town and village names just above the grids. */
function drawLocalBasemap(map) {
  map.createPane("land").style.zIndex = 250; // above tiles (200), below the grids (overlay pane, 400)
  const places = map.createPane("places");
  places.style.zIndex = 405;
  places.style.pointerEvents = "none";
  localBasemap = localBasemap || api("/web-basemap.json");
  localBasemap.then((data) => {
    if (!map.getContainer().isConnected) return;
    if (data.land) {
      L.geoJSON(data.land, {
        pane: "land", interactive: false, pmIgnore: true, snapIgnore: true,
        style: { fillColor: "#f6f4ee", fillOpacity: 1, color: "#7d8a96", weight: 1.5, dashArray: "6 4" },
      }).addTo(map);
    }
    const markers = [];
    const relabel = () => {
      for (const [marker, name, nameEn] of markers) {
        const el = marker.getElement();
        if (el) el.firstChild.textContent = lang() === "en" ? nameEn : name;
      }
    };
    for (const [lon, lat, name, kind, nameEn] of data.places) {
      const icon = L.divIcon({ className: `place-label ${kind}`, html: "<span></span>", iconSize: null });
      const marker = L.marker([lat, lon], { icon, pane: "places", interactive: false, keyboard: false, pmIgnore: true, snapIgnore: true });
      markers.push([marker, name, nameEn]);
      marker.addTo(map);
    }
    relabel();
    const villages = () => map.getContainer().classList.toggle("show-villages", map.getZoom() >= data.village_min_zoom);
    map.on("zoomend", villages);
    villages();
    // a place name gives way to a grid name or to a bigger place it would overlap
    const declutter = debounce(() => {
      const pane = map.getContainer().isConnected && map.getPane("places");
      if (!pane) return; // the view was left before the timer ran: its map and panes are gone
      const shown = [...map.getContainer().querySelectorAll(".leaflet-tooltip.grid-label")].map((t) => t.getBoundingClientRect());
      for (const span of pane.querySelectorAll(".place-label span")) {
        span.style.visibility = "visible";
        const r = span.getBoundingClientRect();
        if (!r.width) continue; // a village below its zoom
        const hit = shown.some((s) => !(r.right < s.left || r.left > s.right || r.bottom < s.top || r.top > s.bottom));
        if (hit) span.style.visibility = "hidden";
        else shown.push(r);
      }
    }, 100);
    map.on("zoomend tooltipopen", declutter);
    declutter();
    const onLang = () => {
      if (!map.getContainer().isConnected) return window.removeEventListener("langchange", onLang);
      relabel();
      declutter();
    };
    window.addEventListener("langchange", onLang);
  }).catch(() => {
    localBasemap = null; // context only: the views work on the plain background; try again next map
  });
}

/** A legend box in a corner: items [{color, label}] under a title. */
export function legendControl(position = "bottomright") {
  const control = L.control({ position });
  control.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    L.DomEvent.disableClickPropagation(div);
    control.div = div;
    return div;
  };
  control.show = (title, items) => {
    const div = control.div;
    div.replaceChildren();
    const head = document.createElement("div");
    head.className = "legend-title";
    head.textContent = title;
    div.append(head);
    for (const item of items) {
      const row = document.createElement("div");
      row.className = "legend-row";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = item.color;
      if (item.pattern) swatch.classList.add(item.pattern);
      row.append(swatch, document.createTextNode(item.label));
      div.append(row);
    }
  };
  control.hide = () => control.div.replaceChildren();
  return control;
}

/** Sequential colours (light yellow → dark red), ColorBrewer YlOrRd 6. */
export const RAMP = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];

/**
 * Classes for a choropleth: at most `k`, by quantiles, or one per value when
 * there are few distinct values. Returns {cuts, classes: [{lo, hi, exact}]}:
 * a value v is in class i when cuts[i-1] <= v < cuts[i].
 */
export function classify(values, k = RAMP.length) {
  const v = values.filter((x) => x !== null && x !== undefined && Number.isFinite(Number(x))).map(Number).sort((a, b) => a - b);
  const distinct = [...new Set(v)];
  if (!distinct.length) return { cuts: [], classes: [] };
  if (distinct.length <= k) return { cuts: distinct.slice(1), classes: distinct.map((x) => ({ lo: x, hi: x, exact: true })) };
  const cuts = [];
  for (let i = 1; i < k; i += 1) cuts.push(v[Math.floor((i * v.length) / k)]);
  const unique = [...new Set(cuts)].filter((c) => c > v[0]);
  const edges = [v[0], ...unique];
  return { cuts: unique, classes: edges.map((lo, i) => ({ lo, hi: i < unique.length ? unique[i] : v[v.length - 1], exact: false })) };
}

/** Colour of `value` given class `cuts`; grey for missing values. */
export function colourFor(value, cuts, ramp = RAMP) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return NO_DATA;
  let i = 0;
  while (i < cuts.length && Number(value) >= cuts[i]) i += 1;
  const step = cuts.length ? Math.round((i * (ramp.length - 1)) / cuts.length) : Math.floor((ramp.length - 1) / 2);
  return ramp[step];
}

export const NO_DATA = "#cccccc";

/**
 * Customers in view: as dots when zoomed in to `minZoom` (at most `limit`, from the OGC API
 * with a bbox), and below it as their density, counted by the server per square cell about
 * 24 pixels wide (a county has a million customers). The cells lie under the grids and take
 * no clicks; a legend gives their counts.
 * `style(c)` gives circle-marker options, `tooltip(c)` its text, `onClick(c)` an action.
 * Returns {layer, redraw()} (the dots); the layers are added to the map.
 */
export function customersInView(view, { minZoom = 15, limit = 3000, style = () => ({}), tooltip = (c) => `${c.id} ${c.name || ""}`, onClick = null } = {}) {
  const { map } = view;
  if (!map.getPane("customers")) map.createPane("customers").style.zIndex = 450; // above the grid polygons
  if (!map.getPane("density")) {
    const pane = map.createPane("density"); // under the grid polygons, and clicks go through
    pane.style.zIndex = 350;
    pane.style.pointerEvents = "none";
  }
  const layer = L.featureGroup().addTo(map);
  const density = L.featureGroup().addTo(map);
  const legend = legendControl("bottomleft").addTo(map);
  let items = [];
  let seq = 0;
  const redraw = () => {
    layer.clearLayers();
    for (const c of items) {
      const marker = L.circleMarker(view.toLatLng(c.lon, c.lat), {
        pane: "customers", radius: 3, weight: 1, color: "#37474f", fillColor: "#90a4ae", fillOpacity: 0.9, pmIgnore: true, snapIgnore: true, ...style(c),
      });
      marker.bindTooltip(tooltip(c));
      if (onClick) marker.on("click", (e) => {
        L.DomEvent.stopPropagation(e);
        onClick(c);
      });
      layer.addLayer(marker);
    }
  };
  const drawDensity = (data, bbox) => {
    density.clearLayers();
    const box = map.getContainer().dataset; // what is drawn, for tests and benchmarks
    Object.assign(box, { densityCells: data ? data.features.length : 0, densityTotal: data ? data.total : 0, densityView: bbox });
    if (!data || !data.features.length) {
      legend.hide();
      return;
    }
    const { cuts, classes } = classify(data.features.map((f) => f.properties.count));
    view
      .geojson(data, {
        pane: "density", interactive: false, pmIgnore: true, snapIgnore: true,
        style: (f) => ({ stroke: false, fillOpacity: 0.6, fillColor: colourFor(f.properties.count, cuts), className: "density-cell" }),
      })
      .eachLayer((l) => density.addLayer(l));
    const size = data.cell_m >= 1000 ? `${data.cell_m / 1000} km` : `${data.cell_m} m`;
    // counts are whole numbers: a class below the last ends one short of the next one's start
    const top = (c, i) => (c.exact || i === classes.length - 1 ? c.hi : c.hi - 1);
    legend.show(t("map.density", { size }), classes.map((c, i) => ({ color: colourFor(c.lo, cuts), label: c.lo === top(c, i) ? num(c.lo) : `${num(c.lo)} – ${num(top(c, i))}` })));
  };
  let gone = false; // the map was removed (the view was left): a late call must not touch it
  const load = debounce(async () => {
    if (gone) return;
    const mine = ++seq;
    const b = map.getBounds();
    const [w, s] = view.fromLatLng(b.getSouthWest());
    const [e, n] = view.fromLatLng(b.getNorthEast());
    const bbox = [w, s, e, n].map((x) => x.toFixed(6)).join(",");
    try {
      if (map.getZoom() < minZoom) {
        const data = await api("/customers/density", { query: { bbox, zoom: map.getZoom() } });
        if (mine !== seq) return;
        items = [];
        redraw();
        drawDensity(data, bbox);
        return;
      }
      const data = await api("/ogc/collections/customers/items", { query: { bbox, limit } });
      if (mine !== seq) return;
      drawDensity(null, bbox);
      items = data.features.filter((f) => f.geometry).map((f) => ({ id: f.id, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1], name: f.properties.name, grid_id: f.properties.grid_id }));
      redraw();
    } catch {
      // context only: the view works without the dots
    }
  }, 250);
  map.on("movestart", () => (seq += 1)); // an answer for the view being left is not drawn
  map.on("unload", () => {
    gone = true;
    seq += 1;
  });
  map.on("moveend", load);
  load();
  return { layer, redraw };
}
