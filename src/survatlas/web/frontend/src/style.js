// The map style: drawn from the store's own tiles and the server's own glyphs (no sprite,
// nothing online), plus an optional online raster layer when the server was started with
// --tile-url.
import { contextAreaLayers, contextLineLayers, placeLabelLayers } from "./context.js";
import { clusterCountLayer, labelLayers } from "./labels.js";

export const AREA_COLOURS = {
  public: "#c0392b",
  outdoor: "#e67e22",
  indoor: "#2c7fb8",
  unknown: "#555555",
};
export const DEVICE_TYPES = ["camera", "alpr", "speed_camera", "guard", "gunshot_detector", "other"];
export const SITE_COLOURS = {
  education: "#8e44ad",
  workplace: "#7f8c8d",
  airport: "#16a085",
  transport: "#2980b9",
  market: "#d35400",
  government: "#c0392b",
  border: "#2c3e50",
  public_space: "#27ae60",
};
export const DORI_COLOURS = {
  detection: "#fdd49e",
  observation: "#fdae6b",
  recognition: "#f16913",
  identification: "#a63603",
  plate: "#54278f",
};
export const LEVELS = ["detection", "observation", "recognition", "identification"];
// Routes in colours no ramp of the map uses (the share ramp is viridis, devices red/orange/blue).
export const ROUTE_COLOURS = { shortest: "#202020", least_exposure: "#e7298a" };
// "Share in view": a colour-blind-safe sequential ramp (viridis, reversed so that more watched
// is darker); exactly 0 % is a neutral grey ("not in view").
export const SHARE_STOPS = [
  [0, "#fde725"],
  [0.25, "#5ec962"],
  [0.5, "#21918c"],
  [0.75, "#3b528b"],
  [1, "#440154"],
];
export const NOT_IN_VIEW = "#b8b8b8";
export const CLUSTER_STEPS = [
  [2, "#fdae6b"],
  [10, "#f16913"],
  [100, "#d94801"],
  [1000, "#8c2d04"],
];
export const PARK_COLOUR = "#dce8d2";

const tiles = (tileset) => [`${window.location.origin}/tiles/${tileset}/{z}/{x}/{y}.mvt`];
const emptyGeoJSON = () => ({ type: "geojson", data: { type: "FeatureCollection", features: [] } });

export function buildStyle(config) {
  const sources = {
    base: { type: "vector", tiles: tiles("base"), minzoom: 10, maxzoom: 16 },
    devices: { type: "vector", tiles: tiles("devices"), minzoom: 6, maxzoom: 16 },
    visibility: emptyGeoJSON(),
    h3: emptyGeoJSON(),
    routes: emptyGeoJSON(),
    selected: emptyGeoJSON(),
  };
  const origin = window.location.origin;
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#f3f1ec" } }];
  if (config.tile_url) {
    sources.online = { type: "raster", tiles: [config.tile_url], tileSize: 256 };
    layers.push({ id: "online", type: "raster", source: "online", paint: { "raster-opacity": 0.8 } });
  }
  layers.push(...contextAreaLayers());
  layers.push(...baseLayers());
  layers.push(...contextLineLayers());
  layers.push(...analysisTileLayers(config, sources));
  layers.push(...overlayLayers());
  layers.push(...labelLayers(config.labelLanguage));
  layers.push(...placeLabelLayers(config.labelLanguage));
  layers.push(...deviceLayers());
  return { version: 8, sources, layers, glyphs: `${origin}/fonts/{fontstack}/{range}.pbf` };
}

export function baseLayers() {
  const major = ["match", ["get", "highway"], ["primary", "secondary", "trunk", "tertiary"], 2.2, 1.2];
  const width = (base) => ["interpolate", ["exponential", 1.6], ["zoom"], 12, ["*", base * 0.3, major], 18, ["*", base * 4, major]];
  return [
    {
      // parks and squares as quiet context (no other site tints the map)
      id: "parks",
      type: "fill",
      source: "base",
      "source-layer": "sites",
      filter: ["==", ["get", "category"], "public_space"],
      paint: { "fill-color": PARK_COLOUR },
    },
    {
      id: "sites-outline",
      type: "line",
      source: "base",
      "source-layer": "sites",
      minzoom: 14,
      paint: { "line-color": "#7a7a7a", "line-width": 0.8, "line-dasharray": [3, 2], "line-opacity": 0.7 },
    },
    {
      id: "buildings",
      type: "fill",
      source: "base",
      "source-layer": "buildings",
      paint: { "fill-color": "#d6cec6", "fill-outline-color": "#b9ada1" },
    },
    {
      id: "streets-casing",
      type: "line",
      source: "base",
      "source-layer": "streets",
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": "#b5aca0", "line-width": width(1.6) },
    },
    {
      id: "streets",
      type: "line",
      source: "base",
      "source-layer": "streets",
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": "#ffffff", "line-width": width(1.0) },
    },
  ];
}

// Result layers an analysis registered as tiles (survatlas.tiles.register_tile_layer).
function analysisTileLayers(config, sources) {
  const layers = [];
  for (const [tileset, entries] of Object.entries(config.tilesets || {})) {
    if (tileset === "base" || tileset === "devices") continue;
    sources[tileset] = { type: "vector", tiles: tiles(tileset), minzoom: 10, maxzoom: 16 };
    for (const entry of entries) layers.push(...analysisLayer(tileset, entry, config.level || LEVELS[0]));
  }
  return layers;
}

// Colour by share in view: grey at 0 %, then viridis from a little (yellow) to all (purple).
export function shareRamp(property = "share") {
  const value = ["coalesce", ["get", property], 0];
  return ["case", ["<=", value, 0], NOT_IN_VIEW, ["interpolate", ["linear"], value, ...SHARE_STOPS.flat()]];
}
// Paint property and value that colour an analysis layer for a DORI level.
// [layer id, paint property, value] of every style layer drawing an analysis entry.
export function levelPaint(id, entry, level) {
  if (entry.name === "street_coverage" || entry.geometry === "line") return [[id, "line-color", shareRamp(level)]];
  if (entry.geometry === "polygon") return [[id, "fill-color", shareRamp(level)], [`${id}-outline`, "line-color", shareRamp(level)]];
  return [[id, "circle-color", shareRamp(level)]];
}

export function analysisLayer(tileset, entry, level) {
  const common = { source: tileset, "source-layer": entry.name, minzoom: entry.minzoom };
  const id = `${tileset}-${entry.name}`;
  if (entry.geometry === "line") {
    return [
      {
        id,
        type: "line",
        ...common,
        layout: { "line-cap": "round" },
        paint: { "line-color": shareRamp(level), "line-width": ["interpolate", ["exponential", 1.5], ["zoom"], 12, 0.8, 16, 2.6, 18, 5] },
      },
    ];
  }
  if (entry.geometry === "polygon") {
    // a light fill and a coloured outline: sites read as areas without tinting whole blocks
    return [
      { id, type: "fill", ...common, paint: { "fill-color": shareRamp(level), "fill-opacity": 0.16 } },
      { id: `${id}-outline`, type: "line", ...common, paint: { "line-color": shareRamp(level), "line-width": 1.6, "line-opacity": 0.9 } },
    ];
  }
  return [{ id, type: "circle", ...common, paint: { "circle-color": shareRamp(level), "circle-radius": 4 } }];
}

function overlayLayers() {
  return [
    { id: "h3-fill", type: "fill", source: "h3", paint: { "fill-color": shareRamp("share"), "fill-opacity": 0.5 } },
    { id: "h3-line", type: "line", source: "h3", paint: { "line-color": "#ffffff", "line-width": 0.5 } },
    {
      id: "visibility-fill",
      type: "fill",
      source: "visibility",
      paint: {
        "fill-color": ["match", ["get", "level"], ...Object.entries(DORI_COLOURS).flat(), "#fdd49e"],
        "fill-opacity": 0.4,
      },
    },
    { id: "visibility-line", type: "line", source: "visibility", paint: { "line-color": "#7f2704", "line-width": 0.8 } },
    {
      id: "routes-casing",
      type: "line",
      source: "routes",
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": "#ffffff", "line-width": 8 },
    },
    {
      id: "routes",
      type: "line",
      source: "routes",
      layout: { "line-cap": "round", "line-join": "round" },
      paint: {
        "line-color": ["match", ["get", "route"], ...Object.entries(ROUTE_COLOURS).flat(), "#333333"],
        "line-width": 5,
        "line-dasharray": ["match", ["get", "route"], "shortest", ["literal", [2, 1.5]], ["literal", [1, 0]]],
      },
    },
  ];
}

function deviceLayers() {
  const clusterSize = ["interpolate", ["linear"], ["ln", ["get", "count"]], 0.7, 7, 4, 13, 9, 24];
  return [
    {
      id: "device-clusters",
      type: "circle",
      source: "devices",
      "source-layer": "clusters",
      filter: [">", ["get", "count"], 1],
      paint: {
        "circle-color": ["step", ["get", "count"], ...CLUSTER_STEPS.flatMap(([n, c], i) => (i === 0 ? [c] : [n, c]))],
        "circle-radius": clusterSize,
        "circle-opacity": 0.85,
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1.5,
      },
    },
    clusterCountLayer(),
    {
      id: "device-singles",
      type: "symbol",
      source: "devices",
      "source-layer": "clusters",
      filter: ["==", ["get", "count"], 1],
      layout: { ...iconLayout(), "icon-size": 0.8 },
    },
    {
      id: "device-direction",
      type: "symbol",
      source: "devices",
      "source-layer": "devices",
      filter: ["has", "direction"],
      layout: {
        "icon-image": "dev-arrow",
        "icon-rotate": ["get", "direction"],
        "icon-rotation-alignment": "map",
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
      },
    },
    { id: "device-points", type: "symbol", source: "devices", "source-layer": "devices", layout: iconLayout() },
    {
      id: "device-selected",
      type: "circle",
      source: "selected",
      paint: { "circle-radius": 13, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#111111", "circle-stroke-width": 3 },
    },
  ];
}

function iconLayout() {
  const type = ["match", ["get", "device_type"], DEVICE_TYPES, ["get", "device_type"], "other"];
  const area = ["match", ["get", "area"], Object.keys(AREA_COLOURS), ["get", "area"], "unknown"];
  return {
    "icon-image": ["concat", "dev-", type, "-", area],
    "icon-size": ["interpolate", ["linear"], ["zoom"], 14, 0.75, 18, 1.2],
    "icon-allow-overlap": true,
    "icon-ignore-placement": true,
  };
}

// Icons drawn on a canvas here (no sprite from the web): a shape per type, a colour per area.
export function addIcons(map) {
  const size = 32;
  for (const type of DEVICE_TYPES) {
    for (const [area, colour] of Object.entries(AREA_COLOURS)) {
      map.addImage(`dev-${type}-${area}`, drawIcon(type, colour, size), { pixelRatio: 2 });
    }
  }
  map.addImage("dev-arrow", drawArrow(size * 2), { pixelRatio: 2 });
}

export function iconCanvas(type, colour, size = 32) {
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  const c = size / 2;
  const r = size * 0.36;
  ctx.fillStyle = colour;
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = size * 0.09;
  ctx.beginPath();
  if (type === "camera") ctx.arc(c, c, r, 0, 2 * Math.PI);
  else if (type === "alpr") ctx.rect(c - r, c - r * 0.8, 2 * r, 1.6 * r);
  else if (type === "speed_camera") polygon(ctx, c, c, r * 1.15, 3, -Math.PI / 2);
  else if (type === "guard") polygon(ctx, c, c, r * 1.15, 4, 0);
  else if (type === "gunshot_detector") polygon(ctx, c, c, r * 1.1, 6, 0);
  else polygon(ctx, c, c, r * 1.1, 8, Math.PI / 8);
  ctx.closePath();
  ctx.fill();
  ctx.stroke();
  return canvas;
}

function drawIcon(type, colour, size) {
  const canvas = iconCanvas(type, colour, size);
  return canvas.getContext("2d").getImageData(0, 0, size, size);
}

function polygon(ctx, cx, cy, r, n, start) {
  for (let i = 0; i < n; i += 1) {
    const a = start + (i * 2 * Math.PI) / n;
    const x = cx + r * Math.cos(a);
    const y = cy + r * Math.sin(a);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  }
}

// A wedge pointing "up" (north when rotated by the camera's direction).
function drawArrow(size) {
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  const c = size / 2;
  ctx.fillStyle = "rgba(30,30,30,0.55)";
  ctx.beginPath();
  ctx.moveTo(c, c);
  ctx.arc(c, c, size * 0.48, -Math.PI / 2 - 0.35, -Math.PI / 2 + 0.35);
  ctx.closePath();
  ctx.fill();
  return ctx.getImageData(0, 0, size, size);
}
