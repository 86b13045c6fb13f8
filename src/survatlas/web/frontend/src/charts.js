// The summary dashboard: small SVG bar charts drawn here (no chart library), text as text nodes.
import { clear, el, fmt, getJSON, human, pct } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

// Horizontal bars: rows of [label, value, low?, high?]; values are counts or shares.
export function barChart(title, rows, { share = false } = {}) {
  const width = 300;
  const rowH = 18;
  const labelW = 118;
  const max = share ? 1 : Math.max(1, ...rows.map((r) => r[3] ?? r[1]));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${rows.length * rowH + 4}`, class: "chart", role: "img" });
  chart.append(svg("title", {}, title));
  rows.forEach(([label, value, low, high], i) => {
    const y = i * rowH + 2;
    const w = ((width - labelW - 52) * value) / max;
    chart.append(svg("text", { x: labelW - 4, y: y + 12, "text-anchor": "end", class: "chart-label" }, truncate(String(label), 18)));
    chart.append(svg("rect", { x: labelW, y: y + 2, width: Math.max(w, 1), height: rowH - 6, class: "chart-bar" }));
    if (low != null && high != null) {
      const x1 = labelW + ((width - labelW - 52) * low) / max;
      const x2 = labelW + ((width - labelW - 52) * high) / max;
      chart.append(svg("line", { x1, x2, y1: y + rowH / 2, y2: y + rowH / 2, class: "chart-interval" }));
    }
    const text = share ? `${pct(value)}` : fmt(value);
    chart.append(svg("text", { x: labelW + Math.max(w, 1) + 4, y: y + 12, class: "chart-value" }, text));
  });
  return el("figure", { class: "chart-figure" }, el("figcaption", {}, title), chart);
}

function truncate(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

const countRows = (obj) => Object.entries(obj || {}).map(([k, v]) => [human(k), v]);

export async function showDashboard(app) {
  const root = clear(document.getElementById("summary-panel"));
  root.append(el("p", { class: "muted" }, "Loading…"));
  let stats;
  try {
    stats = await getJSON("/api/stats");
  } catch (error) {
    clear(root).append(el("p", { class: "error" }, error.message));
    return;
  }
  const dev = stats.devices;
  clear(root).append(
    el("p", { class: "headline" }, `${fmt(dev.total)} devices`, el("span", { class: "muted" }, ` (${fmt(dev.surveillance)} tagged man_made=surveillance)`)),
    barChart("Devices by type", countRows(dev.by_device_type)),
    barChart("Devices by operator (top 15)", countRows(dev.by_operator)),
    barChart("Devices by manufacturer (top 15)", countRows(dev.by_manufacturer)),
    barChart("Devices by zone", countRows(dev.by_zone)),
    barChart("Devices by area (public / outdoor / indoor)", countRows(dev.by_area)),
    barChart(
      "Tag completeness (share of devices)",
      Object.entries(stats.completeness).filter(([, v]) => v !== null).map(([k, v]) => [human(k), v]),
      { share: true },
    ),
    barChart("Sites by category", countRows(stats.sites_by_category)),
    el("div", { id: "coverage-charts" }),
    el("p", { class: "muted method" }, `Method: ${stats.method}.`),
  );
  const slot = root.querySelector("#coverage-charts");
  if (!app.config.analyses.coverage) {
    slot.append(el("p", { class: "muted" }, "Coverage by site category appears here once survatlas.coverage is installed and computed."));
    return;
  }
  try {
    const summary = await getJSON(`/api/coverage/summary?level=${encodeURIComponent(app.level)}`);
    const rows = Object.entries(summary.sites_by_category || {}).map(([cat, v]) => [human(cat), v.share ?? 0, v.low, v.high]);
    slot.append(barChart(`Coverage by site category (share of area in view, ${summary.level}; line: low–high)`, rows, { share: true }));
    const st = summary.streets || {};
    if (st.share != null) {
      slot.append(el("p", {}, `Streets in view (${summary.level}): ${pct(st.share, 1)} (low ${pct(st.low, 1)} – high ${pct(st.high, 1)}) of walkable street length.`));
    }
    if (summary.method) slot.append(el("p", { class: "muted method" }, `Coverage method: ${summary.method}`));
  } catch (error) {
    slot.append(el("p", { class: "muted" }, `Coverage: ${error.message}`));
  }
}
