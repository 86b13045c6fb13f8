// The map legend: one model (what is shown, in which colours, with numbers) drawn twice — as
// DOM in the side panel and on a canvas for "Save view as PNG".
import { CONTEXT_COLOURS } from "./context.js";
import { clear, el, human, swatch } from "./dom.js";
import {
  AREA_COLOURS,
  CLUSTER_STEPS,
  DEVICE_TYPES,
  DORI_COLOURS,
  NOT_IN_VIEW,
  PARK_COLOUR,
  ROUTE_COLOURS,
  SHARE_STOPS,
  iconCanvas,
} from "./style.js";

const ROUTE_LABELS = { shortest: "Shortest route", least_exposure: "Least-exposure route" };

function fmtCount(n) {
  return n.toLocaleString("en-GB");
}

// Sections of the legend for the layers now visible: [{title, items: [...]}, ...].
export function legendModel(app) {
  const on = (name) => app.layerOn(name);
  const sections = [];
  const shared = [];
  if (on("coverage") && app.config.analyses.coverage) shared.push("streets", "sites");
  if (on("h3") && app.config.analyses.coverage) shared.push("H3 cells");
  if (shared.length) {
    sections.push({
      title: `Share in view, ${app.level} (${shared.join(", ")})`,
      items: [
        { kind: "gradient", stops: SHARE_STOPS, ticks: [0, 0.25, 0.5, 0.75, 1].map((v) => [v, `${v * 100} %`]) },
        { kind: "swatch", colour: NOT_IN_VIEW, label: "0 % — not in view of any camera" },
      ],
    });
  }
  if (on("cameras")) {
    sections.push({
      title: "Devices: shape = type",
      items: DEVICE_TYPES.map((type) => ({ kind: "icon", type, colour: "#666666", label: human(type) })),
    });
    sections.push({
      title: "Devices: colour = area watched",
      items: Object.entries(AREA_COLOURS).map(([area, colour]) => ({ kind: "dot", colour, label: area === "unknown" ? "not tagged" : area })),
    });
    const bounds = CLUSTER_STEPS.map(([n], i) => (i + 1 < CLUSTER_STEPS.length ? `${fmtCount(n)}–${fmtCount(CLUSTER_STEPS[i + 1][0] - 1)}` : `${fmtCount(n)} or more`));
    sections.push({
      title: "Clusters (zoomed out): devices per circle",
      items: CLUSTER_STEPS.map(([, colour], i) => ({ kind: "dot", colour, label: bounds[i] })),
    });
  }
  if (on("visibility") && app.config.analyses.coverage && app.selectedDevice != null) {
    sections.push({
      title: "Visibility of the selected camera (DORI level)",
      items: Object.entries(DORI_COLOURS).filter(([level]) => level !== "plate").map(([level, colour]) => ({ kind: "swatch", colour, label: level })),
    });
  }
  if (on("routes") && app.routes && app.routes.points.length === 2) {
    sections.push({
      title: "Routes",
      items: Object.entries(ROUTE_COLOURS).map(([key, colour]) => ({ kind: "line", colour, dashed: key === "shortest", label: ROUTE_LABELS[key] })),
    });
  }
  const context = [];
  if (on("base")) context.push({ kind: "swatch", colour: "#d6cec6", label: "building" });
  if (on("sites")) {
    context.push({ kind: "swatch", colour: PARK_COLOUR, label: "square or park (site)" });
    context.push({ kind: "line", colour: "#7a7a7a", dashed: true, label: "site outline (school, station …)" });
  }
  if (on("context")) {
    context.push({ kind: "swatch", colour: CONTEXT_COLOURS.water, label: "water" });
    context.push({ kind: "swatch", colour: CONTEXT_COLOURS.green, label: "park, grass or wood" });
    context.push({ kind: "line", colour: CONTEXT_COLOURS.rail, label: "railway or tram" });
    context.push({ kind: "line", colour: CONTEXT_COLOURS.motorway, label: "motorway or trunk road" });
  }
  if (context.length) sections.push({ title: "Base map", items: context });
  return sections;
}

// --- DOM ---------------------------------------------------------------------------------

function gradientBar(item) {
  const bar = el("span", { class: "legend-gradient" });
  bar.style.background = `linear-gradient(to right, ${item.stops.map(([v, c]) => `${c} ${v * 100}%`).join(", ")})`;
  const ticks = el("span", { class: "legend-ticks" }, item.ticks.map(([v, label]) => {
    const tick = el("span", {}, label);
    tick.style.left = `${v * 100}%`;
    if (v === 0) tick.style.transform = "none";
    if (v === 1) tick.style.transform = "translateX(-100%)";
    return tick;
  }));
  return el("li", { class: "legend-wide" }, el("span", { class: "legend-scale" }, bar, ticks));
}

function domItem(item) {
  if (item.kind === "gradient") return gradientBar(item);
  if (item.kind === "icon") {
    const canvas = iconCanvas(item.type, item.colour, 32);
    canvas.className = "legend-icon";
    return el("li", {}, canvas, item.label);
  }
  if (item.kind === "line") {
    const line = el("span", { class: `legend-line${item.dashed ? " dashed" : ""}` });
    line.style.borderTopColor = item.colour;
    return el("li", {}, line, item.label);
  }
  const mark = swatch(item.colour);
  if (item.kind === "dot") mark.classList.add("dot");
  return el("li", {}, mark, item.label);
}

export function renderLegend(app) {
  const root = clear(document.getElementById("legend"));
  for (const section of legendModel(app)) {
    root.append(el("h3", {}, section.title), el("ul", { class: "legend" }, section.items.map(domItem)));
  }
}

// --- canvas (for the PNG export) ----------------------------------------------------------

const FONT = '"Noto Sans", "DejaVu Sans", sans-serif';

// Size of the legend drawn at `scale` (CSS px → canvas px) in a box `width` wide.
export function drawLegend(ctx, sections, x, y, width, scale) {
  const s = scale;
  let cy = y;
  const line = 17 * s;
  ctx.textBaseline = "middle";
  for (const section of sections) {
    ctx.fillStyle = "#444";
    ctx.font = `600 ${11 * s}px ${FONT}`;
    cy += line * 0.7;
    ctx.fillText(section.title.toUpperCase(), x, cy, width);
    cy += line * 0.9;
    for (const item of section.items) {
      cy = drawItem(ctx, item, x, cy, width, s) + line;
    }
    cy += line * 0.2;
  }
  return cy - y;
}

function drawItem(ctx, item, x, cy, width, s) {
  ctx.font = `${11.5 * s}px ${FONT}`;
  ctx.fillStyle = "#222";
  if (item.kind === "gradient") {
    const w = width - 20 * s;
    const grad = ctx.createLinearGradient(x, 0, x + w, 0);
    for (const [v, c] of item.stops) grad.addColorStop(v, c);
    ctx.fillStyle = grad;
    ctx.fillRect(x, cy - 6 * s, w, 12 * s);
    ctx.strokeStyle = "rgba(0,0,0,0.3)";
    ctx.strokeRect(x, cy - 6 * s, w, 12 * s);
    ctx.fillStyle = "#222";
    for (const [v, label] of item.ticks) {
      ctx.textAlign = v === 0 ? "left" : v === 1 ? "right" : "center";
      ctx.fillText(label, x + v * w, cy + 15 * s);
    }
    ctx.textAlign = "left";
    return cy + 15 * s;
  }
  if (item.kind === "icon") {
    ctx.drawImage(iconCanvas(item.type, item.colour, 32), x, cy - 7 * s, 14 * s, 14 * s);
  } else if (item.kind === "line") {
    ctx.strokeStyle = item.colour;
    ctx.lineWidth = 4 * s;
    ctx.setLineDash(item.dashed ? [5 * s, 3 * s] : []);
    ctx.beginPath();
    ctx.moveTo(x, cy);
    ctx.lineTo(x + 16 * s, cy);
    ctx.stroke();
    ctx.setLineDash([]);
  } else {
    ctx.fillStyle = item.colour;
    ctx.beginPath();
    if (item.kind === "dot") ctx.arc(x + 7 * s, cy, 6 * s, 0, 2 * Math.PI);
    else ctx.rect(x, cy - 6 * s, 14 * s, 12 * s);
    ctx.fill();
    ctx.strokeStyle = "rgba(0,0,0,0.25)";
    ctx.lineWidth = 1 * s;
    ctx.stroke();
  }
  ctx.fillStyle = "#222";
  ctx.fillText(item.label, x + 22 * s, cy, width - 22 * s);
  return cy;
}
