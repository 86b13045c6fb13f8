// The OSM context under the data: water, parks and green, rail, motorways and place names, from
// the store's own base tiles (survatlas.ingest.context). Quiet colours that no data layer uses.
import { FONTS, textField } from "./labels.js";

export const CONTEXT_COLOURS = { water: "#b5d0e6", green: "#dde8d0", rail: "#8a8a8a", motorway: "#f0c987" };
export const CONTEXT_LAYERS = ["water", "waterways", "green", "rail", "rail-ties", "roads-casing", "roads"];
export const PLACE_LABELS = ["place-names"];

// Area and line layers, drawn under the buildings (areas) and above the streets (rail, roads).
export function contextAreaLayers() {
  return [
    { id: "green", type: "fill", source: "base", "source-layer": "green", paint: { "fill-color": CONTEXT_COLOURS.green } },
    { id: "water", type: "fill", source: "base", "source-layer": "water", paint: { "fill-color": CONTEXT_COLOURS.water } },
    {
      id: "waterways",
      type: "line",
      source: "base",
      "source-layer": "waterways",
      paint: { "line-color": CONTEXT_COLOURS.water, "line-width": ["interpolate", ["linear"], ["zoom"], 10, 1, 16, 4] },
    },
  ];
}

export function contextLineLayers() {
  const underground = ["any", ["==", ["get", "class"], "subway"], ["has", "tunnel"]];
  const roadWidth = (k) => ["interpolate", ["exponential", 1.5], ["zoom"], 10, 1.2 * k, 18, 14 * k];
  return [
    {
      id: "rail",
      type: "line",
      source: "base",
      "source-layer": "rail",
      filter: ["!", underground],
      paint: {
        "line-color": CONTEXT_COLOURS.rail,
        "line-width": ["match", ["get", "class"], "tram", 1, 1.6],
        "line-opacity": ["match", ["get", "class"], "tram", 0.6, 0.9],
      },
    },
    {
      id: "rail-ties",
      type: "line",
      source: "base",
      "source-layer": "rail",
      minzoom: 14,
      filter: ["all", ["!", underground], ["!=", ["get", "class"], "tram"]],
      paint: { "line-color": CONTEXT_COLOURS.rail, "line-width": 5, "line-dasharray": [0.2, 2] },
    },
    {
      id: "roads-casing",
      type: "line",
      source: "base",
      "source-layer": "roads",
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": "#c89b52", "line-width": roadWidth(1.25) },
    },
    {
      id: "roads",
      type: "line",
      source: "base",
      "source-layer": "roads",
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": CONTEXT_COLOURS.motorway, "line-width": roadWidth(1) },
    },
  ];
}

// Place names (city, districts, neighbourhoods), larger for larger places.
export function placeLabelLayers(lang) {
  const rank = ["match", ["get", "class"], ["city", "town"], 3, ["borough", "suburb", "village"], 2, 1];
  return [
    {
      id: "place-names",
      type: "symbol",
      source: "base",
      "source-layer": "places",
      filter: ["any", ["<", ["zoom"], 15], ["!=", ["get", "class"], "city"]],
      layout: {
        "text-field": textField(lang),
        "text-font": ["match", ["get", "class"], ["city", "town"], ["literal", FONTS.bold], ["literal", FONTS.regular]],
        "text-size": ["interpolate", ["linear"], ["zoom"], 10, ["*", 5, rank], 16, ["+", 10, ["*", 2.5, rank]]],
        "text-transform": ["match", ["get", "class"], ["suburb", "borough", "quarter"], "uppercase", "none"],
        "text-letter-spacing": ["match", ["get", "class"], ["suburb", "borough", "quarter"], 0.12, 0.02],
        "text-max-width": 8,
        "text-padding": 8,
      },
      paint: { "text-color": "#4a4a4a", "text-halo-color": "rgba(255,255,255,0.9)", "text-halo-width": 1.6 },
    },
  ];
}
