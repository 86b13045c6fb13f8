// Street, square and place labels from the store's own tiles, drawn with the server's glyphs
// (made from the installed Noto fonts: nothing is fetched from the web).

export const FONTS = { regular: ["Noto Sans Regular"], bold: ["Noto Sans Bold"], italic: ["Noto Sans Italic"] };
const HALO = { "text-halo-color": "rgba(255,255,255,0.92)", "text-halo-width": 1.4, "text-halo-blur": 0.3 };

// The label text: the chosen language's name:xx when tagged, else the local name.
export function textField(lang) {
  return lang ? ["coalesce", ["get", `name:${lang}`], ["get", "name"]] : ["get", "name"];
}

export const LABEL_LAYERS = ["street-labels", "place-labels", "site-labels"];

export function labelLayers(lang) {
  const text = textField(lang);
  const major = ["match", ["get", "highway"], ["primary", "secondary", "trunk", "tertiary"], true, false];
  return [
    {
      id: "street-labels",
      type: "symbol",
      source: "base",
      "source-layer": "streets",
      minzoom: 14,
      filter: ["all", ["has", "name"], ["any", major, [">=", ["zoom"], 15.5]]],
      layout: {
        "symbol-placement": "line",
        "text-field": text,
        "text-font": FONTS.regular,
        "text-size": ["interpolate", ["linear"], ["zoom"], 14, 10.5, 18, 14],
        "text-max-angle": 30,
        "symbol-spacing": 320,
        "text-padding": 4,
      },
      paint: { "text-color": "#3a3a3a", ...HALO },
    },
    {
      // squares and parks: the places a reader knows a city by
      id: "place-labels",
      type: "symbol",
      source: "base",
      "source-layer": "sites",
      minzoom: 13,
      filter: ["all", ["has", "name"], ["==", ["get", "category"], "public_space"]],
      layout: {
        "text-field": text,
        "text-font": FONTS.italic,
        "text-size": ["interpolate", ["linear"], ["zoom"], 13, 11, 18, 15],
        "text-max-width": 8,
        "text-padding": 6,
      },
      paint: { "text-color": "#2f5d2a", ...HALO },
    },
    {
      id: "site-labels",
      type: "symbol",
      source: "base",
      "source-layer": "sites",
      minzoom: 15.5,
      filter: ["all", ["has", "name"], ["match", ["get", "category"], ["transport", "education", "government", "airport", "market"], true, false]],
      layout: {
        "text-field": text,
        "text-font": FONTS.bold,
        "text-size": ["interpolate", ["linear"], ["zoom"], 15, 10, 18, 12.5],
        "text-max-width": 9,
        "text-padding": 6,
        "text-optional": true,
      },
      paint: { "text-color": "#4b4b63", ...HALO },
    },
  ];
}

// Device counts written on the clusters shown when zoomed out.
export function clusterCountLayer() {
  return {
    id: "device-cluster-counts",
    type: "symbol",
    source: "devices",
    "source-layer": "clusters",
    filter: [">", ["get", "count"], 1],
    layout: {
      "text-field": ["to-string", ["get", "count"]],
      "text-font": FONTS.bold,
      "text-size": 11,
      "text-allow-overlap": true,
      "text-ignore-placement": true,
    },
    paint: { "text-color": "#ffffff", "text-halo-color": "rgba(0,0,0,0.35)", "text-halo-width": 0.8 },
  };
}
