// Dispatcher: one search box, the customer card with the staff to call,
// work orders with their due times, outage impact, and the live order list.
import { api, ApiError, errorText } from "./api.js";
import { label, t, tl } from "./i18n.js";
import { createMap, customersInView, legendControl } from "./map.js";
import { debounce, el, fill, num, toast, when } from "./util.js";

const L = window.L;
/** Visits due shown at once (the most urgent first). */
const VISITS_SHOWN = 20;
const POLL_MS = 15000;
/** The order's next status among the steps of its kind (the server's vocabulary, /web-config.json). */
const nextStatus = (o, vocabulary) => {
  const steps = vocabulary.steps[o.kind] || [];
  const i = steps.indexOf(o.status);
  return i >= 0 && i < steps.length - 1 ? steps[i + 1] : null;
};
/** An order is overdue when one of its clocks has run out (the API's on-time flags are false). */
const isOverdue = (o) => [o.arrival_on_time, o.contact_on_time, o.close_on_time].some((v) => v === false);
/** The due time that matters now: arrival for repairs, else contact, then closing. */
const nextDue = (o, vocabulary) => {
  if (o.kind === "repair") return o.arrived_at ? null : o.arrival_due_at;
  const contacted = vocabulary.contact_columns.some((c) => o[c]);
  return contacted ? o.close_due_at : o.contact_due_at || o.close_due_at;
};

/** Mount the dispatcher in `root`; returns the clean-up function. */
export function mount(root, ctx) {
  const mapDiv = el("div", { class: "map", id: "dispatcher-map" });
  const panel = el("aside", { class: "panel", id: "dispatcher-panel" });
  root.append(el("div", { class: "layout wide-panel" }, mapDiv, panel));

  const view = createMap(mapDiv, ctx.config);
  const { map } = view;
  // What the server lets this user do (GET /auth/me) and the work-order words it uses (/web-config.json).
  const vocabulary = ctx.config.work_orders;
  const allowed = (action) =>
    ctx.user.permissions.includes(action) ? {} : { disabled: true, "data-i18n-title": "dispatcher.read_only", title: t("dispatcher.read_only") };
  const gridLayer = L.featureGroup().addTo(map);
  const impactLayer = L.featureGroup().addTo(map);
  const focusLayer = L.featureGroup().addTo(map);
  map.createPane("focus").style.zIndex = 460; // the chosen customer above the customer dots
  const legend = legendControl("bottomright").addTo(map);
  const grids = new Map(); // grid_id -> {feature, layer}
  customersInView(view, { onClick: (c) => openCustomer(c.id) });

  const state = { results: [], active: -1, customer: null, timer: null, seq: 0, lastOrders: [], ordersTotal: 0, impact: null };

  // ---- panel --------------------------------------------------------------
  const search = el("input", {
    id: "customer-search",
    type: "search",
    autocomplete: "off",
    "data-i18n-ph": "dispatcher.search_placeholder",
    placeholder: t("dispatcher.search_placeholder"),
    "aria-controls": "search-results",
  });
  const results = el("ul", { class: "results", id: "search-results", role: "listbox" });
  const cardBox = el("div", { id: "customer-card" });
  const outageBox = el("div", { id: "outage-box" });
  const ordersBox = el("div", { id: "order-list" });
  const onlyOverdue = el("input", { type: "checkbox", id: "orders-overdue" });
  const ordersStamp = el("span", { class: "muted", id: "orders-updated" });
  const visitsOverdue = el("input", { type: "checkbox", id: "visits-overdue", checked: true });
  const visitsBox = el("div", { id: "visits-due" });

  fill(
    panel,
    el("div", { class: "section" }, el("div", { class: "search-box" }, search, results)),
    el("div", { class: "section" }, cardBox),
    el("div", { class: "section" }, el("h3", {}, tl("dispatcher.outage")), outageForm(), outageBox),
    el("div", { class: "section" }, el("h3", {}, tl("dispatcher.switching")), switchForm()),
    el(
      "div",
      { class: "section" },
      el("div", { class: "row" }, el("h3", { class: "grow" }, tl("dispatcher.open_orders")), el("label", { class: "row" }, onlyOverdue, tl("dispatcher.only_overdue")), ordersStamp),
      ordersBox,
    ),
    ctx.user.permissions.includes("visit.read") &&
    el(
      "div",
      { class: "section" },
      el("div", { class: "row" }, el("h3", { class: "grow" }, tl("dispatcher.visits_due")), el("label", { class: "row" }, visitsOverdue, tl("dispatcher.only_overdue"))),
      visitsBox,
    ),
  );
  fill(cardBox, el("p", { class: "muted" }, tl("dispatcher.card_hint")));

  // ---- grids as context --------------------------------------------------
  async function loadGrids() {
    const data = await api("/grids", { query: { limit: 10000 } });
    gridLayer.clearLayers();
    for (const feature of data.features) {
      const layer = view.geojson(feature, { style: () => ({ color: "#0b5cad", weight: 1, fillOpacity: 0.04 }) }).getLayers()[0];
      layer.bindTooltip(feature.properties.code || feature.properties.grid_id, { permanent: true, direction: "center", className: "grid-label" });
      gridLayer.addLayer(layer);
      grids.set(feature.properties.grid_id, { feature, layer });
    }
    if (data.features.length) map.fitBounds(gridLayer.getBounds(), { padding: [10, 10] });
  }

  // ---- search ----------------------------------------------------------------
  const runSearch = debounce(async () => {
    const q = search.value.trim();
    const seq = ++state.seq;
    if (!q) {
      state.results = [];
      fill(results);
      return;
    }
    try {
      const data = await api("/customers/search", { query: { q, limit: 10 } });
      if (seq !== state.seq) return; // a newer query is on its way
      state.results = data.items;
      state.active = -1;
      renderResults();
    } catch (err) {
      if (seq === state.seq) fill(results, el("li", { class: "error" }, errorText(err)));
    }
  }, 200);
  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", (e) => {
    if (!state.results.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = state.results.length;
      state.active = (state.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      renderResults();
    } else if (e.key === "Enter") {
      e.preventDefault();
      openCustomer(state.results[Math.max(state.active, 0)].customer_id);
    }
  });

  function renderResults() {
    fill(
      results,
      state.results.length ? null : el("li", { class: "muted" }, tl("dispatcher.no_results")),
      state.results.map((r, i) =>
        el(
          "li",
          { role: "option", class: i === state.active ? "active" : "", dataset: { customer: r.customer_id }, onclick: () => openCustomer(r.customer_id) },
          el("span", { class: "primary-line" }, `${r.name || ""}  ${r.customer_id}`),
          el("span", { class: "secondary-line" }, [r.address, r.phone, r.match ? label("match", r.match) : null].filter(Boolean).join(" · ")),
        ),
      ),
    );
  }

  // ---- customer card ---------------------------------------------------------
  async function openCustomer(id) {
    try {
      const card = await api(`/customers/${encodeURIComponent(id)}`);
      state.customer = card;
      renderCard(card);
      if (card.location) focus([card.location.lon, card.location.lat], card);
    } catch (err) {
      report(err);
    }
  }

  function focus(point, card) {
    focusLayer.clearLayers();
    const latlng = view.toLatLng(...point);
    L.circleMarker(latlng, { pane: "focus", radius: 9, color: "#c62828", weight: 3, fillColor: "#ffcdd2", fillOpacity: 0.9 }).addTo(focusLayer);
    const gridId = card.grid && card.grid.grid_id;
    if (gridId && grids.has(gridId)) {
      view.geojson(grids.get(gridId).feature, { style: () => ({ color: "#c62828", weight: 3, fill: false }) }).addTo(focusLayer);
    }
    map.setView(latlng, Math.max(map.getZoom(), 16)); // close enough to show the neighbours as dots
  }

  function staffList(staff) {
    const items = staff || [];
    if (!items.length) return el("p", { class: "muted" }, tl("dispatcher.no_staff"));
    return el(
      "ul",
      { class: "staff-list", id: "card-staff" },
      items.map((s) =>
        el(
          "li",
          {},
          el("span", { class: "pill" }, label("role", s.role)),
          el("span", { class: "grow" }, s.name || s.staff_id, s.reason ? el("span", { class: "muted" }, ` · ${s.reason}`) : null),
          s.phone ? el("span", { class: "muted" }, s.phone) : null,
          s.phone ? el("a", { class: "call", href: `tel:${String(s.phone).replace(/[^\d+]/g, "")}` }, "☎ ", tl("dispatcher.call")) : null,
        ),
      ),
    );
  }

  // who to call now by the duty roster: on duty, standby, then the station
  function dutyList(items, id) {
    if (!items || !items.length) return el("p", { class: "muted", id }, tl("common.none"));
    return el(
      "ul",
      { class: "staff-list", id },
      items.map((s) =>
        el(
          "li",
          { dataset: { kind: s.kind, staff: s.staff_id || "", grid: s.grid_id || "" } },
          el("span", { class: s.kind === "duty" ? "pill ok" : "pill" }, label("dispatcher.on_duty_kind", s.kind)),
          el("span", { class: "grow" }, s.grid_id ? `${s.grid_id} · ` : "", s.name || s.staff_id || "–"),
          s.phone ? el("span", { class: "muted" }, s.phone) : null,
          s.phone ? el("a", { class: "call", href: `tel:${String(s.phone).replace(/[^\d+]/g, "")}` }, "☎ ", tl("dispatcher.call")) : null,
        ),
      ),
    );
  }

  function renderCard(card) {
    const c = card.customer;
    const grid = card.grid || {};
    const path = card.supply_path || [];
    const transformer = path.find((p) => p.layer === "transformers");
    const outages = card.active_outages || [];
    const orders = card.open_work_orders || [];
    const past = (card.history && card.history.work_orders) || [];
    fill(
      cardBox,
      el(
        "div",
        { class: "card", id: "card", dataset: { customer: c.customer_id } },
        el("div", { class: "row" }, el("h2", { class: "grow", id: "card-name" }, c.name || ""), el("span", { class: "pill" }, c.customer_id)),
        el(
          "dl",
          {},
          el("dt", {}, tl("dispatcher.phone")), el("dd", {}, c.phone || "–"),
          el("dt", {}, tl("dispatcher.address")), el("dd", {}, c.address || "–"),
          el("dt", {}, tl("dispatcher.category")), el("dd", {}, `${label("category", c.category)} ${c.voltage ? label("voltage", c.voltage) : ""}`),
          el("dt", {}, tl("common.grid")), el("dd", { id: "card-grid", dataset: { grid: grid.grid_id || "" } }, grid.grid_id ? `${grid.code || grid.grid_id} ${grid.name || ""}` : "–"),
          el("dt", {}, tl("common.station")), el("dd", {}, (card.station && card.station.name) || grid.station_id || "–"),
          el("dt", {}, tl("dispatcher.supply_path")), el("dd", {}, path.length ? [...path].reverse().map((p) => p.name || p.device_id).join(" → ") : "–"),
          c.meter_id ? el("dt", {}, tl("dispatcher.meter")) : null, c.meter_id ? el("dd", {}, c.meter_id) : null,
        ),
        card.on_duty && card.on_duty.length ? el("h3", {}, tl("dispatcher.on_duty")) : null,
        card.on_duty && card.on_duty.length ? dutyList(card.on_duty, "card-on-duty") : null,
        el("h3", {}, tl("dispatcher.responsible")),
        staffList(card.staff),
        outages.length ? el("h3", { class: "error" }, tl("dispatcher.active_outages")) : null,
        outages.map((o) => el("div", { class: "error" }, `${label("outage", o.kind)} · ${o.device_id} · ${when(o.start_at)} ${o.cause || ""}`)),
        el("h3", {}, tl("dispatcher.customer_orders")),
        orders.length ? orderTable(orders, { compact: true }) : el("p", { class: "muted" }, tl("common.none")),
        past.length ? el("h3", {}, tl("dispatcher.history")) : null,
        past.length ? el("ul", { class: "problem-list" }, past.slice(0, 5).map((h) => el("li", {}, `${when(h.received_at)} ${label("kind", h.kind)} · ${label("status", h.status)} ${h.description || ""}`))) : null,
        el(
          "div",
          { class: "toolbar" },
          el("button", { type: "button", class: "primary", id: "new-order", onclick: () => orderForm(c), ...allowed("work_order.create") }, tl("dispatcher.new_order")),
          transformer ? el("button", { type: "button", id: "outage-here", onclick: () => prefillOutage(transformer.device_id) }, tl("dispatcher.outage_here")) : null,
        ),
        el("div", { id: "order-form-box" }),
      ),
    );
  }

  // ---- work orders -------------------------------------------------------------
  function orderForm(customer) {
    const box = document.getElementById("order-form-box");
    const kind = el("select", { id: "order-kind" }, vocabulary.kinds.map((k) => el("option", { value: k, "data-i18n": `kind.${k}` }, label("kind", k))));
    const description = el("textarea", { id: "order-description", rows: 2, "data-i18n-ph": "dispatcher.description", placeholder: t("dispatcher.description") });
    const submit = el("button", { type: "submit", class: "primary", id: "order-submit" }, tl("dispatcher.create_order"));
    const form = el(
      "form",
      { class: "stack", id: "order-form" },
      el("label", { for: "order-kind" }, tl("dispatcher.order_kind")), kind,
      el("label", { for: "order-description" }, tl("dispatcher.description")), description,
      el("div", { class: "toolbar" }, submit, el("button", { type: "button", onclick: () => fill(box) }, tl("common.cancel"))),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      try {
        const created = await api("/work-orders", {
          method: "POST",
          body: { customer_id: customer.customer_id, kind: kind.value, description: description.value.trim() || null, channel: "95598" },
        });
        const o = created.properties;
        toast(t("dispatcher.order_created", { id: o.work_order_id }), "ok");
        loadOrders();
        // the card now lists the new order among the customer's open ones
        try {
          state.customer = await api(`/customers/${encodeURIComponent(customer.customer_id)}`);
          renderCard(state.customer);
        } catch {
          // keep the card as it was
        }
        fill(
          document.getElementById("order-form-box"),
          el("div", { class: "card", id: "order-created", dataset: { order: o.work_order_id } }, el("strong", {}, t("dispatcher.order_created", { id: o.work_order_id })), el("dl", {}, dueRows(o))),
        );
      } catch (err) {
        submit.disabled = false;
        report(err);
      }
    });
    fill(box, form);
    kind.focus();
  }

  function dueRows(o) {
    const staff = state.customer && (state.customer.staff || []).find((s) => s.staff_id === o.assignee_id);
    const rows = [el("dt", {}, tl("dispatcher.assignee")), el("dd", { id: "order-assignee" }, staff ? `${staff.name} (${label("role", staff.role)})` : o.assignee_id || "–")];
    for (const key of ["arrival_due_at", "contact_due_at", "close_due_at"]) {
      if (o[key]) rows.push(el("dt", {}, tl(`due.${key}`)), el("dd", { class: "due", dataset: { due: key } }, when(o[key])));
    }
    return rows;
  }

  function orderTable(orders, { compact = false } = {}) {
    // the card's orders come without their clocks: it shows when each came in
    const head = [tl("orders.id"), tl("orders.kind"), compact ? null : tl("common.grid"), tl("orders.status"), tl(compact ? "orders.received" : "orders.due"), compact ? null : ""];
    return el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: "data orders" },
        el("thead", {}, el("tr", {}, head.filter((h) => h !== null).map((h) => el("th", {}, h)))),
        el(
          "tbody",
          {},
          orders.map((o) => {
            const overdue = isOverdue(o);
            const next = nextStatus(o, vocabulary);
            const grid = grids.get(o.grid_id);
            return el(
              "tr",
              {
                class: `${o.customer_id ? "clickable" : ""} ${overdue ? "overdue" : ""}`,
                title: [o.customer_id, o.description].filter(Boolean).join(" · "),
                dataset: { order: o.work_order_id },
                onclick: () => o.customer_id && openCustomer(o.customer_id),
              },
              el("td", {}, o.work_order_id),
              el("td", {}, label("kind", o.kind)),
              compact ? null : el("td", {}, grid ? grid.feature.properties.code : o.grid_id || "–"),
              el("td", {}, el("span", { class: `pill ${overdue ? "overdue" : ""}` }, overdue ? t("orders.overdue") : label("status", o.status))),
              el("td", {}, when(compact ? o.received_at : nextDue(o, vocabulary))),
              compact
                ? null
                : el("td", {}, next ? el("button", { type: "button", class: "advance", onclick: (e) => { e.stopPropagation(); advance(o, next); }, ...allowed("work_order.update") }, label("action", next)) : null),
            );
          }),
        ),
      ),
    );
  }

  async function advance(order, status) {
    try {
      await api(`/work-orders/${encodeURIComponent(order.work_order_id)}/status`, { method: "POST", body: { status } });
      toast(t("orders.advanced", { id: order.work_order_id, status: label("status", status) }), "ok");
      loadOrders();
    } catch (err) {
      report(err);
    }
  }

  async function loadOrders() {
    try {
      const data = await api("/work-orders", { query: { open: true, overdue: onlyOverdue.checked ? true : undefined, limit: 100 } });
      state.lastOrders = data.features.map((f) => f.properties);
      state.ordersTotal = data.numberMatched;
      renderOrders();
      ordersStamp.textContent = t("dispatcher.updated", { time: when(new Date().toISOString()).slice(11) });
    } catch (err) {
      fill(ordersBox, el("p", { class: "error" }, errorText(err)));
    }
  }
  function renderOrders() {
    const items = state.lastOrders;
    const more = state.ordersTotal > items.length ? el("p", { class: "muted" }, t("common.more", { n: state.ordersTotal - items.length })) : null;
    fill(ordersBox, items.length ? orderTable(items) : el("p", { class: "muted" }, tl("common.none")), more);
  }
  onlyOverdue.addEventListener("change", loadOrders);

  // ---- visits due (走访/回访): the most urgent first; a dispatcher records a call or a visit done ----------
  async function loadVisits() {
    const mine = (state.visitsSeq = (state.visitsSeq || 0) + 1);
    try {
      const data = await api("/visits/due", { query: { overdue: visitsOverdue.checked ? true : undefined, limit: VISITS_SHOWN } });
      if (mine === state.visitsSeq) {
        state.visits = data;
        renderVisits();
      }
    } catch (err) {
      fill(visitsBox, el("p", { class: "error" }, errorText(err)));
    }
  }
  function renderVisits() {
    const data = state.visits;
    if (!data) return;
    const heads = ["customer", "reason", "due"].map((h) => el("th", {}, tl(`visits.${h}`)));
    const due = (v) => (v.due_at ? when(v.due_at).slice(0, 10) : t("visits.never"));
    const rows = data.items.map((v) =>
      el(
        "tr",
        { dataset: { customer: v.customer_id, kind: v.kind, staff: v.staff_id }, class: v.overdue ? "overdue" : "", title: `${t("visits.staff")} ${v.staff_id || "–"}` },
        el("td", {}, v.name || "", el("br"), el("span", { class: "muted" }, v.customer_id)),
        el("td", {}, `${label("visitkind", v.kind)} · ${label("visitreason", v.reason)}`),
        el("td", { style: "white-space: nowrap" }, due(v)),
        el("td", {}, v.staff_id ? el("button", { type: "button", class: "visit-done", onclick: () => recordVisit(v), ...allowed("visit.write") }, tl("dispatcher.visit_done")) : null),
      ),
    );
    fill(
      visitsBox,
      el("p", { class: "muted", id: "visits-count" }, t("dispatcher.visits_count", { n: num(data.total), late: num(data.overdue) })),
      rows.length ? el("div", { class: "table-wrap", style: "max-height: 260px" }, el("table", { class: "data" }, el("thead", {}, el("tr", {}, heads, el("th"))), el("tbody", {}, rows))) : el("p", { class: "muted" }, tl("visits.none")),
    );
  }
  async function recordVisit(v) {
    try {
      await api("/visits", { method: "POST", body: { customer_id: v.customer_id, staff_id: v.staff_id, kind: v.kind } });
      toast(t("dispatcher.visit_recorded", { kind: label("visitkind", v.kind), customer: v.name || v.customer_id }), "ok");
      loadVisits();
    } catch (err) {
      report(err);
    }
  }
  visitsOverdue.addEventListener("change", loadVisits);

  // ---- outages -------------------------------------------------------------
  function outageForm() {
    const device = el("input", { id: "outage-device", class: "grow", "data-i18n-ph": "dispatcher.device_placeholder", placeholder: t("dispatcher.device_placeholder"), required: true });
    const kind = el("select", { id: "outage-kind" }, ["unplanned", "planned"].map((k) => el("option", { value: k, "data-i18n": `outage.${k}` }, label("outage", k))));
    const cause = el("input", { id: "outage-cause", "data-i18n-ph": "dispatcher.cause", placeholder: t("dispatcher.cause") });
    const check = el("button", { type: "button", id: "outage-check" }, tl("dispatcher.impact"));
    const declare = el("button", { type: "submit", class: "danger", id: "outage-declare", ...allowed("outage.create") }, tl("dispatcher.declare"));
    const form = el("form", { class: "stack", id: "outage-form" }, el("div", { class: "row nowrap" }, device, kind), cause, el("div", { class: "toolbar" }, check, declare));
    check.addEventListener("click", async () => {
      if (!device.value.trim()) return device.focus();
      try {
        showImpact(await api("/outages/impact", { query: { device_id: device.value.trim(), limit: 1 } }), null);
      } catch (err) {
        report(err);
      }
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const outage = await api("/outages", { method: "POST", body: { device_id: device.value.trim(), kind: kind.value, cause: cause.value.trim() || null } });
        toast(t("dispatcher.outage_declared", { id: outage.outage_id }), "ok");
        showImpact(await api(`/outages/${encodeURIComponent(outage.outage_id)}/impact`, { query: { limit: 1 } }), outage);
      } catch (err) {
        report(err);
      }
    });
    return form;
  }

  // ---- switching (倒闸操作): open or close a switch; the server answers whom it cut off or restored ----------
  function switchForm() {
    const id = el("input", { id: "switch-id", class: "grow", "data-i18n-ph": "dispatcher.switch_placeholder", placeholder: t("dispatcher.switch_placeholder"), required: true });
    const note = el("input", { id: "switch-note", "data-i18n-ph": "dispatcher.switch_note", placeholder: t("dispatcher.switch_note") });
    const result = el("p", { id: "switch-result", class: "muted" });
    const operate = (isOpen) => async () => {
      if (!id.value.trim()) return id.focus();
      try {
        const r = await api(`/network/switches/${encodeURIComponent(id.value.trim())}`, { method: "POST", body: { is_open: isOpen, note: note.value.trim() } });
        const grids = Object.entries(isOpen ? r.grids_cut_off : r.grids_restored).map(([g, n]) => `${g} ${num(n)}`).join("、") || "–";
        const text = t(isOpen ? "dispatcher.switch_opened" : "dispatcher.switch_closed", { id: r.switch_id, n: num(isOpen ? r.customers_cut_off : r.customers_restored), grids });
        fill(result, text);
        toast(text, "ok");
      } catch (err) {
        report(err);
      }
    };
    const open = el("button", { type: "button", class: "danger", id: "switch-open", onclick: operate(true), ...allowed("switch.operate") }, tl("dispatcher.switch_open"));
    const close = el("button", { type: "button", id: "switch-close", onclick: operate(false), ...allowed("switch.operate") }, tl("dispatcher.switch_close"));
    return el("div", { class: "stack", id: "switch-form" }, el("div", { class: "row nowrap" }, id), note, el("div", { class: "toolbar" }, open, close), result);
  }

  function prefillOutage(deviceId) {
    const input = document.getElementById("outage-device");
    input.value = deviceId;
    input.scrollIntoView({ block: "center" });
    input.focus();
  }

  function showImpact(impact, outage) {
    state.impact = { impact, outage };
    impactLayer.clearLayers();
    const perGrid = Object.entries(impact.grids || {});
    for (const [id] of perGrid) {
      if (grids.has(id)) view.geojson(grids.get(id).feature, { style: () => ({ color: "#c62828", weight: 2, fillColor: "#ef5350", fillOpacity: 0.35 }) }).addTo(impactLayer);
    }
    if (impactLayer.getLayers().length) map.fitBounds(impactLayer.getBounds(), { maxZoom: 15 });
    legend.show(t("dispatcher.outage"), [{ color: "#ef5350", label: t("dispatcher.affected_grids") }]);
    const important = impact.important_customers || [];
    fill(
      outageBox,
      el(
        "div",
        { class: "card", id: "outage-impact" },
        el("strong", {}, outage ? t("dispatcher.outage_declared_title", { id: outage.outage_id }) : t("dispatcher.impact_title", { device: impact.device_id })),
        el(
          "dl",
          {},
          el("dt", {}, tl("dispatcher.affected_customers")), el("dd", { id: "impact-customers" }, num(impact.customers_affected)),
          el("dt", {}, tl("dispatcher.affected_grids")),
          el("dd", { id: "impact-grids", dataset: { grids: perGrid.map(([id]) => id).join(",") } }, perGrid.map(([id, n]) => `${grids.has(id) ? grids.get(id).feature.properties.code : id} (${n})`).join("、") || "–"),
          el("dt", {}, tl("common.transformers")), el("dd", {}, num((impact.transformers || []).length)),
          important.length ? el("dt", {}, tl("dispatcher.important")) : null,
          important.length ? el("dd", {}, important.slice(0, 5).map((c) => c.name || c.customer_id).join("、") + (important.length > 5 ? ` …(${important.length})` : "")) : null,
        ),
        el("h3", {}, tl("dispatcher.notify")),
        staffList(impact.staff),
        impact.on_duty && impact.on_duty.length ? el("h3", {}, tl("dispatcher.on_duty")) : null,
        impact.on_duty && impact.on_duty.length ? dutyList(impact.on_duty, "impact-on-duty") : null,
      ),
    );
  }

  // ---- click the map: which grid, who is responsible ---------------------------
  map.on("click", async (e) => {
    const [lon, lat] = view.fromLatLng(e.latlng);
    try {
      const found = await api("/locate", { query: { lon: lon.toFixed(7), lat: lat.toFixed(7) } });
      focusLayer.clearLayers();
      L.circleMarker(e.latlng, { radius: 7, color: "#0b5cad", weight: 3 }).addTo(focusLayer);
      const grid = found.grid;
      if (grids.has(grid.grid_id)) view.geojson(grids.get(grid.grid_id).feature, { style: () => ({ color: "#0b5cad", weight: 3, fill: false }) }).addTo(focusLayer);
      fill(
        cardBox,
        el(
          "div",
          { class: "card", id: "point-card" },
          el("h2", {}, `${grid.code || grid.grid_id} ${grid.name || ""}`),
          el("dl", {}, el("dt", {}, tl("common.station")), el("dd", {}, (found.station && found.station.name) || grid.station_id || "–"), el("dt", {}, tl("dispatcher.point")), el("dd", {}, `${lon.toFixed(5)}, ${lat.toFixed(5)}`)),
          el("h3", {}, tl("dispatcher.responsible")),
          staffList(found.staff),
          el("p", { class: "muted" }, tl("dispatcher.zoom_for_customers")),
        ),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        focusLayer.clearLayers();
        fill(cardBox, el("div", { class: "card", id: "point-card" }, el("h2", {}, tl("dispatcher.outside")), el("p", { class: "muted" }, `${lon.toFixed(5)}, ${lat.toFixed(5)}`)));
      } else report(err);
    }
  });

  function report(err) {
    toast(err instanceof ApiError && err.status === 403 ? t("common.forbidden") : errorText(err), "error");
  }

  const onLang = () => {
    if (state.results.length) renderResults();
    if (state.customer) renderCard(state.customer);
    if (state.impact) showImpact(state.impact.impact, state.impact.outage);
    renderOrders();
    renderVisits();
  };
  window.addEventListener("langchange", onLang);
  window.gridservice = { ...(window.gridservice || {}), dispatcher: { map, view, state } };

  loadGrids().catch(report);
  loadOrders();
  if (ctx.user.permissions.includes("visit.read")) loadVisits();
  state.timer = setInterval(() => {
    if (!document.hidden) loadOrders();
  }, POLL_MS);
  search.focus();

  return () => {
    clearInterval(state.timer);
    window.removeEventListener("langchange", onLang);
    map.remove();
    if (window.gridservice) delete window.gridservice.dispatcher;
  };
}
