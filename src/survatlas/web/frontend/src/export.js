// "Save view as PNG": the map as drawn, with a title, the legend of the visible layers, a scale
// bar, a north arrow and the attribution — one image an editor can print.
import { drawLegend, legendModel } from "./legend.js";

const FONT = '"Noto Sans", "DejaVu Sans", sans-serif';
const LEGEND_W = 300;
const TITLE_H = 46;
const FOOT_H = 26;

// The map canvas as an image (read inside a render, while the drawing buffer is intact).
function mapImage(map) {
  return new Promise((resolve) => {
    map.once("render", () => {
      const copy = document.createElement("canvas");
      const src = map.getCanvas();
      copy.width = src.width;
      copy.height = src.height;
      copy.getContext("2d").drawImage(src, 0, 0);
      resolve(copy);
    });
    map.triggerRepaint();
  });
}

// A round length for the scale bar (1, 2, 5 × 10^n metres) no longer than `max` metres.
export function niceLength(max) {
  const pow = 10 ** Math.floor(Math.log10(max));
  for (const f of [5, 2, 1]) if (f * pow <= max) return f * pow;
  return pow;
}

function metresPerPixel(map) {
  const lat = map.getCenter().lat;
  return (40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** map.getZoom());
}

function drawScaleBar(ctx, map, x, y, s) {
  const mpp = metresPerPixel(map);
  const metres = niceLength(120 * mpp);
  const w = (metres / mpp) * s;
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.fillRect(x - 6 * s, y - 18 * s, w + 12 * s, 28 * s);
  ctx.strokeStyle = "#222";
  ctx.lineWidth = 2 * s;
  ctx.beginPath();
  ctx.moveTo(x, y - 5 * s);
  ctx.lineTo(x, y);
  ctx.lineTo(x + w, y);
  ctx.lineTo(x + w, y - 5 * s);
  ctx.stroke();
  ctx.fillStyle = "#222";
  ctx.font = `${11 * s}px ${FONT}`;
  ctx.textAlign = "center";
  ctx.textBaseline = "alphabetic";
  ctx.fillText(metres >= 1000 ? `${metres / 1000} km` : `${metres} m`, x + w / 2, y - 7 * s);
  ctx.textAlign = "left";
}

function drawNorthArrow(ctx, map, cx, cy, s) {
  ctx.save();
  ctx.fillStyle = "rgba(255,255,255,0.85)";
  ctx.beginPath();
  ctx.arc(cx, cy, 20 * s, 0, 2 * Math.PI);
  ctx.fill();
  ctx.translate(cx, cy);
  ctx.rotate((-map.getBearing() * Math.PI) / 180);
  ctx.fillStyle = "#222";
  ctx.beginPath();
  ctx.moveTo(0, -14 * s);
  ctx.lineTo(7 * s, 8 * s);
  ctx.lineTo(0, 3 * s);
  ctx.lineTo(-7 * s, 8 * s);
  ctx.closePath();
  ctx.fill();
  ctx.font = `600 ${9 * s}px ${FONT}`;
  ctx.textAlign = "center";
  ctx.fillStyle = "#fff";
  ctx.fillText("N", 0, 6 * s);
  ctx.restore();
}

export function viewTitle(app) {
  const parts = ["Surveillance devices"];
  if (app.layerOn("coverage") && app.config.analyses.coverage) parts.push(`share of streets and sites in view (${app.level})`);
  return parts.join(" and ");
}

// The composed image as a PNG Blob.
export async function viewPNG(app) {
  const map = app.map;
  const image = await mapImage(map);
  const s = image.width / map.getCanvas().clientWidth; // device pixel ratio of the map canvas
  const sections = legendModel(app);
  const probe = document.createElement("canvas").getContext("2d");
  const legendH = drawLegend(probe, sections, 0, 0, (LEGEND_W - 24) * s, s) + 20 * s;
  const width = image.width + LEGEND_W * s;
  const height = Math.max(image.height, legendH) + (TITLE_H + FOOT_H) * s;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(width);
  canvas.height = Math.round(height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  // title
  ctx.fillStyle = "#111";
  ctx.textBaseline = "alphabetic";
  ctx.font = `600 ${17 * s}px ${FONT}`;
  ctx.fillText(viewTitle(app), 14 * s, 22 * s, canvas.width - 28 * s);
  ctx.font = `${11.5 * s}px ${FONT}`;
  ctx.fillStyle = "#555";
  const c = map.getCenter();
  ctx.fillText(`Centre ${c.lat.toFixed(4)}° N, ${c.lng.toFixed(4)}° E · zoom ${map.getZoom().toFixed(1)} · survatlas ${app.config.version} · ${new Date().toISOString().slice(0, 10)}`, 14 * s, 39 * s);
  // map, scale bar, north arrow
  const top = TITLE_H * s;
  ctx.drawImage(image, 0, top);
  ctx.strokeStyle = "#999";
  ctx.lineWidth = 1;
  ctx.strokeRect(0.5, top + 0.5, image.width - 1, image.height - 1);
  drawScaleBar(ctx, map, 16 * s, top + image.height - 14 * s, s);
  drawNorthArrow(ctx, map, image.width - 30 * s, top + 30 * s, s);
  // legend
  drawLegend(ctx, sections, image.width + 14 * s, top, (LEGEND_W - 24) * s, s);
  // attribution
  ctx.fillStyle = "#444";
  ctx.font = `${11 * s}px ${FONT}`;
  const attribution = app.config.attribution || "© OpenStreetMap contributors (ODbL)";
  ctx.fillText(`${attribution} · map: survatlas`, 14 * s, canvas.height - 9 * s, canvas.width - 28 * s);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

export async function savePNG(app) {
  const blob = await viewPNG(app);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `survatlas-map-${new Date().toISOString().slice(0, 10)}.png`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob;
}
