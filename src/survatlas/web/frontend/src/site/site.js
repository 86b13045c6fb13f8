// The static site written by `survatlas publish site`: a MapLibre map over PMTiles archives,
// read through the `pmtiles` protocol. It needs no survatlas server and asks nothing of any
// other origin: every URL below is relative to the page (site.json, tiles/, vendor/).
/* global maplibregl, pmtiles */
import { contextAreaLayers, contextLineLayers, placeLabelLayers } from "../context.js";
import { clusterCountLayer, labelLayers } from "../labels.js";
import { NOT_IN_VIEW, SHARE_STOPS, analysisLayer, baseLayers } from "../style.js";

const here = new URL(".", window.location.href);
const local = (path) => new URL(path, here).href;

// Okabe–Ito colours (colour-blind safe); the legend in index.html uses the same ones.
const DEVICE_COLOURS = ["match", ["get", "device_type"],
  "camera", "#0072B2", "alpr", "#D55E00", "#009E73"];

/**
 * A PMTiles source over plain HTTP: byte ranges when the host serves them, otherwise the whole
 * archive once (`python -m http.server` answers a range request with the full file).
 */
class StaticFileSource {
  constructor(url) {
    this.url = url;
    this.whole = null;
  }

  getKey() {
    return this.url;
  }

  async getBytes(offset, length, signal) {
    if (this.whole) {
      const buf = await this.whole;
      return { data: buf.slice(offset, offset + length) };
    }
    const resp = await fetch(this.url, {
      signal, headers: { range: `bytes=${offset}-${offset + length - 1}` },
    });
    if (resp.status === 206) return { data: await resp.arrayBuffer() };
    if (resp.status !== 200) throw new Error(`${this.url}: HTTP ${resp.status}`);
    this.whole = this.whole || resp.arrayBuffer();
    const buf = await this.whole;
    return { data: buf.slice(offset, offset + length) };
  }
}

function style(site, archives) {
  const sources = {};
  for (const [name, file] of Object.entries(archives)) {
    sources[name] = { type: "vector", url: `pmtiles://${local(file)}`, attribution: site.attribution };
  }
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#f3f1ec" } }];
  if (sources.base) {
    // the map app's own layers (one definition): context, buildings, streets, then names
    layers.push(...contextAreaLayers(), ...baseLayers(), ...contextLineLayers());
  }
  if (sources.coverage && site.coverage) {
    // streets and sites by share in view: the map app's layers and viridis ramp
    for (const entry of site.coverage.layers) {
      layers.push(...analysisLayer("coverage", entry, site.coverage.level));
    }
  }
  if (sources.base) layers.push(...labelLayers(), ...placeLabelLayers());
  if (sources.devices) {
    layers.push(
      { id: "clusters", type: "circle", source: "devices", "source-layer": "clusters",
        paint: {
          "circle-color": "#4d4d4d", "circle-opacity": 0.8,
          "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]], 1, 4, 30, 26],
          "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.2,
        } },
      { id: "devices", type: "circle", source: "devices", "source-layer": "devices",
        paint: {
          "circle-color": DEVICE_COLOURS,
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 2.5, 17, 6],
          "circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
        } },
      clusterCountLayer(),
    );
  }
  // the glyphs written beside the page (fonts/{stack}/{range}.pbf); braces must stay literal
  return { version: 8, sources, layers, glyphs: `${here.href}fonts/{fontstack}/{range}.pbf` };
}

const LABELS = {
  id: "Device", device_type: "Type", camera_type: "Camera type", mount: "Mount",
  area: "Watches", direction: "Direction (°)", fov: "Field of view (°)", count: "Devices here",
};

function popupContent(props) {
  const table = document.createElement("table");
  for (const [key, label] of Object.entries(LABELS)) {
    if (props[key] === undefined) continue;
    const row = table.insertRow();
    row.insertCell().textContent = label;
    row.insertCell().textContent = String(props[key]).replaceAll("_", " ");
  }
  return table;
}

/** The numeric legend of the coverage layer: the ramp's own stops, 0–100 %, and "not in view". */
function coverageLegend(coverage) {
  const box = document.getElementById("coverage-legend");
  if (!box || !coverage) return;
  const title = document.createElement("p");
  title.textContent = `Share in view (${coverage.level}, ${coverage.scenario} optics)`;
  const ramp = document.createElement("div");
  ramp.className = "ramp";
  ramp.style.background = `linear-gradient(to right, ${SHARE_STOPS.map(([v, c]) => `${c} ${v * 100}%`).join(", ")})`;
  const ticks = document.createElement("div");
  ticks.className = "ramp-ticks";
  for (const [v] of SHARE_STOPS) {
    const tick = document.createElement("span");
    tick.textContent = `${Math.round(v * 100)} %`;
    ticks.append(tick);
  }
  const none = document.createElement("p");
  const swatch = document.createElement("span");
  swatch.className = "swatch flat";
  swatch.style.background = NOT_IN_VIEW;
  none.append(swatch, " not in view (0 %)");
  box.replaceChildren(title, ramp, ticks, none);
  box.hidden = false;
}

async function main() {
  const site = await (await fetch(local("site.json"))).json();
  coverageLegend(site.coverage);
  maplibregl.setWorkerUrl(local("vendor/maplibre-gl-csp-worker.js"));
  const protocol = new pmtiles.Protocol();
  maplibregl.addProtocol("pmtiles", protocol.tile);
  const archives = site.archives || {};
  for (const file of Object.values(archives)) {
    protocol.add(new pmtiles.PMTiles(new StaticFileSource(local(file))));
  }
  const [w, s, e, n] = site.bbox;
  const map = new maplibregl.Map({
    container: "map",
    style: style(site, archives),
    bounds: [[w, s], [e, n]],
    fitBoundsOptions: { padding: 20 },
    attributionControl: { compact: false, customAttribution: site.attribution },
    maxZoom: 19,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: true }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  for (const layer of ["devices", "clusters"]) {
    map.on("click", layer, (ev) => {
      const feature = ev.features && ev.features[0];
      if (!feature) return;
      if (layer === "clusters" && feature.properties.count > 1) {
        map.easeTo({ center: ev.lngLat, zoom: map.getZoom() + 2 });
        return;
      }
      new maplibregl.Popup({ closeButton: true })
        .setLngLat(ev.lngLat).setDOMContent(popupContent(feature.properties)).addTo(map);
    });
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }
  map.once("idle", () => { document.body.dataset.mapReady = "1"; });
  window.survatlasMap = map; // for tests and the browser console
}

main().catch((err) => {
  const box = document.getElementById("map-error");
  box.textContent = `The map could not load: ${err.message}`;
  box.hidden = false;
});
