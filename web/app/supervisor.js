// Supervisor: the coverage map coloured by a chosen KPI and month, the KPI
// table per grid or station (sortable, CSV), trends, line-loss anomalies and
// audit findings on the map, and the weekly report.
import { api, ApiError, errorText } from "./api.js";
import { chartLegend, lineChart, sparkline } from "./chart.js";
import { label, lang, t, tl } from "./i18n.js";
import { classify, colourFor, createMap, legendControl, NO_DATA, RAMP } from "./map.js";
import { download, el, fill, num, thisMonth, toast, toCsv } from "./util.js";

const L = window.L;

/** KPIs offered in the picker; `better` says which way is good (for the colour ramp). */
export const KPIS = [
  { key: "saidi_min", better: "low" },
  { key: "saifi", better: "low" },
  { key: "rs1_pct", better: "high", unit: "%" },
  { key: "outages", better: "low" },
  { key: "complaints_per_10k", better: "low" },
  { key: "work_orders", better: "low" },
  { key: "repair_on_time_pct", better: "high", unit: "%" },
  { key: "non_repair_on_time_pct", better: "high", unit: "%" },
  { key: "contact_on_time_pct", better: "high", unit: "%" },
  { key: "first_contact_resolution_pct", better: "high", unit: "%" },
  { key: "repeat_complaints", better: "low" },
  { key: "loss_high", better: "low" },
  { key: "loss_negative", better: "low" },
  { key: "households_per_member", better: "low" },
  { key: "customers", better: "high" },
  { key: "visit_coverage_pct", better: "high", unit: "%" },
  { key: "overdue_visits", better: "low" },
];
const TABLE_COLUMNS = ["customers", "grid_members", "households_per_member", "saidi_min", "saifi", "rs1_pct", "outages", "work_orders", "complaints_per_10k", "repair_on_time_pct", "non_repair_on_time_pct", "loss_high", "loss_negative", "visit_coverage_pct", "overdue_visits"];
const LOSS_COLOURS = { high: "#c62828", negative: "#6a1b9a", not_computable: "#757575", out_of_service: "#9e9e9e", normal: "#2e7d32" };
const TREND_MONTHS = 12;
const MAX_LOSS_ROWS = 300;
const MAX_AUDIT_POINTS = 3000;
/** Columns of the 业扩 monitor table, as the server counts them. */
const APPLICATION_FLAGS = ["applications_flagged", "over_time", "due_soon", "short_time", "time_order", "future_time", "non_working_day", "one_person", "small_micro_high_voltage", "total"];
const APPLICATION_UNITS = { grid: "grid_id", station: "station_id", handler: "staff_id" };
/** Colours of a member's day routes, day by day. */
const ROUTE_COLOURS = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037"];

/** Mount the supervisor view in `root`; returns the clean-up function. */
export function mount(root, ctx) {
  const mapDiv = el("div", { class: "map", id: "supervisor-map" });
  const panel = el("aside", { class: "panel", id: "supervisor-panel" });
  root.append(el("div", { class: "layout wide-panel" }, mapDiv, panel));

  const view = createMap(mapDiv, ctx.config);
  const { map } = view;
  const gridLayer = L.featureGroup().addTo(map);
  map.createPane("loss").style.zIndex = 650; // above the clustered audit markers
  const lossLayer = L.featureGroup();
  const auditLayer = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });
  const auditAreas = L.featureGroup(); // findings on grids or lines: outlined, not clustered
  const legend = legendControl("bottomright").addTo(map);
  const overlays = L.control.layers(null, {}, { collapsed: false, position: "topright" }).addTo(map);

  const state = {
    kpi: KPIS[0].key,
    month: ctx.config.default_month || thisMonth(-1),
    by: "grid",
    grids: null, // FeatureCollection
    rows: { grid: [], station: [] },
    cache: new Map(), // "by|month" -> rows
    sort: { key: null, dir: -1 },
    colours: {}, // grid_id -> colour (exposed for tests)
    rules: null, // audit rule catalogue
  };

  // ---- controls ---------------------------------------------------------------
  const kpiSelect = el("select", { id: "kpi-picker" }, KPIS.map((k) => el("option", { value: k.key, "data-i18n": `kpi.${k.key}` }, label("kpi", k.key))));
  const monthInput = el("input", { type: "month", id: "month-picker", value: state.month });
  const bySelect = el("select", { id: "table-by" }, ["grid", "station"].map((b) => el("option", { value: b, "data-i18n": `by.${b}` }, label("by", b))));
  const exportBtn = el("button", { type: "button", id: "kpi-export" }, tl("common.export_csv"));
  const weekInput = el("input", { type: "week", id: "report-week", value: ctx.config.default_week || isoWeek(new Date(Date.now() - 7 * 864e5)) });
  const reportBtn = el("button", { type: "button", id: "report-download", class: "primary" }, tl("supervisor.weekly_report"));
  const tableBox = el("div", { class: "table-wrap", id: "kpi-table", style: "max-height: 360px" });
  const charts = el("div", { class: "charts", id: "trend-charts" });
  const findingsBox = el("div", { id: "findings-summary" });
  const appWeek = el("input", { type: "week", id: "applications-week" });
  const appBy = el("select", { id: "applications-by" }, Object.keys(APPLICATION_UNITS).map((b) => el("option", { value: b, "data-i18n": `appby.${b}` }, label("appby", b))));
  const appBox = el("div", { id: "applications-monitor" });
  const theftMonth = el("input", { type: "month", id: "theft-month" });
  const theftBox = el("div", { id: "theft-suspects" });
  const rosterStation = el("select", { id: "roster-station" });
  const rosterFrom = el("input", { type: "date", id: "roster-from" });
  const rosterBox = el("div", { id: "roster" });
  const visitMember = el("select", { id: "visits-member" });
  const visitHorizon = el("select", { id: "visits-horizon" }, ["week", "month"].map((h) => el("option", { value: h, "data-i18n": `horizon.${h}` }, label("horizon", h))));
  const visitBox = el("div", { id: "visits-list" });
  const routeLayer = L.featureGroup().addTo(map);
  const warningsBox = el("div", { id: "warnings-panel" });
  const starsWeek = el("input", { type: "week", id: "stars-week" });
  const starsBox = el("div", { id: "stars-panel" });

  fill(
    panel,
    el(
      "div",
      { class: "section" },
      el("h2", {}, tl("supervisor.title")),
      el("div", { class: "controls" }, el("label", {}, tl("supervisor.kpi"), kpiSelect), el("label", {}, tl("supervisor.month"), monthInput)),
    ),
    el("div", { class: "section" }, el("div", { class: "row" }, el("h3", { class: "grow" }, tl("supervisor.table")), bySelect, exportBtn), tableBox),
    el("div", { class: "section" }, el("h3", {}, tl("supervisor.trend")), charts),
    el("div", { class: "section" }, el("h3", {}, tl("supervisor.findings")), findingsBox),
    el("div", { class: "section" }, el("div", { class: "row" }, el("h3", { class: "grow" }, tl("supervisor.applications")), appWeek, appBy), appBox),
    el("div", { class: "section" }, el("div", { class: "row" }, el("h3", { class: "grow" }, tl("supervisor.theft")), theftMonth), theftBox),
    el("div", { class: "section" }, el("div", { class: "row" }, el("h3", { class: "grow" }, tl("supervisor.roster")), rosterStation, rosterFrom), rosterBox),
    el("div", { class: "section", id: "visits" }, el("div", { class: "row" }, el("h3", { class: "grow" }, tl("supervisor.visits")), visitMember, visitHorizon), visitBox),
    el("div", { class: "section" }, el("h3", {}, tl("supervisor.warnings")), warningsBox),
    el("div", { class: "section" }, el("div", { class: "row" }, el("h3", { class: "grow" }, tl("supervisor.stars")), starsWeek), starsBox),
    el("div", { class: "section" }, el("h3", {}, tl("supervisor.report")), el("div", { class: "row" }, weekInput, reportBtn)),
  );

  kpiSelect.addEventListener("change", () => {
    state.kpi = kpiSelect.value;
    paintMap();
    renderTable();
    renderTrend();
  });
  monthInput.addEventListener("change", () => {
    if (!monthInput.value) return;
    state.month = monthInput.value;
    refresh();
  });
  bySelect.addEventListener("change", () => {
    state.by = bySelect.value;
    loadTable().catch(report);
  });
  exportBtn.addEventListener("click", exportCsv);
  reportBtn.addEventListener("click", downloadReport);
  appWeek.addEventListener("change", () => loadApplications().catch(report));
  appBy.addEventListener("change", renderApplications);
  theftMonth.addEventListener("change", () => loadTheft().catch(report));
  rosterStation.addEventListener("change", () => loadRoster().catch(report));
  rosterFrom.addEventListener("change", () => loadRoster().catch(report));
  visitMember.addEventListener("change", () => loadVisits().catch(report));
  visitHorizon.addEventListener("change", () => loadVisitMembers().catch(report));
  starsWeek.addEventListener("change", () => loadStars().catch(report));

  // ---- data ---------------------------------------------------------------------
  async function kpiRows(by, month) {
    const key = `${by}|${month}`;
    if (!state.cache.has(key)) {
      const promise = api("/kpis", { query: { period: month, by } }).then((data) => data.items.map((r) => ({ ...r, id: r[by === "area" ? "area" : `${by}_id`] })));
      state.cache.set(key, promise);
      promise.catch(() => state.cache.delete(key));
    }
    return state.cache.get(key);
  }

  async function loadGrids() {
    state.grids = await api("/grids", { query: { limit: 10000 } });
    gridLayer.clearLayers();
    for (const feature of state.grids.features) {
      const id = feature.properties.grid_id;
      const layer = view.geojson(feature, { style: () => ({ color: "#455a64", weight: 1, fillOpacity: 0.7, fillColor: NO_DATA, className: `grid grid-${id}` }) }).getLayers()[0];
      layer.feature = feature;
      layer.bindTooltip(feature.properties.code || feature.properties.grid_id, { permanent: true, direction: "center", className: "grid-label" });
      gridLayer.addLayer(layer);
    }
    if (state.grids.features.length) map.fitBounds(gridLayer.getBounds(), { padding: [10, 10] });
  }

  async function refresh() {
    try {
      state.rows.grid = await kpiRows("grid", state.month);
      paintMap();
      await loadTable();
    } catch (err) {
      report(err);
    }
    renderTrend();
    loadOverlays().catch(report);
  }

  function paintMap() {
    const spec = KPIS.find((k) => k.key === state.kpi) || KPIS[0];
    const byId = new Map(state.rows.grid.map((r) => [r.id, r]));
    const { cuts, classes } = classify(state.rows.grid.map((r) => r[spec.key]));
    // dark is bad: for "higher is better" KPIs the ramp runs the other way
    const ramp = spec.better === "high" ? [...RAMP].reverse() : RAMP;
    state.colours = {};
    gridLayer.eachLayer((layer) => {
      const id = layer.feature.properties.grid_id;
      const row = byId.get(id);
      const colour = colourFor(row ? row[spec.key] : null, cuts, ramp);
      state.colours[id] = colour;
      layer.setStyle({ fillColor: colour });
      layer.bindPopup(() => gridPopup(layer.feature.properties, row));
    });
    mapDiv.dataset.kpi = spec.key;
    const fmt = (v) => num(v, 2);
    const items = classes.map((c) => ({ color: colourFor(c.lo, cuts, ramp), label: c.exact ? fmt(c.lo) : `${fmt(c.lo)} – ${fmt(c.hi)}` }));
    if (Object.values(state.colours).includes(NO_DATA)) items.push({ color: NO_DATA, label: t("supervisor.no_data") });
    items.push({ color: LOSS_COLOURS.high, label: label("loss", "high"), pattern: "dot" }, { color: LOSS_COLOURS.negative, label: label("loss", "negative"), pattern: "dot" });
    legend.show(`${label("kpi", spec.key)} · ${state.month}`, items);
  }

  function gridPopup(props, row) {
    const lines = [el("strong", {}, `${props.code || props.grid_id} ${props.name || ""}`)];
    if (row) {
      for (const key of [state.kpi, ...TABLE_COLUMNS.filter((c) => c !== state.kpi).slice(0, 5)]) {
        lines.push(el("div", {}, `${label("kpi", key)}: ${num(row[key])}`));
      }
    }
    return el("div", {}, lines);
  }

  // ---- table ----------------------------------------------------------------------
  async function loadTable() {
    const rows = state.by === "grid" ? state.rows.grid : await kpiRows(state.by, state.month);
    state.rows[state.by] = rows;
    renderTable();
  }

  function renderTable() {
    const rows = [...(state.rows[state.by] || [])];
    const { key, dir } = state.sort;
    if (key) {
      rows.sort((a, b) => {
        const x = a[key];
        const y = b[key];
        const xm = x === null || x === undefined || Number.isNaN(x);
        const ym = y === null || y === undefined || Number.isNaN(y);
        if (xm || ym) return xm - ym; // missing values last either way
        return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "zh")) * dir;
      });
    }
    const columns = ["name", state.kpi, ...TABLE_COLUMNS.filter((c) => c !== state.kpi)];
    const head = columns.map((c) =>
      el(
        "th",
        { class: `sortable ${c === "name" ? "" : "num"} ${c === state.kpi ? "current" : ""} ${key === c ? (dir > 0 ? "sorted-asc" : "sorted-desc") : ""}`, dataset: { key: c }, onclick: () => sortBy(c) },
        c === "name" ? label("by", state.by) : label("kpi", c),
      ),
    );
    fill(
      tableBox,
      el(
        "table",
        { class: "data", id: "kpi-rows" },
        el("thead", {}, el("tr", {}, head)),
        el(
          "tbody",
          {},
          rows.map((r) =>
            el(
              "tr",
              { class: state.by === "grid" ? "clickable" : "", dataset: { id: r.id }, onclick: () => zoomTo(r.id) },
              columns.map((c) => el("td", { class: `${c === "name" ? "" : "num"} ${c === state.kpi ? "current" : ""}` }, c === "name" ? r.name || r.id : num(r[c]))),
            ),
          ),
        ),
      ),
    );
  }

  function sortBy(key) {
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === "name" ? 1 : -1 };
    renderTable();
  }

  function zoomTo(id) {
    gridLayer.eachLayer((layer) => {
      if (layer.feature.properties.grid_id === id) {
        map.fitBounds(layer.getBounds(), { maxZoom: 14 });
        layer.openPopup();
      }
    });
  }

  function exportCsv() {
    const rows = state.rows[state.by] || [];
    const columns = [state.by === "grid" ? "grid_id" : "station_id", "name", ...TABLE_COLUMNS];
    const data = rows.map((r) => ({ ...r, [columns[0]]: r.id }));
    download(`kpi_${state.by}_${state.month}.csv`, toCsv(data, columns));
  }

  // ---- trend -------------------------------------------------------------------------
  // Months are fetched one at a time, newest first, and the charts redrawn as
  // they come: twelve KPI computations at once would stall a big area's server.
  async function renderTrend() {
    const run = (state.trendRun = (state.trendRun || 0) + 1);
    const months = [];
    const [y, m] = state.month.split("-").map(Number);
    for (let i = TREND_MONTHS - 1; i >= 0; i -= 1) {
      const d = new Date(y, m - 1 - i, 1);
      months.push(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`);
    }
    const rows = months.map(() => ({}));
    fill(charts, el("p", { class: "muted" }, tl("common.loading")));
    for (let i = months.length - 1; i >= 0; i -= 1) {
      try {
        rows[i] = (await kpiRows("area", months[i]))[0] || {};
      } catch {
        rows[i] = {};
      }
      if (run !== state.trendRun) return; // the month or KPI changed meanwhile
      drawTrend(months, rows);
    }
  }

  function drawTrend(months, rows) {
    const kpi = state.kpi;
    const short = months.map((mm) => mm.slice(2));
    const value = (r, k) => (r[k] === null || r[k] === undefined ? null : Number(r[k]));
    const main = [{ name: label("kpi", kpi), values: rows.map((r) => value(r, kpi)) }];
    const loss = [
      { name: label("kpi", "loss_high"), values: rows.map((r) => value(r, "loss_high")), colour: LOSS_COLOURS.high },
      { name: label("kpi", "loss_negative"), values: rows.map((r) => value(r, "loss_negative")), colour: LOSS_COLOURS.negative },
    ];
    fill(
      charts,
      lineChart(short, main, { title: `${label("kpi", kpi)} (${t("supervisor.area_wide")})` }),
      lineChart(short, loss, { title: t("supervisor.loss_trend") }),
      chartLegend(loss),
    );
  }

  // ---- line loss and audit findings on the map ---------------------------------------
  async function loadOverlays() {
    const month = state.month;
    const [loss, audit] = await Promise.allSettled([loadLoss(month), loadAudit()]);
    if (month !== state.month) return;
    const box = [];
    if (loss.status === "fulfilled") {
      const { rows, total } = loss.value;
      box.push(
        el("h3", {}, tl("supervisor.lineloss")),
        el("div", { id: "loss-count" }, t("supervisor.loss_anomalies", { n: total })),
        rows.length
          ? el(
              "div",
              { class: "table-wrap", style: "max-height: 180px" },
              el(
                "table",
                { class: "data", id: "loss-rows" },
                el("thead", {}, el("tr", {}, [tl("common.transformers"), tl("common.grid"), tl("supervisor.loss_class"), tl("supervisor.loss_pct"), tl("supervisor.streak_head"), tl("supervisor.cause")].map((h) => el("th", {}, h)))),
                el(
                  "tbody",
                  {},
                  rows.map((r) =>
                    el(
                      "tr",
                      { class: "clickable", onclick: () => zoomToTransformer(r.transformer_id) },
                      el("td", {}, r.name || r.transformer_id),
                      el("td", {}, gridCode(r.grid_id)),
                      el("td", {}, el("span", { class: "pill", style: `color:${LOSS_COLOURS[r.class]}` }, label("loss", r.class))),
                      el("td", { class: "num" }, num(r.loss_pct, 1)),
                      el("td", { class: "num" }, num(r.streak_months)),
                      el("td", {}, (lang() === "zh" ? r.likely_cause_zh : r.likely_cause) || "–"),
                    ),
                  ),
                ),
              ),
            )
          : null,
      );
    } else box.push(el("p", { class: "error" }, `${t("supervisor.lineloss")}: ${errorText(loss.reason)}`));
    if (audit.status === "fulfilled") {
      const { total, byRule } = audit.value;
      box.push(
        el("h3", {}, tl("supervisor.audit")),
        el("div", { id: "audit-count" }, t("supervisor.audit_findings", { n: total })),
        el("ul", { class: "problem-list" }, byRule.slice(0, 8).map(([rule, n]) => el("li", {}, `${ruleTitle(rule)}: ${n}`))),
      );
    } else box.push(el("p", { class: "error" }, `${t("supervisor.audit")}: ${errorText(audit.reason)}`));
    fill(findingsBox, box);
  }

  /** Anomalous transformer areas of the month, drawn where their transformers stand. */
  async function loadLoss(month) {
    const data = await api("/line-loss", { query: { period: month, class: ["high", "negative"], limit: MAX_LOSS_ROWS } });
    const rows = [...data.items].sort((a, b) => (b.streak_months || 0) - (a.streak_months || 0));
    if (month !== state.month) return { rows, total: data.total };
    lossLayer.clearLayers();
    rows.forEach((r) => {
      if (r.lon == null || r.lat == null) return;
      const marker = L.circleMarker(view.toLatLng(r.lon, r.lat), { pane: "loss", radius: 8, weight: 3, color: "#fff", fillColor: LOSS_COLOURS[r.class], fillOpacity: 1 });
      marker.bindTooltip(`${r.name || r.transformer_id} · ${label("loss", r.class)} ${num(r.loss_pct, 1)}%${r.streak_months > 1 ? ` · ${t("supervisor.streak", { n: r.streak_months })}` : ""}`);
      marker.transformerId = r.transformer_id;
      lossLayer.addLayer(marker);
    });
    return { rows, total: data.total };
  }

  function zoomToTransformer(id) {
    lossLayer.eachLayer((m) => {
      if (m.transformerId === id) {
        map.setView(m.getLatLng(), Math.max(map.getZoom(), 14));
        m.openTooltip();
      }
    });
  }

  async function loadAudit() {
    if (!state.rules) {
      const catalogue = await api("/audit/rules");
      state.rules = new Map(catalogue.rules.map((r) => [r.rule_id, r]));
    }
    const data = await api("/audit", { query: { limit: MAX_AUDIT_POINTS } });
    auditLayer.clearLayers();
    const located = data.findings.features.filter((f) => f.geometry);
    view
      .geojson({ type: "FeatureCollection", features: located }, {
        pointToLayer: (f, ll) => L.marker(ll, { icon: L.divIcon({ className: `audit-icon ${f.properties.severity}`, html: "!", iconSize: [16, 16] }) }),
        style: (f) => ({ color: f.properties.severity === "error" ? "#c62828" : "#ff8f00", weight: 2, fillOpacity: 0.1, dashArray: "4 3" }),
        onEachFeature: (f, layer) => layer.bindPopup(() => el("div", {}, el("strong", {}, ruleTitle(f.properties.check)), el("div", {}, `${f.properties.layer || ""} ${f.properties.feature_id || ""}`), el("div", {}, f.properties.message || ""))),
      })
      .eachLayer((l) => (l.getLatLng ? auditLayer.addLayer(l) : auditAreas.addLayer(l)));
    const byRule = {};
    for (const f of data.findings.features) byRule[f.properties.check] = (byRule[f.properties.check] || 0) + 1;
    return { total: data.total, byRule: Object.entries(byRule).sort((a, b) => b[1] - a[1]) };
  }

  function ruleTitle(id) {
    const rule = state.rules && state.rules.get(id);
    return rule ? rule[lang() === "zh" ? "zh" : "en"] : id;
  }

  function gridCode(id) {
    const f = state.grids && state.grids.features.find((g) => g.properties.grid_id === id);
    return f ? f.properties.code : id || "–";
  }

  function setOverlayNames() {
    for (const layer of [lossLayer, auditLayer, auditAreas]) overlays.removeLayer(layer);
    overlays.addOverlay(lossLayer, t("supervisor.lineloss"));
    overlays.addOverlay(auditLayer, t("supervisor.audit"));
    overlays.addOverlay(auditAreas, t("supervisor.audit_areas"));
  }
  setOverlayNames();
  lossLayer.addTo(map);
  auditLayer.addTo(map);

  // ---- 业扩 weekly monitor ----------------------------------------------------------------
  async function loadApplications() {
    const query = appWeek.value ? { period: appWeek.value, limit: 1 } : { limit: 1 };
    state.applications = await api("/applications/monitor", { query });
    if (!appWeek.value) appWeek.value = state.applications.period;
    renderApplications();
  }

  function renderApplications() {
    const data = state.applications;
    if (!data) return;
    const by = appBy.value;
    const key = APPLICATION_UNITS[by];
    const rows = data.by[by] || [];
    const unitName = (r) => (by === "grid" ? gridCode(r[key]) : by === "handler" ? `${r.name || ""} ${r[key]}`.trim() : r[key]);
    fill(
      appBox,
      el("div", { id: "applications-count" }, t("supervisor.applications_count", { period: data.period, n: data.total })),
      el(
        "div",
        { class: "table-wrap", style: "max-height: 220px" },
        el(
          "table",
          { class: "data", id: "applications-rows" },
          el("thead", {}, el("tr", {}, [el("th", {}, label("appby", by)), ...APPLICATION_FLAGS.map((f) => el("th", { class: "num" }, label("appflag", f)))])),
          el("tbody", {}, rows.map((r) => el("tr", { class: by === "station" ? "" : "clickable", dataset: { id: r[key] }, onclick: () => loadApplicationFlags(by, r[key]) }, el("td", {}, unitName(r)), APPLICATION_FLAGS.map((f) => el("td", { class: "num" }, num(r[f])))))),
        ),
      ),
      el("div", { id: "applications-flags" }),
    );
  }

  /** The flagged applications of one grid or handler (a click on its row). */
  async function loadApplicationFlags(by, id) {
    if (by === "station") return;
    const query = { period: state.applications.period, limit: 200, [APPLICATION_UNITS[by]]: id };
    const data = await api("/applications/monitor", { query });
    fill(
      document.getElementById("applications-flags"),
      el(
        "div",
        { class: "table-wrap", style: "max-height: 220px" },
        el(
          "table",
          { class: "data", id: "applications-flag-rows" },
          el("thead", {}, el("tr", {}, [tl("supervisor.application"), tl("supervisor.application_flag"), tl("supervisor.application_detail")].map((h) => el("th", {}, h)))),
          el("tbody", {}, data.flags.map((f) => el("tr", { dataset: { id: f.application_id, flag: f.flag } }, el("td", {}, f.application_id), el("td", {}, label("appflag", f.flag)), el("td", {}, f.detail || "–")))),
        ),
      ),
    );
  }

  // ---- theft and metering suspects on the high-loss transformer areas ------------------------------
  async function loadTheft() {
    const query = theftMonth.value ? { period: theftMonth.value, limit: 200 } : { limit: 200 };
    state.theft = await api("/theft/suspects", { query });
    if (!theftMonth.value) theftMonth.value = state.theft.period;
    renderTheft();
  }

  function renderTheft() {
    const data = state.theft;
    if (!data) return;
    const rules = (text) => text.split(",").map((r) => label("theftrule", r)).join("、");
    const heads = ["transformer", "rank", "meter", "customer", "rules", "score", "series"];
    fill(
      theftBox,
      el("div", { id: "theft-count" }, t("supervisor.theft_count", { period: data.period, n: data.total, tx: data.transformers })),
      el(
        "div",
        { class: "table-wrap", style: "max-height: 320px" },
        el(
          "table",
          { class: "data", id: "theft-rows" },
          el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, tl(`theft.${h}`))))),
          el(
            "tbody",
            {},
            data.items.map((r) =>
              el(
                "tr",
                { dataset: { transformer: r.transformer_id, meter: r.meter_id, rank: r.rank, rules: r.rules } },
                el("td", {}, r.transformer_id),
                el("td", { class: "num" }, r.rank),
                el("td", {}, r.meter_id),
                el("td", {}, r.name || r.customer_id || "–"),
                el("td", {}, rules(r.rules)),
                el("td", { class: "num" }, num(r.score)),
                el("td", {}, sparkline(r.series, data.months)),
              ),
            ),
          ),
        ),
      ),
      el("div", { class: "n", id: "theft-precision" }, `${t("theft.precision")}: ` + data.precision.map((p) => `${label("theftrule", p.rule)} ${Math.round(p.precision * 100)}% (${p.checked})`).join(" · ")),
    );
  }

  // ---- duty roster: one station's week, grid-days without duty highlighted -------------------------
  function rosterStations() {
    const ids = [...new Set((state.grids ? state.grids.features : []).map((f) => f.properties.station_id).filter(Boolean))].sort();
    fill(rosterStation, ids.map((id) => el("option", { value: id }, id)));
  }

  async function loadRoster() {
    if (!rosterStation.value) return;
    const run = (state.rosterRun = (state.rosterRun || 0) + 1);
    const query = { station_id: rosterStation.value };
    if (rosterFrom.value) query.from = rosterFrom.value;
    const data = await api("/roster", { query });
    if (run !== state.rosterRun) return; // the station or week changed meanwhile: a later answer is coming
    state.roster = data;
    if (!rosterFrom.value) rosterFrom.value = state.roster.from;
    renderRoster();
  }

  function renderRoster() {
    const data = state.roster;
    if (!data) return;
    const gaps = new Set(data.gaps.map((g) => `${g.grid_id}|${g.date}`));
    const over = new Set(data.overworked.map((o) => o.staff_id));
    const day = (d) => d.slice(5);
    fill(
      rosterBox,
      el("div", { id: "roster-count" }, t("supervisor.roster_count", { from: data.from, to: data.to, gaps: data.gaps.length, over: over.size })),
      el(
        "div",
        { class: "table-wrap", style: "max-height: 360px" },
        el(
          "table",
          { class: "data roster", id: "roster-table" },
          el("thead", {}, el("tr", {}, el("th", {}, tl("roster.cover")), el("th", {}, tl("roster.grids")), data.dates.map((d) => el("th", {}, day(d))))),
          el(
            "tbody",
            {},
            data.grids.map((g) =>
              el(
                "tr",
                { class: "cover", dataset: { grid: g } },
                el("td", {}, g),
                el("td", {}, ""),
                data.dates.map((d) => (gaps.has(`${g}|${d}`) ? el("td", { class: "gap", dataset: { date: d } }, tl("roster.no_cover")) : el("td", { class: "shift", dataset: { date: d } }, "✓"))),
              ),
            ),
            data.staff.map((p) =>
              el(
                "tr",
                { class: over.has(p.staff_id) ? "over" : "", dataset: { staff: p.staff_id } },
                el("td", {}, `${p.name || p.staff_id} · ${label("role", p.role)}`),
                el("td", {}, p.grids || "–"),
                data.dates.map((d) => el("td", { class: `shift ${p.days[d] || ""}`, dataset: { date: d, kind: p.days[d] || "" } }, p.days[d] ? label("shift", p.days[d]) : "–")),
              ),
            ),
          ),
        ),
      ),
    );
  }

  // ---- a member's visits: due and overdue, as day routes on the map -------------------------------
  async function loadVisitMembers() {
    const all = await api("/visits/list", { query: { horizon: visitHorizon.value, limit: 1 } });
    // members with overdue visits first, then the busiest
    const members = [...all.members].sort((a, b) => b.overdue - a.overdue || b.visits - a.visits);
    const keep = visitMember.value;
    fill(visitMember, members.map((m) => el("option", { value: m.staff_id }, t("visits.member", { name: m.staff_name || m.staff_id, n: m.visits, late: m.overdue }))));
    if (keep && members.some((m) => m.staff_id === keep)) visitMember.value = keep;
    await loadVisits();
  }

  async function loadVisits() {
    routeLayer.clearLayers();
    if (!visitMember.value) {
      state.visits = null;
      fill(visitBox, el("div", { class: "n" }, t("visits.none")));
      return;
    }
    state.visits = await api("/visits/list", { query: { staff_id: visitMember.value, horizon: visitHorizon.value, limit: 500 } });
    renderVisits();
  }

  function renderVisits() {
    const data = state.visits;
    if (!data) return;
    const dayColour = (day) => ROUTE_COLOURS[Math.max(0, data.days.indexOf(day)) % ROUTE_COLOURS.length];
    const heads = ["day", "stop", "kind", "reason", "customer", "address", "due", "late"];
    fill(
      visitBox,
      el("div", { id: "visits-count", dataset: { horizon: data.horizon, staff: data.staff_id } }, t("visits.count", { n: data.total, late: data.overdue, days: data.days.length, max: data.max_stops_per_day })),
      el(
        "div",
        { class: "table-wrap", style: "max-height: 320px" },
        el(
          "table",
          { class: "data", id: "visits-rows" },
          el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, tl(`visits.${h}`))))),
          el(
            "tbody",
            {},
            data.items.map((r) =>
              el(
                "tr",
                { class: r.overdue ? "overdue" : "", dataset: { customer: r.customer_id, reason: r.reason, day: r.day || "", stop: r.stop ?? "", overdue: r.overdue ? "1" : "0" } },
                el("td", {}, r.day || t("visits.unscheduled")),
                el("td", { class: "num" }, r.stop ?? "–"),
                el("td", {}, label("visitkind", r.kind)),
                el("td", {}, label("visitreason", r.reason)),
                el("td", {}, r.name || r.customer_id),
                el("td", {}, r.address || "–"),
                el("td", {}, r.due_at ? r.due_at.slice(0, 10) : t("visits.never")),
                el("td", { class: "num" }, r.overdue ? (r.overdue_days ?? t("visits.never")) : "–"),
              ),
            ),
          ),
        ),
      ),
    );
    routeLayer.clearLayers();
    for (const route of data.routes || []) {
      const colour = dayColour(route.day);
      L.polyline(route.coords.map(([x, y]) => view.toLatLng(x, y)), { color: colour, weight: 3, opacity: 0.8 })
        .bindTooltip(`${route.day} · ${route.stops} · ${num(route.length_m / 1000)} km`)
        .addTo(routeLayer);
    }
    if (data.base) {
      L.circleMarker(view.toLatLng(data.base[0], data.base[1]), { radius: 7, weight: 2, color: "#fff", fillColor: "#263238", fillOpacity: 1 })
        .bindTooltip(t("visits.base"))
        .addTo(routeLayer);
    }
    for (const r of data.items) {
      if (r.lon == null || r.lat == null) continue;
      const html = r.stop ?? "☎";
      const cls = `visit-icon${r.overdue ? " overdue" : ""}`;
      L.marker(view.toLatLng(r.lon, r.lat), { icon: L.divIcon({ className: cls, html: String(html), iconSize: [18, 18] }) })
        .bindTooltip(`${r.day || ""} ${label("visitreason", r.reason)} · ${r.name || r.customer_id}`)
        .addTo(routeLayer);
    }
    const bounds = routeLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { maxZoom: 15, padding: [30, 30] });
  }

  // ---- indicator warnings: the open ones, and the warned grids outlined on the map ---------------------
  const WARNING_COLOURS = { red: "#c62828", yellow: "#f9a825" };

  async function loadWarnings() {
    state.warnings = await api("/warnings", { query: { open: true, limit: 500 } });
    renderWarnings();
    markWarnedGrids();
  }

  function renderWarnings() {
    const data = state.warnings;
    if (!data) return;
    const heads = ["severity", "unit", "indicator", "value", "since", "red_months", "escalated"];
    const badge = (sev) => el("span", { class: `pill warning-${sev}`, style: `background: ${WARNING_COLOURS[sev]}; color: ${sev === "red" ? "#fff" : "#222"}` }, label("severity", sev));
    fill(
      warningsBox,
      el("div", { id: "warnings-count" }, data.open ? t("supervisor.warnings_count", { open: data.open, red: data.red, escalated: data.escalated }) : t("supervisor.warnings_none")),
      el(
        "div",
        { class: "table-wrap", style: "max-height: 320px" },
        el(
          "table",
          { class: "data", id: "warnings-rows" },
          el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, tl(`warning.${h}`))))),
          el(
            "tbody",
            {},
            data.items.map((w) =>
              el(
                "tr",
                { class: w.level === "grid" ? "clickable" : "", dataset: { id: w.warning_id, severity: w.severity, level: w.level, unit: w.unit_id, escalated: w.escalated }, onclick: () => w.level === "grid" && zoomTo(w.unit_id) },
                el("td", {}, badge(w.severity)),
                el("td", {}, `${label("wlevel", w.level)} ${w.unit_id}`),
                el("td", {}, lang() === "zh" ? w.title_zh : w.indicator),
                el("td", { class: "num" }, `${num(w.value, 2)} / ${num(w.threshold, 2)}`),
                el("td", {}, w.period),
                el("td", { class: "num" }, w.red_months || "–"),
                el("td", {}, w.escalated ? el("span", { class: "pill error escalated" }, tl("warning.escalated")) : ""),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function markWarnedGrids() {
    // the worst open warning per grid outlines it (red over yellow); the fill stays the chosen KPI
    const worst = {};
    for (const w of (state.warnings && state.warnings.items) || []) {
      if (w.level !== "grid") continue;
      if (worst[w.unit_id] !== "red") worst[w.unit_id] = w.severity;
    }
    state.warned = worst;
    gridLayer.eachLayer((layer) => {
      const sev = worst[layer.feature.properties.grid_id];
      layer.setStyle(sev ? { color: WARNING_COLOURS[sev], weight: 4, dashArray: sev === "red" ? null : "6 4" } : { color: "#455a64", weight: 1, dashArray: null });
    });
  }

  // ---- weekly service stars (服务之星): the server's ranking and its formula ---------------------------
  const STAR_MEASURES = ["orders_handled", "on_time_pct", "visits", "complaints", "open_warnings"];

  async function loadStars() {
    state.stars = await api("/stars", { query: starsWeek.value ? { week: starsWeek.value } : {} });
    if (!starsWeek.value) starsWeek.value = state.stars.week;
    renderStars();
  }

  function renderStars() {
    const data = state.stars;
    if (!data) return;
    const heads = ["rank", "member", "grids", ...STAR_MEASURES, "score"];
    fill(
      starsBox,
      el("div", { class: "n", id: "stars-method" }, `${t("supervisor.stars_method")}: ${data.method}`),
      el(
        "div",
        { class: "table-wrap", style: "max-height: 320px" },
        el(
          "table",
          { class: "data", id: "stars-rows" },
          el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, tl(`stars.${h}`))))),
          el(
            "tbody",
            {},
            data.items.map((r) =>
              el(
                "tr",
                { dataset: { staff: r.staff_id, rank: r.rank, score: r.score, star: r.star } },
                el("td", { class: "num" }, r.star ? el("span", { class: "pill ok star" }, `★ ${r.rank}`) : r.rank),
                el("td", {}, r.name || r.staff_id),
                el("td", {}, r.grids || "–"),
                STAR_MEASURES.map((m) => el("td", { class: "num" }, num(r[m]))),
                el("td", { class: "num" }, num(r.score)),
              ),
            ),
          ),
        ),
      ),
    );
  }

  // ---- weekly report -------------------------------------------------------------------
  async function downloadReport() {
    const period = weekInput.value || isoWeek(new Date());
    reportBtn.disabled = true;
    try {
      const response = await api("/reports", { query: { period, format: "xlsx" }, raw: true });
      const blob = await response.blob();
      const disposition = response.headers.get("Content-Disposition") || "";
      const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
      const name = match ? decodeURIComponent(match[1]) : `${period}-report.xlsx`;
      const a = el("a", { href: URL.createObjectURL(blob), download: name });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      report(err);
    } finally {
      reportBtn.disabled = false;
    }
  }

  function report(err) {
    toast(err instanceof ApiError && err.status === 403 ? t("common.forbidden") : errorText(err), "error");
  }

  const onLang = () => {
    paintMap();
    renderTable();
    renderTrend();
    setOverlayNames();
    loadOverlays().catch(report);
    renderApplications();
    renderTheft();
    renderRoster();
    renderVisits();
    renderWarnings();
    renderStars();
  };
  window.addEventListener("langchange", onLang);
  window.gridservice = { ...(window.gridservice || {}), supervisor: { map, state } };

  const loadGridsOnce = loadGrids();
  loadGridsOnce.then(refresh).catch(report);
  loadGridsOnce.then(loadWarnings).catch(report); // after the grids: the warned ones are outlined
  loadStars().catch(report);
  loadApplications().catch(report);
  loadTheft().catch(report);
  loadGridsOnce.then(() => { rosterStations(); return loadRoster(); }).catch(report);
  loadVisitMembers().catch(report);

  return () => {
    window.removeEventListener("langchange", onLang);
    map.remove();
    if (window.gridservice) delete window.gridservice.supervisor;
  };
}

/** ISO week of a date as "YYYY-Www" (what <input type=week> holds). */
function isoWeek(date) {
  const d = new Date(Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((d - yearStart) / 864e5 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}
