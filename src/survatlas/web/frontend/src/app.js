// survatlas web map: bootstraps the map from /api/config and wires the panels.
import { showDevice } from "./device.js";
import { showDashboard } from "./charts.js";
import { CONTEXT_LAYERS, PLACE_LABELS } from "./context.js";
import { el, getJSON } from "./dom.js";
import { savePNG, viewPNG } from "./export.js";
import { LABEL_LAYERS, textField } from "./labels.js";
import { renderLegend } from "./legend.js";
import { parseRoute, readHash, upgradeLegacyHash, writeHash } from "./permalink.js";
import { ReportMode } from "./report.js";
import { RoutePlanner } from "./route.js";
import { SearchBox } from "./search.js";
import { SiteRanking } from "./sites.js";
import { TimeSlider } from "./timeslider.js";
import { LEVELS, addIcons, buildStyle, levelPaint } from "./style.js";

const TOGGLES = {
  cameras: ["device-clusters", "device-cluster-counts", "device-singles", "device-points", "device-direction"],
  base: ["buildings", "streets", "streets-casing"],
  labels: [...LABEL_LAYERS, ...PLACE_LABELS],
  context: CONTEXT_LAYERS,
  sites: ["parks", "sites-outline"],
  visibility: ["visibility-fill", "visibility-line"],
  h3: ["h3-fill", "h3-line"],
  routes: ["routes", "routes-casing"],
};
const CLICKABLE = ["device-points", "device-singles"];

class App {
  constructor() {
    this.currentTab = "layers";
    this.level = LEVELS[0];
    this.labelLanguage = "";
    this.selectedDevice = null;
    this.ready = new Promise((resolve) => {
      this.resolveReady = resolve;
    });
  }

  async start() {
    this.config = await getJSON("/api/config");
    upgradeLegacyHash();
    this.initial = readHash();
    this.restoreControls(this.initial);
    // private mode: the visitor signed in (the session cookie); offer to sign out
    document.getElementById("signout").hidden = !this.config.private;
    const maplibregl = window.maplibregl;
    maplibregl.setWorkerUrl(new URL("/static/vendor/maplibre-gl-csp-worker.js", window.location.origin).href);
    const bounds = this.config.bounds || [-10, 35, 30, 60];
    this.map = new maplibregl.Map({
      container: "map",
      style: buildStyle({ ...this.config, labelLanguage: this.labelLanguage, level: this.level }),
      bounds: [[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
      fitBoundsOptions: { padding: 30, maxZoom: 17 },
      attributionControl: false,
      maxZoom: 20,
      hash: "map",
      // the drawing stays readable after a frame: printing and "Save view as PNG" need it
      canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: true }), "top-left");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    this.map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: "© OpenStreetMap contributors (ODbL) · survatlas" }), "bottom-right");
    this.map.on("style.load", () => addIcons(this.map));
    this.map.on("styleimagemissing", () => {});
    this.routes = new RoutePlanner(this);
    this.sites = new SiteRanking(this);
    this.report = new ReportMode(this);
    this.timeslider = new TimeSlider(this); // a date slider when the store has a history
    this.search = new SearchBox(this);
    TOGGLES.coverage = this.analysisLayers().flatMap(([id, entry]) => levelPaint(id, entry, this.level).map(([layer]) => layer));
    this.wireTabs();
    this.wireLevel();
    this.wireLanguage();
    this.wireToggles();
    this.wireMap();
    this.wireExport();
    this.renderLegend();
    this.checkCoverageRun();
    this.map.once("load", () => this.restoreSelection(this.initial));
    this.map.once("idle", () => this.resolveReady(true));
  }

  // Whether a layer group of the Layers panel is switched on.
  layerOn(name) {
    const input = document.querySelector(`#layer-toggles input[value="${name}"]`);
    return Boolean(input && input.checked && !input.disabled);
  }

  // Permalink, before the map exists: layers, level and label language.
  restoreControls(state) {
    if (state.layers !== undefined) {
      const on = new Set(state.layers.split(",").filter(Boolean));
      for (const input of document.querySelectorAll("#layer-toggles input[type=checkbox]")) input.checked = on.has(input.value);
    }
    if (LEVELS.includes(state.level)) this.level = state.level;
    const languages = (this.config.labels && this.config.labels.languages) || [];
    if (languages.some((l) => l.code === state.lang)) this.labelLanguage = state.lang;
  }

  // Permalink, once the map is loaded: the route (and its scenario) and the selected device.
  restoreSelection(state) {
    const scenario = this.routes.scenario;
    if (state.scenario && [...scenario.options].some((o) => o.value === state.scenario)) scenario.value = state.scenario;
    const points = parseRoute(state.route);
    if (points) this.routes.restore(points, Number(state.detour));
    if (state.device && /^\d+$/.test(state.device)) showDevice(this, Number(state.device));
  }

  // Keep the URL a permalink of what is on screen.
  saveState() {
    writeHash(this);
  }

  wireLanguage() {
    const select = document.getElementById("label-lang");
    const languages = (this.config.labels && this.config.labels.languages) || [];
    const names = new Intl.DisplayNames(["en"], { type: "language" });
    select.append(
      el("option", { value: "" }, "local names (name)"),
      ...languages.map((l) => el("option", { value: l.code }, `${names.of(l.code) || l.code} where tagged (name:${l.code})`)),
    );
    select.value = this.labelLanguage;
    document.getElementById("label-lang-row").hidden = !languages.length;
    select.addEventListener("change", () => {
      this.labelLanguage = select.value;
      for (const id of [...LABEL_LAYERS, ...PLACE_LABELS]) {
        if (this.map.getLayer(id)) this.map.setLayoutProperty(id, "text-field", textField(this.labelLanguage));
      }
      this.saveState();
    });
  }

  // The composed view (map, title, legend, scale bar, north arrow, attribution) as a PNG Blob.
  viewPNG() {
    return viewPNG(this);
  }

  wireExport() {
    const button = document.getElementById("save-png");
    const status = document.getElementById("export-status");
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "Drawing the image…";
      try {
        const blob = await savePNG(this);
        status.textContent = `Saved a PNG of ${Math.round(blob.size / 1024)} kB.`;
      } catch (error) {
        status.textContent = `The image could not be made: ${error.message}`;
      } finally {
        button.disabled = false;
      }
    });
    document.getElementById("print-view").addEventListener("click", () => window.print());
  }

  // A banner when the coverage run is stale, refused (a camera withdrawn since), or partial.
  async checkCoverageRun() {
    const banner = document.getElementById("run-banner");
    if (!this.config.analyses.coverage) return;
    let text = "";
    try {
      const summary = await getJSON("/api/coverage/summary?level=detection");
      const run = summary.coverage_run || {};
      if (summary.stale) {
        text = `Coverage results are stale: ${(run.stale_reasons || []).join("; ")}`;
      } else if (run.bbox) {
        text = `Coverage was computed for the area ${run.bbox.map((v) => v.toFixed(4)).join(", ")} only.`;
      }
    } catch (error) {
      if (error.status === 403) text = `Coverage results are withheld: ${error.message}`;
    }
    banner.textContent = text;
    banner.hidden = !text;
  }

  wireTabs() {
    for (const button of document.querySelectorAll("#tabs button")) {
      button.addEventListener("click", () => this.showTab(button.dataset.tab));
    }
  }

  showTab(name) {
    this.currentTab = name;
    for (const button of document.querySelectorAll("#tabs button")) {
      button.classList.toggle("active", button.dataset.tab === name);
      button.setAttribute("aria-selected", String(button.dataset.tab === name));
    }
    for (const section of document.querySelectorAll(".tab")) section.hidden = section.id !== `tab-${name}`;
    if (name === "summary") showDashboard(this);
    if (name === "sites" && !this.sites.loaded) this.sites.load();
    this.map.getCanvas().style.cursor = name === "route" ? "crosshair" : "";
  }

  // [layer id, catalogue entry] of every analysis tile layer (e.g. coverage-street_coverage).
  analysisLayers() {
    return Object.entries(this.config.tilesets || {})
      .filter(([tileset]) => tileset !== "base" && tileset !== "devices")
      .flatMap(([tileset, entries]) => entries.map((entry) => [`${tileset}-${entry.name}`, entry]));
  }

  wireLevel() {
    const select = document.getElementById("level");
    const note = document.getElementById("coverage-note");
    select.append(...LEVELS.map((level) => el("option", { value: level }, level)));
    select.value = this.level;
    const coverage = this.config.analyses.coverage;
    document.getElementById("level-row").hidden = !coverage;
    note.textContent = coverage
      ? "Streets and sites: share in view at the chosen level (typical optics; grey none, yellow a little → purple all)."
      : "Coverage layers appear once survatlas.coverage is installed and `survatlas coverage` has run.";
    select.addEventListener("change", () => {
      this.level = select.value;
      for (const [id, entry] of this.analysisLayers()) {
        for (const [layer, property, value] of levelPaint(id, entry, this.level)) {
          if (this.map.getLayer(layer)) this.map.setPaintProperty(layer, property, value);
        }
      }
      this.loadH3();
      if (this.sites.loaded) this.sites.load();
      if (this.currentTab === "summary") showDashboard(this);
      this.renderLegend();
      this.saveState();
    });
  }

  wireToggles() {
    for (const input of document.querySelectorAll("#layer-toggles input[type=checkbox]")) {
      const apply = () => {
        const visibility = input.checked ? "visible" : "none";
        for (const id of TOGGLES[input.value] || []) {
          if (this.map.getLayer(id)) this.map.setLayoutProperty(id, "visibility", visibility);
        }
        if (input.value === "h3") this.loadH3();
      };
      input.addEventListener("change", () => {
        apply();
        this.renderLegend();
        this.saveState();
      });
      this.map.once("load", apply);
    }
    const h3Toggle = document.querySelector("#layer-toggles input[value=h3]");
    h3Toggle.disabled = !this.config.analyses.coverage;
    this.map.on("moveend", () => this.loadH3());
  }

  async loadH3() {
    const toggle = document.querySelector("#layer-toggles input[value=h3]");
    const note = document.getElementById("h3-note");
    if (!toggle.checked || !this.config.analyses.coverage) return;
    const b = this.map.getBounds();
    const zoom = this.map.getZoom();
    const resolution = Math.max(5, Math.min(11, Math.round(zoom - 5)));
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    try {
      const cells = await getJSON(`/api/h3?bbox=${bbox}&resolution=${resolution}&level=${this.level}`);
      this.map.getSource("h3").setData(cells);
      note.textContent = `H3 resolution ${cells.resolution}: ${cells.features.length} cells, share of land in view (${this.level}).`;
    } catch (error) {
      note.textContent = `H3: ${error.message}`;
    }
  }

  wireMap() {
    const map = this.map;
    for (const layer of CLICKABLE) {
      map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = this.currentTab === "route" ? "crosshair" : ""; });
    }
    map.on("mouseenter", "device-clusters", () => { map.getCanvas().style.cursor = "zoom-in"; });
    map.on("mouseleave", "device-clusters", () => { map.getCanvas().style.cursor = ""; });
    const popup = new window.maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 12 });
    map.on("mousemove", "device-clusters", (e) => {
      const count = e.features[0].properties.count;
      popup.setLngLat(e.lngLat).setText(`${count.toLocaleString("en-GB")} devices — click to zoom in`).addTo(map);
    });
    map.on("mouseleave", "device-clusters", () => popup.remove());
    map.on("click", (e) => this.click(e));
  }

  click(e) {
    if (this.report && this.report.active) return; // the report mode places the camera
    if (this.currentTab === "route") {
      this.routes.click(e.lngLat);
      return;
    }
    const layers = CLICKABLE.filter((id) => this.map.getLayer(id));
    const hit = this.map.queryRenderedFeatures(e.point, { layers });
    if (hit.length) {
      showDevice(this, hit[0].properties.id);
      return;
    }
    const cluster = this.map.queryRenderedFeatures(e.point, { layers: ["device-clusters"] });
    if (cluster.length) this.map.easeTo({ center: e.lngLat, zoom: Math.min(this.map.getZoom() + 2, 16) });
  }

  setSelected(geometry, id = null) {
    this.selectedDevice = geometry ? id : null;
    this.saveState();
    const data = { type: "FeatureCollection", features: geometry ? [{ type: "Feature", geometry, properties: {} }] : [] };
    this.map.getSource("selected").setData(data);
  }

  renderLegend() {
    renderLegend(this);
  }
}

const app = new App();
window.survatlas = app;
app.start().catch((error) => {
  const box = document.getElementById("fatal");
  box.hidden = false;
  box.textContent = `The map could not start: ${error.message}`;
});
