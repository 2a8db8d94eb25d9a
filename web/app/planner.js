// Planner: edit grid polygons (Leaflet-Geoman, snapping to neighbouring grids),
// see the plan checked and previewed live, commit with a note, revert from history;
// or ask for an automatic proposal, preview it over the plan in force and commit it.
// Editing works on simplified outlines (GET /plans/outlines: a few handles per grid,
// the same vertices on both sides of a shared border); the full border is put back
// wherever the planner left the outline alone.
import { api, ApiError, errorText } from "./api.js";
import { label, lang, t, tl } from "./i18n.js";
import { createMap, customersInView, legendControl } from "./map.js";
import { debounce, el, fill, num, toast, when } from "./util.js";

const L = window.L;

const GRID_STYLE = { color: "#0b5cad", weight: 1.5, dashArray: null, fillColor: "#5b9bd5", fillOpacity: 0.12 };
const EDITED_STYLE = { color: "#e65100", weight: 2.5, dashArray: null, fillColor: "#ffb74d", fillOpacity: 0.3 };
const SELECTED = { weight: 3.5, dashArray: "6 4" };
const LOCKED_STYLE = { color: "#455a64", weight: 2.5, dashArray: null, fillColor: "#78909c", fillOpacity: 0.45 };
const DRAFT_STYLE = { color: "#6a1b9a", weight: 2.5, dashArray: "8 5", fillColor: "#ce93d8", fillOpacity: 0.18, interactive: false };
/** How each plan check is drawn: areas filled, whole-grid notices outlined, transformers as points. */
const PROBLEM_COLOURS = {
  gap: "#e53935",
  overlap: "#8e24aa",
  sliver: "#d81b60",
  outside_territory: "#6d4c41",
  invalid_polygon: "#b71c1c",
  split_transformer_area: "#ff6f00",
  no_grid_manager: "#546e7a",
  understaffed: "#f9a825",
};
const OUTLINED = new Set(["no_grid_manager", "understaffed", "code_changed", "duplicate_code", "unknown_station"]);
const EDIT_OPTIONS = {
  snappable: true, // vertices snap to the neighbouring grids' vertices and edges: no slivers
  snapDistance: 14,
  allowSelfIntersection: false,
  draggable: false,
  removeLayerBelowMinVertexCount: false,
};

/** Mount the planner in `root`; returns the clean-up function. */
export function mount(root, ctx) {
  const mapDiv = el("div", { class: "map", id: "planner-map" });
  const panel = el("aside", { class: "panel", id: "planner-panel" });
  root.append(el("div", { class: "layout wide-panel" }, mapDiv, panel));

  const view = createMap(mapDiv, ctx.config);
  const { map } = view;
  // other roles may explore edits and their preview (reads), but not commit
  const canCommit = ctx.user.permissions.includes("plan.commit");
  // Only grid polygons are editable; problem shapes opt out of Geoman and snapping.
  L.PM.setOptIn(false);
  map.pm.setGlobalOptions(EDIT_OPTIONS);
  map.pm.setLang(lang() === "zh" ? "zh" : "en");

  const gridLayer = L.featureGroup().addTo(map);
  const problemLayer = L.featureGroup().addTo(map);
  const legend = legendControl("bottomright").addTo(map);

  const state = {
    features: new Map(), // grid_id -> GeoJSON feature as loaded
    layers: new Map(), // grid_id -> L.Polygon
    edited: new Set(),
    editing: false,
    selected: null, // the grid whose vertices are handles
    baseVersion: null,
    baseline: null, // Promise of the Set of problems the plan had before any edit
    check: null,
    preview: null,
    dragFrom: null,
    seq: 0, // drops answers to stale requests
    outlines: null, // grid_id -> {feature, rings}: the simplified outline as loaded (null: full outlines)
  };

  // ---- side panel ---------------------------------------------------------
  const status = el("div", { class: "plan-status", id: "plan-status" }, tl("planner.no_edits"));
  const problems = el("ul", { class: "problem-list", id: "plan-problems" });
  const keepBox = el("input", { type: "checkbox", id: "plan-keep-existing" });
  const keepLine = el("label", { class: "row hidden", id: "plan-keep-line" }, keepBox, el("span", { id: "plan-keep-text" }));
  const previewBox = el("div", { id: "plan-preview" });
  const note = el("textarea", { id: "plan-note", rows: 2, "data-i18n-ph": "planner.note_placeholder", placeholder: t("planner.note_placeholder") });
  const commitBtn = el("button", { class: "primary", id: "plan-commit", type: "button", disabled: true }, tl("planner.commit"));
  const resetBtn = el("button", { type: "button", id: "plan-reset", disabled: true }, tl("planner.reset"));
  const sharedBox = el("input", { type: "checkbox", id: "plan-shared", checked: true });
  const editBtn = el("button", { type: "button", id: "plan-edit" }, tl("planner.start_edit"));
  const history = el("ul", { class: "history-list", id: "plan-history" });
  const versionLine = el("div", { class: "muted", id: "plan-version" });
  const editHint = el("div", { class: "muted hidden", id: "plan-edit-hint" }, tl("planner.select_hint"));
  const draftLayer = L.featureGroup().addTo(map);
  const proposal = proposalPanel();
  const proposalSection = proposal.section;

  fill(
    panel,
    el(
      "div",
      { class: "section" },
      el("h2", {}, tl("planner.title")),
      el("p", { class: "muted" }, tl("planner.help")),
      el("div", { class: "toolbar" }, editBtn, resetBtn, el("label", { class: "row" }, sharedBox, tl("planner.shared_vertices"))),
      editHint,
      versionLine,
    ),
    proposalSection,
    el("div", { class: "section" }, el("h3", {}, tl("planner.checks")), status, problems, keepLine),
    el("div", { class: "section" }, el("h3", {}, tl("planner.preview")), previewBox),
    el(
      "div",
      { class: "section" },
      el("h3", {}, tl("planner.commit_title")),
      canCommit
        ? el("form", { class: "stack", onsubmit: (e) => e.preventDefault() }, note, el("div", { class: "toolbar" }, commitBtn))
        : el("p", { class: "muted", id: "plan-read-only" }, tl("planner.read_only")),
    ),
    el("div", { class: "section" }, el("h3", {}, tl("planner.history")), history),
  );

  // ---- grids on the map ---------------------------------------------------
  async function loadGrids({ fit = false } = {}) {
    const data = await api("/grids", { query: { limit: 10000 } });
    select(null);
    gridLayer.clearLayers();
    state.features.clear();
    state.layers.clear();
    state.edited.clear();
    state.outlines = null;
    for (const feature of data.features) {
      const id = feature.properties.grid_id;
      state.features.set(id, feature);
      const layer = view.geojson(feature, { style: () => ({ ...GRID_STYLE }) }).getLayers()[0];
      layer.options.pmIgnore = false;
      layer.feature = feature;
      layer.bindTooltip(feature.properties.code || id, { permanent: true, direction: "center", className: "grid-label" });
      layer.on("click", (e) => onGridClick(id, e));
      layer.on("pm:markerdragstart", (e) => onDragStart(id, e));
      layer.on("pm:markerdragend", (e) => onDragEnd(id, e));
      layer.on("pm:edit", () => markEdited(id));
      layer.on("pm:vertexremoved", () => markEdited(id));
      gridLayer.addLayer(layer);
      state.layers.set(id, layer);
    }
    versionLine.textContent = t("planner.version", { v: state.baseVersion ?? "–", n: data.features.length });
    if (fit && gridLayer.getLayers().length) map.fitBounds(gridLayer.getBounds(), { padding: [10, 10] });
    clearResults();
    state.baseline = loadBaseline(data.features);
    proposal.gridsLoaded();
    if (state.editing) useOutlines().catch(report);
  }

  /** The problems the plan in force already has: an edit is judged by what it adds. */
  async function loadBaseline(features) {
    if (!features.length) return new Set();
    const f = features[0];
    const body = { grids: { type: "FeatureCollection", features: [{ type: "Feature", properties: { grid_id: f.properties.grid_id }, geometry: f.geometry }] } };
    try {
      const check = await api("/plans/check", { method: "POST", body });
      const keys = new Set(check.findings.features.map(problemKey));
      if (!state.edited.size && !state.check) {
        // before any edit, show what the plan in force already has
        state.check = { ...check, baseline: keys };
        renderCheck();
      }
      return keys;
    } catch {
      return new Set();
    }
  }

  const problemKey = (f) => `${f.properties.check}|${f.properties.message}`;

  // ---- editing: one grid at a time, its vertices dragged with snapping ----------
  function setEditing(on) {
    state.editing = on;
    if (!on) select(null);
    if (on) useOutlines().catch(report);
    else if (!state.edited.size) fullOutlines();
    editBtn.replaceChildren(tl(on ? "planner.stop_edit" : "planner.start_edit"));
    editBtn.classList.toggle("primary", on);
    editHint.classList.toggle("hidden", !on);
    mapDiv.classList.toggle("editing", on);
    drawCustomers(); // not clickable while editing: they must not catch the vertex drags
  }
  editBtn.addEventListener("click", () => setEditing(!state.editing));

  // ---- simplified outlines: a few handles per grid, shared with the neighbours ----
  /** The rings of a polygon layer's latlngs: [polygon][ring][LatLng]. */
  const polygonsOf = (latlngs) => (Array.isArray(latlngs[0]) && Array.isArray(latlngs[0][0]) ? latlngs : [latlngs]);

  /** Show every grid by its simplified outline (planners: other roles keep the full ones). */
  async function useOutlines() {
    if (!canCommit || state.outlines) return;
    const version = state.baseVersion;
    const data = await api("/plans/outlines");
    if (!state.editing || state.outlines || version !== state.baseVersion || state.edited.size) return;
    const outlines = new Map();
    for (const f of data.features) {
      const layer = state.layers.get(f.id);
      if (!layer) continue;
      const latlngs = view.geojson(f).getLayers()[0].getLatLngs();
      outlines.set(f.id, { feature: f, rings: polygonsOf(latlngs) });
      layer.setLatLngs(latlngs);
      if (layer.pm.enabled()) {
        layer.pm.disable();
        layer.pm.enable(EDIT_OPTIONS);
      }
    }
    state.outlines = outlines;
  }

  /** Back to the full outlines (editing stopped with nothing edited). */
  function fullOutlines() {
    if (!state.outlines) return;
    for (const [id, layer] of state.layers) layer.setLatLngs(view.geojson(state.features.get(id)).getLayers()[0].getLatLngs());
    state.outlines = null;
  }

  /**
   * The full WGS-84 geometry of an edited grid: its edited outline with the full
   * border put back between two outline vertices that are still neighbours and did
   * not move (a moved or added vertex makes the border beside it straight).
   */
  function editedGeometry(id) {
    const layer = state.layers.get(id);
    const outline = state.outlines && state.outlines.get(id);
    if (!outline) return view.geometryOf(layer);
    const full = state.features.get(id).geometry;
    const fullPolys = full.type === "Polygon" ? [full.coordinates] : full.coordinates;
    const simple = outline.feature.geometry;
    const simplePolys = simple.type === "Polygon" ? [simple.coordinates] : simple.coordinates;
    const index = outline.feature.properties.vertex_index;
    const polys = polygonsOf(layer.getLatLngs()).map((rings, p) =>
      rings.map((ring, r) => {
        const loaded = (outline.rings[p] || [])[r];
        const positions = (index[p] || [])[r];
        const fullRing = (fullPolys[p] || [])[r];
        const simpleRing = (simplePolys[p] || [])[r];
        const plain = () => {
          const coords = ring.map((ll) => view.fromLatLng(ll));
          return [...coords, coords[0]];
        };
        if (!loaded || !positions || !fullRing || !simpleRing) return plain();
        const m = loaded.length;
        const n = fullRing.length - 1;
        // an outline vertex that did not move is found at exactly its loaded position
        const k = ring.map((ll) => loaded.findIndex((o) => o.lat === ll.lat && o.lng === ll.lng));
        const out = [];
        ring.forEach((ll, i) => {
          out.push(k[i] >= 0 ? simpleRing[k[i]] : view.fromLatLng(ll));
          const j = (i + 1) % ring.length;
          if (k[i] >= 0 && k[j] >= 0 && k[j] === (k[i] + 1) % m) {
            for (let q = (positions[k[i]] + 1) % n; q !== positions[k[j]] % n; q = (q + 1) % n) out.push(fullRing[q]);
          }
        });
        return [...out, out[0]];
      }),
    );
    return polys.length === 1 && simple.type === "Polygon" ? { type: "Polygon", coordinates: polys[0] } : { type: "MultiPolygon", coordinates: polys };
  }

  function onGridClick(id, e) {
    if (state.editing) {
      L.DomEvent.stopPropagation(e);
      select(id);
      return;
    }
    if (proposal.picking()) {
      L.DomEvent.stopPropagation(e);
      proposal.toggleLock(id);
      return;
    }
    const p = state.features.get(id).properties;
    L.popup()
      .setLatLng(e.latlng)
      .setContent(el("div", {}, el("strong", {}, `${p.code} ${p.name}`), el("div", {}, `${t("common.customers")}: ${num(p.customers)}`), el("div", {}, `${t("common.transformers")}: ${num(p.transformers)}`), el("div", {}, `${t("common.staff")}: ${num(p.staff)}`), el("div", {}, `${t("planner.open_orders")}: ${num(p.open_work_orders)}`)))
      .openOn(map);
  }

  function select(id) {
    const previous = state.selected && state.layers.get(state.selected);
    if (previous) previous.pm.disable();
    state.selected = id;
    const layer = id && state.layers.get(id);
    if (layer) {
      layer.pm.enable(EDIT_OPTIONS);
      layer.bringToFront();
    }
    for (const gid of state.layers.keys()) restyle(gid);
  }

  function restyle(id) {
    const layer = state.layers.get(id);
    const base = state.edited.has(id) ? EDITED_STYLE : proposal.locked(id) ? LOCKED_STYLE : GRID_STYLE;
    layer.setStyle(id === state.selected ? { ...base, ...SELECTED } : base);
  }

  // A vertex shared with neighbouring grids moves with them, so an edit
  // redraws a common border instead of opening a gap and an overlap.
  function onDragStart(id, e) {
    const marker = e.markerEvent && e.markerEvent.target;
    state.dragFrom = marker ? L.latLng(marker.getLatLng()) : null;
  }

  function onDragEnd(id, e) {
    const from = state.dragFrom;
    state.dragFrom = null;
    const marker = e.markerEvent && e.markerEvent.target;
    if (from && marker && sharedBox.checked && !e.intersectionReset) {
      const to = marker.getLatLng();
      for (const [otherId, layer] of state.layers) {
        if (otherId !== id && moveVertex(layer, from, to)) markEdited(otherId);
      }
    }
    markEdited(id);
  }

  function moveVertex(layer, from, to) {
    let moved = false;
    const walk = (rings) =>
      rings.map((item) => {
        if (Array.isArray(item)) return walk(item);
        if (Math.abs(item.lat - from.lat) < 1e-10 && Math.abs(item.lng - from.lng) < 1e-10) {
          moved = true;
          return L.latLng(to.lat, to.lng);
        }
        return item;
      });
    const latlngs = walk(layer.getLatLngs());
    if (moved) layer.setLatLngs(latlngs);
    return moved;
  }

  function markEdited(id) {
    if (!state.layers.has(id)) return;
    state.edited.add(id);
    restyle(id);
    resetBtn.disabled = false;
    scheduleCheck();
  }

  // ---- customers in view (zoomed in only), those that would change grid in red ------
  const movedCustomers = () => new Map(((state.preview && state.preview.moves) || []).filter((m) => m.layer === "customers").map((m) => [m.feature_id, m]));
  const dots = customersInView(view, {
    style: (c) => {
      const moved = movedCustomers().has(c.id);
      // while editing, dots must not catch the clicks and drags meant for the grid
      const base = { interactive: !state.editing };
      return moved ? { ...base, radius: 6, weight: 2, color: "#b71c1c", fillColor: "#ff5252" } : base;
    },
    tooltip: (c) => {
      const m = movedCustomers().get(c.id);
      return m ? `${c.id} ${c.name || ""}: ${gridName(m.from_grid_id)} → ${gridName(m.to_grid_id)}` : `${c.id} ${c.name || ""}`;
    },
  });
  const drawCustomers = () => dots.redraw();

  // ---- live check and preview ----------------------------------------------
  function planBody() {
    const features = [...state.edited].map((id) => ({
      type: "Feature",
      properties: { grid_id: id },
      geometry: editedGeometry(id),
    }));
    return { grids: { type: "FeatureCollection", features }, base_version: state.baseVersion };
  }

  const scheduleCheck = debounce(runCheck, 400);

  async function runCheck() {
    if (!state.edited.size) return clearResults();
    const seq = ++state.seq;
    status.className = "plan-status";
    status.replaceChildren(tl("planner.checking"));
    const body = planBody();
    try {
      // the checks come back first and are drawn at once; the preview (which
      // locates every customer under the new plan) follows
      const [check, baseline] = await Promise.all([api("/plans/check", { method: "POST", body }), state.baseline]);
      if (seq !== state.seq) return;
      state.check = { ...check, baseline };
      renderCheck();
      const preview = await api("/plans/preview", { method: "POST", body });
      if (seq !== state.seq) return;
      state.preview = preview;
      renderPreview();
      drawCustomers();
    } catch (err) {
      if (seq !== state.seq) return;
      status.className = "plan-status invalid";
      status.textContent = errorText(err);
      commitBtn.disabled = true;
    }
  }

  /** Split the findings: new errors block the commit; problems the plan already had do not. */
  function judge() {
    const baseline = state.check.baseline || new Set();
    const all = state.check.findings.features.map((f) => ({ f, old: baseline.has(problemKey(f)), error: f.properties.severity === "error" }));
    return {
      shown: all.filter((x) => x.error || !x.old), // old warnings (e.g. staffing) are not this edit's business
      fresh: all.filter((x) => x.error && !x.old),
      kept: all.filter((x) => x.error && x.old),
      warnings: all.filter((x) => !x.error && !x.old),
    };
  }

  function renderCheck() {
    const { shown, fresh, kept, warnings } = judge();
    if (!state.edited.size) {
      status.className = "plan-status";
      status.textContent = kept.length ? t("planner.current_problems", { n: kept.length }) : t("planner.no_edits");
    } else if (fresh.length) {
      status.className = "plan-status invalid";
      status.textContent = t("planner.invalid", { n: fresh.length });
    } else {
      status.className = "plan-status valid";
      status.textContent = t("planner.valid", { n: state.edited.size, w: warnings.length });
    }
    keepLine.classList.toggle("hidden", !(state.edited.size && kept.length && !fresh.length));
    document.getElementById("plan-keep-text").textContent = t("planner.keep_existing", { n: kept.length });
    updateCommit();
    problemLayer.clearLayers();
    fill(problems);
    shown.sort((a, b) => a.old - b.old || b.error - a.error);
    for (const { f, old } of shown) {
      const kind = f.properties.check;
      const colour = PROBLEM_COLOURS[kind] || "#b71c1c";
      const outlined = OUTLINED.has(kind);
      const opacity = old ? 0.2 : 0.55;
      const layer = view.geojson(f, {
        style: () => ({ color: colour, weight: outlined ? 3 : 2, opacity: old ? 0.6 : 1, fillColor: colour, fillOpacity: outlined ? 0 : opacity, dashArray: outlined || kind === "gap" ? "5 4" : null }),
        pointToLayer: (_, latlng) => L.circleMarker(latlng, { radius: 9, color: colour, weight: 3, fillOpacity: 0.35 }),
      });
      layer.eachLayer((l) => {
        l.options.pmIgnore = true; // never editable, never a snap target
        l.options.snapIgnore = true;
      });
      const text = `${old ? `${t("planner.existing")} ` : ""}${label("check", kind)}: ${f.properties.message || ""}`;
      layer.bindTooltip(text);
      problemLayer.addLayer(layer);
      if (!outlined && layer.getBounds().isValid()) {
        // a ring around the problem: a 30 m gap is invisible at county zoom
        const ring = L.circleMarker(layer.getBounds().getCenter(), { radius: 12, color: colour, weight: 3, fill: false, dashArray: old ? "4 4" : null, pmIgnore: true, snapIgnore: true, interactive: false });
        problemLayer.addLayer(ring);
      }
      const severity = f.properties.severity === "warning" ? "warn" : "error";
      problems.append(el("li", { class: `${severity} ${old ? "existing" : "new"}`, dataset: { check: kind }, onclick: () => map.fitBounds(layer.getBounds(), { maxZoom: 16 }) }, text));
    }
    const kinds = [...new Set(shown.map((x) => x.f.properties.check))];
    if (kinds.length) legend.show(t("planner.problems"), kinds.map((k) => ({ color: PROBLEM_COLOURS[k] || "#b71c1c", label: label("check", k) })));
    else showDefaultLegend();
  }

  function updateCommit() {
    if (!state.check || !state.edited.size) {
      commitBtn.disabled = true;
      return;
    }
    const { fresh, kept } = judge();
    commitBtn.disabled = fresh.length > 0 || (kept.length > 0 && !keepBox.checked);
  }
  keepBox.addEventListener("change", updateCommit);

  function showDefaultLegend() {
    legend.show(t("planner.legend"), [
      { color: GRID_STYLE.fillColor, label: t("planner.legend_grid") },
      { color: EDITED_STYLE.fillColor, label: t("planner.legend_edited") },
      { color: "#90a4ae", label: t("planner.legend_customer"), pattern: "dot" },
      { color: "#ff5252", label: t("planner.legend_moved"), pattern: "dot" },
    ]);
  }

  function renderPreview() {
    const p = state.preview;
    if (!p) return fill(previewBox, el("p", { class: "muted" }, tl("planner.preview_empty")));
    const counts = p.move_counts;
    const summary = el(
      "div",
      { class: "kv", id: "preview-summary" },
      tl("planner.moved_customers"), el("strong", { id: "moved-customers" }, num(counts.customers)),
      tl("planner.moved_transformers"), el("strong", { id: "moved-transformers" }, num(counts.transformers)),
      tl("planner.moved_orders"), el("strong", { id: "moved-orders" }, num(counts.work_orders)),
    );
    const rows = p.summary.filter((r) => r.status !== "unchanged" || r.customers_change !== 0);
    const table = el(
      "table",
      { class: "data", id: "preview-grids" },
      el(
        "thead",
        {},
        el("tr", {}, el("th", {}, tl("common.grid")), el("th", { class: "num" }, tl("planner.customers_before")), el("th", { class: "num" }, tl("planner.customers_after")), el("th", { class: "num" }, tl("common.change")), el("th", { class: "num" }, tl("planner.per_member"))),
      ),
      el(
        "tbody",
        {},
        rows.map((r) => {
          const d = r.customers_change;
          return el(
            "tr",
            { dataset: { grid: r.grid_id } },
            el("td", {}, `${r.code || r.grid_id} ${r.name || ""}`),
            el("td", { class: "num" }, num(r.customers_before)),
            el("td", { class: "num" }, num(r.customers_after)),
            el("td", { class: `num ${d > 0 ? "ok" : d < 0 ? "error" : ""}` }, d > 0 ? `+${d}` : num(d)),
            el("td", { class: "num" }, `${num(r.households_per_member_before, 0)} → ${num(r.households_per_member_after, 0)}`),
          );
        }),
      ),
    );
    const moves = p.moves.slice(0, 300);
    const list = moves.length
      ? el(
          "div",
          { class: "table-wrap", style: "max-height: 200px" },
          el(
            "table",
            { class: "data", id: "preview-moves" },
            el("thead", {}, el("tr", {}, el("th", {}, tl("planner.layer")), el("th", {}, tl("planner.feature")), el("th", {}, tl("common.from")), el("th", {}, tl("common.to")))),
            el(
              "tbody",
              {},
              moves.map((m) => el("tr", { dataset: { layer: m.layer, feature: m.feature_id, to: m.to_grid_id } }, el("td", {}, label("layer", m.layer)), el("td", {}, m.feature_id), el("td", {}, gridName(m.from_grid_id)), el("td", {}, gridName(m.to_grid_id)))),
            ),
          ),
        )
      : null;
    const more = p.moves_total > moves.length ? el("p", { class: "muted" }, t("common.more", { n: p.moves_total - moves.length })) : null;
    fill(
      previewBox,
      summary,
      rows.length ? el("h3", {}, tl("planner.per_grid")) : null,
      rows.length ? el("div", { class: "table-wrap" }, table) : null,
      moves.length ? el("h3", {}, tl("planner.moved_list")) : null,
      list,
      more,
    );
  }

  function gridName(id) {
    if (!id || id === "null") return t("planner.no_grid");
    const f = state.features.get(id);
    return f ? f.properties.code || id : id;
  }

  function clearResults() {
    state.seq += 1;
    state.check = null;
    state.preview = null;
    problemLayer.clearLayers();
    drawCustomers();
    fill(problems);
    keepLine.classList.add("hidden");
    keepBox.checked = false;
    fill(previewBox, el("p", { class: "muted" }, tl("planner.preview_empty")));
    status.className = "plan-status";
    status.replaceChildren(tl("planner.no_edits"));
    commitBtn.disabled = true;
    resetBtn.disabled = true;
    showDefaultLegend();
  }

  resetBtn.addEventListener("click", () => loadGrids().catch(report));

  // ---- commit and history ---------------------------------------------------
  commitBtn.addEventListener("click", async () => {
    if (!state.edited.size || !state.check) return;
    if (!note.value.trim()) {
      note.focus();
      toast(t("planner.note_required"), "error");
      return;
    }
    const { kept } = judge();
    // problems the plan already had are kept on purpose, and the reason says which
    const forced = kept.length ? t("planner.forced_reason", { n: kept.length, list: [...new Set(kept.map((x) => label("check", x.f.properties.check)))].join("、") }) : undefined;
    commitBtn.disabled = true;
    try {
      const result = await api("/plans/commit", { method: "POST", body: { ...planBody(), note: note.value.trim(), forced_reason: forced } });
      toast(t("planner.committed", { v: result.plan_version }), "ok");
      note.value = "";
      setEditing(false);
      await loadHistory();
      await loadGrids();
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        toast(t("planner.stale"), "error");
        status.className = "plan-status invalid";
        status.textContent = t("planner.stale");
      } else if (err instanceof ApiError && err.status === 422 && err.body && err.body.problems) {
        const features = err.body.problems.features || [];
        state.check = { findings: err.body.problems, baseline: await state.baseline };
        renderCheck();
        toast(`${t("planner.rejected")} (${features.length})`, "error");
      } else {
        report(err);
        updateCommit();
      }
    }
  });

  async function loadHistory() {
    const data = await api("/plans");
    state.baseVersion = data.current_version;
    versionLine.textContent = t("planner.version", { v: state.baseVersion, n: state.features.size });
    const items = [...data.versions].reverse(); // newest first
    fill(
      history,
      items.length ? null : el("li", { class: "muted" }, tl("common.none")),
      items.map((h) => {
        const version = h.plan_version;
        const current = version === data.current_version;
        return el(
          "li",
          { dataset: { version } },
          el(
            "div",
            {},
            el("strong", {}, `v${version}`),
            " ",
            el("span", { class: "muted" }, `${when(h.committed_at)} · ${h.author}`),
            h.note ? el("div", {}, h.note) : null,
            h.forced_reason ? el("div", { class: "warn" }, h.forced_reason) : null,
            el("div", { class: "muted" }, t("planner.grids_in_plan", { n: h.grids })),
          ),
          current
            ? el("span", { class: "pill ok" }, tl("planner.current"))
            : canCommit
              ? el("button", { type: "button", class: "revert", onclick: () => revert(version) }, tl("planner.revert"))
              : null,
        );
      }),
    );
  }

  async function revert(version) {
    if (!confirm(t("planner.revert_confirm", { v: version }))) return;
    const query = { base_version: state.baseVersion, note: t("planner.revert_note", { v: version }) };
    try {
      let result;
      try {
        result = await api(`/plans/${encodeURIComponent(version)}/revert`, { method: "POST", query });
      } catch (err) {
        // the old version has problems of its own: revert only if the planner keeps them knowingly
        const problems = err instanceof ApiError && err.status === 422 && err.body && err.body.problems;
        if (!problems) throw err;
        const kinds = [...new Set(problems.features.map((f) => label("check", f.properties.check)))].join("、");
        if (!confirm(t("planner.revert_problems", { v: version, n: problems.features.length, list: kinds }))) return;
        const forced = t("planner.revert_forced", { v: version, n: problems.features.length, list: kinds });
        result = await api(`/plans/${encodeURIComponent(version)}/revert`, { method: "POST", query: { ...query, forced_reason: forced } });
      }
      toast(t("planner.reverted", { v: version, n: result.plan_version }), "ok");
      await loadHistory();
      await loadGrids();
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) toast(t("planner.stale"), "error");
      else report(err);
    }
  }

  function report(err) {
    toast(err instanceof ApiError && err.status === 403 ? t("common.forbidden") : errorText(err), "error");
  }

  // ---- automatic proposal: K grids or households per member, locks, draft over the plan, commit ----
  function proposalPanel() {
    const mode = { value: "grids" };
    const locks = new Set();
    let draft = null; // {answer, check, base, options}
    const kInput = el("input", { type: "number", id: "propose-k", min: 1, step: 1, value: "" });
    const hpmInput = el("input", { type: "number", id: "propose-hpm", min: 1, step: 50, value: (ctx.config && ctx.config.households_per_member) || "", disabled: true });
    const byGrids = el("input", { type: "radio", name: "propose-by", id: "propose-by-grids", value: "grids", checked: true });
    const byMembers = el("input", { type: "radio", name: "propose-by", id: "propose-by-hpm", value: "households_per_member" });
    const stations = el("input", { type: "checkbox", id: "propose-stations" });
    const pickBox = el("input", { type: "checkbox", id: "propose-pick" });
    const lockList = el("ul", { class: "check-list", id: "propose-locks" });
    const runBtn = el("button", { type: "button", class: "primary", id: "propose-run" }, tl("propose.run"));
    const out = el("div", { id: "propose-result" });
    const pStatus = el("div", { class: "plan-status hidden", id: "propose-status" });
    const pNote = el("textarea", { id: "propose-note", rows: 2, "data-i18n-ph": "planner.note_placeholder", placeholder: t("planner.note_placeholder") });
    const forceBox = el("input", { type: "checkbox", id: "propose-force" });
    const forceLine = el("label", { class: "row hidden", id: "propose-force-line" }, forceBox, el("span", { id: "propose-force-text" }));
    const commitBtn2 = el("button", { type: "button", class: "primary", id: "propose-commit", disabled: true }, tl("propose.commit"));
    const discardBtn = el("button", { type: "button", id: "propose-discard", disabled: true }, tl("propose.discard"));
    const details = el(
      "details",
      { class: "section", id: "propose-panel" },
      el("summary", {}, el("strong", {}, tl("propose.title"))),
      el("p", { class: "muted" }, tl("propose.help")),
      el(
        "div",
        { class: "stack" },
        el("label", { class: "row" }, byGrids, tl("propose.by_grids"), kInput),
        el("label", { class: "row" }, byMembers, tl("propose.by_members"), hpmInput),
        el("label", { class: "row" }, stations, tl("propose.within_stations")),
        el("label", { class: "row" }, pickBox, tl("propose.pick_on_map")),
        el("div", { class: "muted" }, tl("propose.locks")),
        el("div", { class: "table-wrap", style: "max-height: 140px" }, lockList),
        canCommit ? el("div", { class: "toolbar" }, runBtn, discardBtn) : el("p", { class: "muted", id: "propose-read-only" }, tl("propose.read_only")),
      ),
      pStatus,
      out,
      canCommit ? el("form", { class: "stack", onsubmit: (e) => e.preventDefault() }, pNote, forceLine, el("div", { class: "toolbar" }, commitBtn2)) : null,
    );
    for (const radio of [byGrids, byMembers]) {
      radio.addEventListener("change", () => {
        mode.value = byGrids.checked ? "grids" : "households_per_member";
        kInput.disabled = !byGrids.checked;
        hpmInput.disabled = byGrids.checked;
      });
    }
    details.addEventListener("toggle", () => {
      if (!details.open) pickBox.checked = false;
    });

    function renderLocks() {
      const items = [...state.features.values()].sort((a, b) => String(a.properties.code).localeCompare(String(b.properties.code)));
      fill(
        lockList,
        items.map((f) => {
          const id = f.properties.grid_id;
          const box = el("input", { type: "checkbox", value: id, checked: locks.has(id) });
          box.addEventListener("change", () => toggleLock(id, box.checked));
          return el("li", { dataset: { grid: id } }, el("label", { class: "row" }, box, `${f.properties.code || id} ${f.properties.name || ""}`));
        }),
      );
    }

    function toggleLock(id, on = !locks.has(id)) {
      if (on) locks.add(id);
      else locks.delete(id);
      const box = lockList.querySelector(`li[data-grid="${CSS.escape(id)}"] input`);
      if (box) box.checked = on;
      if (state.layers.has(id)) restyle(id);
    }

    function say(text, kind = "") {
      pStatus.className = `plan-status ${kind}`;
      pStatus.textContent = text;
    }

    async function run() {
      const options = { lock: [...locks], within_stations: stations.checked };
      if (mode.value === "grids") options.grids = Number(kInput.value);
      else options.households_per_member = Number(hpmInput.value);
      const base = state.baseVersion;
      runBtn.disabled = true;
      say(t("propose.running"));
      try {
        const answer = await api("/plans/propose", { method: "POST", body: options });
        const check = await api("/plans/check", { method: "POST", body: { grids: answer.grids, complete: true } });
        draft = { answer, check, base, options };
        show();
      } catch (err) {
        say(errorText(err), "invalid");
      } finally {
        runBtn.disabled = false;
      }
    }

    function show() {
      draftLayer.clearLayers();
      mapDiv.classList.toggle("drafting", Boolean(draft));
      if (!draft) {
        fill(out);
        pStatus.classList.add("hidden");
        commitBtn2.disabled = true;
        discardBtn.disabled = true;
        forceLine.classList.add("hidden");
        return;
      }
      const { answer, check } = draft;
      const shapes = view.geojson(answer.grids, { style: () => ({ ...DRAFT_STYLE }), pmIgnore: true, snapIgnore: true });
      shapes.eachLayer((l) => {
        l.options.pmIgnore = true;
        l.options.snapIgnore = true;
        l.bindTooltip(l.feature.properties.code || l.feature.properties.grid_id, { permanent: true, direction: "center", className: "grid-label draft-label" });
      });
      draftLayer.addLayer(shapes);
      const current = (id) => state.features.get(id);
      const rows = [...answer.grid_scores].sort((a, b) => String(a.code).localeCompare(String(b.code)));
      const score = (key, digits = 1) => `${num(answer.current[key], digits)} → ${num(answer.proposal[key], digits)}`;
      const table = el(
        "table",
        { class: "data", id: "propose-table" },
        el("thead", {}, el("tr", {}, el("th", {}, tl("common.grid")), el("th", { class: "num" }, tl("propose.households")), el("th", { class: "num" }, tl("propose.members")), el("th", { class: "num" }, tl("planner.per_member")), el("th", { class: "num" }, tl("propose.change")))),
        el(
          "tbody",
          {},
          rows.map((r) => {
            const was = current(r.grid_id);
            const d = was ? r.households - was.properties.customers : null;
            return el(
              "tr",
              { dataset: { grid: r.grid_id, locked: locks.has(r.grid_id) ? "1" : "" } },
              el("td", {}, `${r.code || r.grid_id}${locks.has(r.grid_id) ? ` ${t("propose.locked")}` : ""}`),
              el("td", { class: "num", dataset: { col: "households" } }, num(r.households)),
              el("td", { class: "num", dataset: { col: "members" } }, num(r.members)),
              el("td", { class: "num", dataset: { col: "per_member" } }, num(r.households_per_member, 0)),
              el("td", { class: `num ${d > 0 ? "ok" : d < 0 ? "error" : ""}`, dataset: { col: "change" } }, d === null ? t("propose.new") : d > 0 ? `+${d}` : num(d)),
            );
          }),
        ),
      );
      const errors = check.errors;
      fill(
        out,
        el(
          "div",
          { class: "kv", id: "propose-summary" },
          tl("propose.grids"), el("strong", { id: "propose-grids" }, `${num(answer.current.grids)} → ${num(answer.proposal.grids)}`),
          tl("propose.balance"), el("strong", { id: "propose-balance" }, score("balance")),
          tl("propose.compactness"), el("strong", { id: "propose-compactness" }, score("compactness")),
          tl("propose.problems"), el("strong", { id: "propose-errors", class: errors ? "error" : "ok" }, `${num(errors)} / ${num(check.warnings)}`),
        ),
        el("div", { class: "table-wrap" }, table),
        answer.removed_grids.length ? el("p", { class: "muted", id: "propose-removed" }, t("propose.removed", { list: answer.removed_grids.map((id) => (current(id) ? current(id).properties.code : id)).join("、") })) : null,
        answer.messages.length ? el("ul", { class: "muted", id: "propose-messages" }, answer.messages.map((m) => el("li", {}, m))) : null,
      );
      say(t("propose.ready", { v: draft.base }), errors ? "invalid" : "valid");
      forceLine.classList.toggle("hidden", !errors);
      document.getElementById("propose-force-text").textContent = t("propose.force", { n: errors });
      forceBox.checked = false;
      discardBtn.disabled = false;
      updateCommit2();
    }

    const updateCommit2 = () => {
      commitBtn2.disabled = !draft || (draft.check.errors > 0 && !forceBox.checked);
    };
    forceBox.addEventListener("change", updateCommit2);

    async function commitDraft() {
      if (!draft) return;
      if (!pNote.value.trim()) {
        pNote.focus();
        toast(t("planner.note_required"), "error");
        return;
      }
      const kinds = [...new Set(draft.check.findings.features.filter((f) => f.properties.severity === "error").map((f) => label("check", f.properties.check)))].join("、");
      const body = { grids: draft.answer.grids, complete: true, base_version: draft.base, note: pNote.value.trim(), forced_reason: draft.check.errors ? t("propose.forced_reason", { n: draft.check.errors, list: kinds }) : undefined };
      commitBtn2.disabled = true;
      try {
        const result = await api("/plans/commit", { method: "POST", body });
        toast(t("planner.committed", { v: result.plan_version }), "ok");
        pNote.value = "";
        draft = null;
        show();
        await loadHistory();
        await loadGrids();
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          say(t("propose.stale", { v: draft.base }), "invalid");
          toast(t("propose.stale", { v: draft.base }), "error");
          // show the plan now in force under the stale draft; a new proposal starts from it
          await loadHistory().catch(() => {});
          await loadGrids().catch(() => {});
          return;
        } else if (err instanceof ApiError && err.status === 422 && err.body && err.body.problems) {
          say(`${t("planner.rejected")} (${err.body.problems.features.length})`, "invalid");
        } else {
          say(errorText(err), "invalid");
        }
        updateCommit2();
      }
    }

    runBtn.addEventListener("click", run);
    discardBtn.addEventListener("click", () => {
      draft = null;
      show();
    });
    commitBtn2.addEventListener("click", commitDraft);
    return {
      section: details,
      picking: () => details.open && pickBox.checked,
      locked: (id) => locks.has(id),
      toggleLock,
      gridsLoaded() {
        for (const id of [...locks]) if (!state.features.has(id)) locks.delete(id);
        if (!kInput.value) kInput.value = String(state.features.size || 1);
        renderLocks();
        for (const id of state.layers.keys()) restyle(id);
      },
      rerender: () => draft && show(),
    };
  }

  const onLang = () => {
    map.pm.setLang(lang() === "zh" ? "zh" : "en");
    versionLine.textContent = t("planner.version", { v: state.baseVersion ?? "–", n: state.features.size });
    if (state.check) renderCheck();
    else showDefaultLegend();
    renderPreview();
    proposal.rerender();
    loadHistory().catch(() => {});
  };
  window.addEventListener("langchange", onLang);

  // a handle for debugging and the browser tests: the map and the plan state
  window.gridservice = { ...(window.gridservice || {}), planner: { map, state, view } };

  loadHistory()
    .then(() => loadGrids({ fit: true }))
    .catch(report);

  return () => {
    window.removeEventListener("langchange", onLang);
    map.remove();
    if (window.gridservice) delete window.gridservice.planner;
  };
}
