// A small line chart drawn as inline SVG (no chart library, nothing from a CDN).
const NS = "http://www.w3.org/2000/svg";
export const SERIES_COLOURS = ["#0b5cad", "#e65100", "#2e7d32", "#8e24aa", "#c62828"];

function node(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

function niceStep(span, ticks) {
  const raw = span / Math.max(ticks, 1);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/**
 * Draw series over shared x labels.
 * series: [{name, values: [number|null]}]; labels: ["2026-01", ...].
 * Returns an <svg>; missing values break the line.
 */
export function lineChart(labels, series, { width = 440, height = 170, title = "", unit = "" } = {}) {
  const pad = { left: 44, right: 10, top: title ? 20 : 8, bottom: 22 };
  const svg = node("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (lo > 0 && lo / (hi || 1) < 0.5) lo = 0;
  if (hi === lo) {
    hi += 1;
    lo = Math.max(0, lo - 1);
  }
  // counts get whole-number ticks
  const step = values.every(Number.isInteger) ? Math.max(1, niceStep(hi - lo, 4)) : niceStep(hi - lo, 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const x = (i) => pad.left + (labels.length <= 1 ? w / 2 : (i * w) / (labels.length - 1));
  const y = (v) => pad.top + h - ((v - lo) / (hi - lo)) * h;
  if (title) svg.append(node("text", { x: pad.left, y: 12, style: "font-weight:600;fill:#1f2933;font-size:11px" }, title));
  for (let v = lo; v <= hi + step / 2; v += step) {
    svg.append(node("line", { class: "gridline", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    const text = Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Number(v.toFixed(3)));
    svg.append(node("text", { x: pad.left - 4, y: y(v) + 3, "text-anchor": "end" }, text + unit));
  }
  svg.append(node("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: pad.top + h, y2: pad.top + h }));
  const every = Math.ceil(labels.length / 6);
  labels.forEach((lab, i) => {
    if (i % every === 0 || i === labels.length - 1) svg.append(node("text", { x: x(i), y: height - 6, "text-anchor": "middle" }, lab));
  });
  series.forEach((s, k) => {
    const colour = s.colour || SERIES_COLOURS[k % SERIES_COLOURS.length];
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || v === undefined || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    svg.append(node("path", { class: "series", d, stroke: colour, "data-series": s.name }));
    s.values.forEach((v, i) => {
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const dot = node("circle", { class: "dot", cx: x(i), cy: y(v), r: 3, fill: colour });
      dot.append(node("title", {}, `${s.name} ${labels[i]}: ${Number(v.toFixed(3))}${unit}`));
      svg.append(dot);
    });
  });
  return svg;
}

/** A legend row for the series of a chart. */
export function chartLegend(series) {
  const div = document.createElement("div");
  div.className = "chart-legend";
  series.forEach((s, k) => {
    const span = document.createElement("span");
    span.style.setProperty("--c", s.colour || SERIES_COLOURS[k % SERIES_COLOURS.length]);
    span.textContent = s.name;
    div.append(span);
  });
  return div;
}

/**
 * A sparkline of one series (a meter's monthly kWh): a polyline scaled from 0 (or the lowest value, if
 * negative) to the highest; gaps for missing values; a dashed zero line when the series goes below 0.
 * The <title> lists the months and values. Returns an <svg>.
 */
export function sparkline(values, labels, { width = 64, height = 22, colour = SERIES_COLOURS[0] } = {}) {
  const svg = node("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "sparkline", role: "img" });
  const known = values.filter((v) => v !== null && v !== undefined);
  const lo = Math.min(0, ...known);
  const hi = Math.max(lo + 1, ...known);
  const x = (i) => (values.length > 1 ? 2 + (i * (width - 4)) / (values.length - 1) : width / 2);
  const y = (v) => height - 2 - ((v - lo) / (hi - lo)) * (height - 4);
  svg.append(node("title", {}, values.map((v, i) => `${labels[i] ?? i}: ${v ?? "–"}`).join("\n")));
  if (lo < 0) svg.append(node("line", { x1: 0, x2: width, y1: y(0), y2: y(0), stroke: "#999", "stroke-dasharray": "2 2" }));
  let run = [];
  const flush = () => {
    if (run.length > 1) svg.append(node("polyline", { points: run.join(" "), fill: "none", stroke: colour, "stroke-width": 1.5 }));
    if (run.length === 1) svg.append(node("circle", { cx: run[0].split(",")[0], cy: run[0].split(",")[1], r: 1.5, fill: colour }));
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null || v === undefined) flush();
    else run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  });
  flush();
  return svg;
}
