// The date slider: the devices in place on a chosen date, from the store's device history.
// Absent when the store has no history (/api/history says why). The devices of a date come
// from /api/history/devices (the definition `survatlas coverage --as-of` uses, through the
// publish gate); the latest position is the current view (the usual device tiles). The chosen
// date is kept in the page URL (?date=YYYY-MM-DD) so a link opens the map on it.
import { showDevice } from "./device.js";
import { el, fmt, getJSON } from "./dom.js";
import { AREA_COLOURS, DEVICE_TYPES } from "./style.js";

const SOURCE = "devices-asof";
export const ASOF_LAYERS = ["asof-clusters", "asof-points"];
const TILE_LAYERS = ["device-clusters", "device-cluster-counts", "device-singles", "device-points", "device-direction"];
const PAGE = 5000;
const MAX_DEVICES = 20000;
const DAY = 86400000;

const isoDay = (date) => date.toISOString().slice(0, 10);

// Slider positions: every day of a short history, else the first of every month, then "now".
export function steps(start, end) {
  const first = new Date(`${start.slice(0, 10)}T00:00:00Z`);
  const last = new Date(`${end.slice(0, 10)}T00:00:00Z`);
  const out = [];
  if ((last - first) / DAY <= 120) {
    for (let t = first.getTime(); t <= last.getTime(); t += DAY) out.push(isoDay(new Date(t)));
  } else {
    const d = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1));
    for (; d <= last; d.setUTCMonth(d.getUTCMonth() + 1)) out.push(isoDay(d));
  }
  if (!out.length) out.push(isoDay(last));
  return out;
}

export class TimeSlider {
  constructor(app) {
    this.app = app;
    this.date = null; // null: the current view
    this.fetched = null; // the bbox the as-of devices were read for
    this.ready = this.start().catch((error) => {
      this.error = error.message;
    });
  }

  async start() {
    this.history = await getJSON("/api/history");
    if (!this.history.available) return;
    this.dates = steps(this.history.start, this.history.end);
    const map = this.app.map;
    if (!map.loaded()) await new Promise((resolve) => map.once("load", resolve));
    this.addLayers();
    this.addControl();
    map.on("moveend", () => this.refresh());
    document.querySelector("#layer-toggles input[value=cameras]")?.addEventListener("change", () => this.show());
    const wanted = new URLSearchParams(window.location.search).get("date");
    if (wanted && /^\d{4}-\d{2}-\d{2}$/.test(wanted)) await this.setDate(wanted);
  }

  addLayers() {
    const map = this.app.map;
    map.addSource(SOURCE, {
      type: "geojson",
      data: { type: "FeatureCollection", features: [] },
      cluster: true,
      clusterRadius: 30,
      clusterMaxZoom: 13, // individual devices from street level on, like the device tiles
    });
    const type = ["match", ["get", "device_type"], DEVICE_TYPES, ["get", "device_type"], "other"];
    const area = ["match", ["get", "area"], Object.keys(AREA_COLOURS), ["get", "area"], "unknown"];
    map.addLayer({
      id: "asof-clusters",
      type: "circle",
      source: SOURCE,
      filter: ["has", "point_count"],
      layout: { visibility: "none" },
      paint: {
        // the device tiles' cluster colours (the legend's "orange circles")
        "circle-color": ["step", ["get", "point_count"], "#fdae6b", 10, "#f16913", 100, "#d94801", 1000, "#8c2d04"],
        "circle-radius": ["interpolate", ["linear"], ["ln", ["get", "point_count"]], 0.7, 7, 4, 13, 9, 24],
        "circle-opacity": 0.85,
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1.5,
      },
    });
    map.addLayer({
      id: "asof-points",
      type: "symbol",
      source: SOURCE,
      filter: ["!", ["has", "point_count"]],
      layout: {
        visibility: "none",
        "icon-image": ["concat", "dev-", type, "-", area],
        "icon-size": ["interpolate", ["linear"], ["zoom"], 14, 0.75, 18, 1.2],
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
      },
      // a device gone since (not in today's data) is drawn faded
      paint: { "icon-opacity": ["case", ["get", "current"], 1, 0.45] },
    });
    map.on("click", "asof-points", (e) => this.click(e));
    map.on("click", "asof-clusters", (e) => map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 16) }));
  }

  addControl() {
    const slider = this;
    this.input = el("input", {
      type: "range",
      id: "timeslider-range",
      min: "0",
      max: String(this.dates.length),
      step: "1",
      value: String(this.dates.length),
      "aria-label": "Date: devices in place on it",
    });
    this.label = el("output", { id: "timeslider-date", for: "timeslider-range" });
    this.note = el("p", { id: "timeslider-count", class: "timeslider-note", "aria-live": "polite" });
    let timer = null;
    this.input.addEventListener("input", () => {
      this.label.textContent = this.positionLabel();
      clearTimeout(timer);
      timer = setTimeout(() => this.setDate(this.positionDate(), false), 150);
    });
    const first = this.dates[0];
    this.box = el(
      "div",
      { id: "timeslider", class: "maplibregl-ctrl maplibregl-ctrl-group timeslider" },
      el("div", { class: "timeslider-head" }, el("strong", {}, "Devices in place on "), this.label),
      this.input,
      el("div", { class: "timeslider-scale" }, el("span", {}, first.slice(0, 7)), el("span", {}, "now")),
      this.note,
    );
    this.label.textContent = this.positionLabel();
    this.note.textContent = "The map as it stood: OSM mapping dates, not installation dates.";
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = "/static/timeslider.css";
    document.head.append(link);
    this.app.map.addControl({ onAdd: () => slider.box, onRemove: () => slider.box.remove() }, "top-right");
  }

  positionDate() {
    const i = Number(this.input.value);
    return i >= this.dates.length ? null : this.dates[i];
  }

  positionLabel() {
    const date = this.positionDate();
    return date === null ? "now (current data)" : date;
  }

  // Show the devices of `date` (YYYY-MM-DD), or the current view for null.
  async setDate(date, moveSlider = true) {
    this.date = date;
    if (moveSlider) {
      const i = date === null ? this.dates.length : this.dates.findLastIndex((d) => d <= date);
      this.input.value = String(Math.max(i, 0));
    }
    this.label.textContent = date === null ? "now (current data)" : date;
    const url = new URL(window.location.href);
    if (date === null) url.searchParams.delete("date");
    else url.searchParams.set("date", date);
    window.history.replaceState(window.history.state, "", url.href);
    this.fetched = null;
    if (date === null) {
      this.app.map.getSource(SOURCE).setData({ type: "FeatureCollection", features: [] });
      this.note.textContent = "The current data (the map as it stands).";
    } else {
      await this.load();
    }
    this.show();
  }

  // Read the devices of the chosen date for the view (padded by half of it on each side).
  async load() {
    const date = this.date;
    const b = this.app.map.getBounds();
    const w = b.getEast() - b.getWest();
    const h = b.getNorth() - b.getSouth();
    const box = [
      Math.max(-180, b.getWest() - w / 2),
      Math.max(-90, b.getSouth() - h / 2),
      Math.min(180, b.getEast() + w / 2),
      Math.min(90, b.getNorth() + h / 2),
    ];
    const features = [];
    let offset = 0;
    let more = false;
    this.note.textContent = `Loading the devices of ${date}…`;
    try {
      while (offset !== null && features.length < MAX_DEVICES) {
        const q = `date=${date}&bbox=${box.map((v) => v.toFixed(6)).join(",")}&limit=${PAGE}&offset=${offset}`;
        const page = await getJSON(`/api/history/devices?${q}`);
        if (this.date !== date) return; // moved on meanwhile
        features.push(...page.features);
        offset = page.next_offset;
        more = offset !== null;
      }
    } catch (error) {
      this.note.textContent = `Devices of ${date}: ${error.message}`;
      return;
    }
    this.fetched = box;
    this.app.map.getSource(SOURCE).setData({ type: "FeatureCollection", features });
    const gone = features.filter((f) => !f.properties.current).length;
    this.note.textContent =
      `${fmt(features.length)} devices in place on ${date} around this view` +
      (more ? ` (the first ${fmt(features.length)}: zoom in for all)` : "") +
      (gone ? `; ${fmt(gone)} faded: gone since.` : ".") +
      " OSM mapping dates, not installation dates.";
  }

  // After a pan or zoom: read again when the view left the area read.
  refresh() {
    if (this.date === null || !this.fetched) return;
    const b = this.app.map.getBounds();
    const [w, s, e, n] = this.fetched;
    if (b.getWest() < w || b.getSouth() < s || b.getEast() > e || b.getNorth() > n) this.load();
  }

  // The as-of layers replace the device tiles while a past date is chosen.
  show() {
    const map = this.app.map;
    const cameras = document.querySelector("#layer-toggles input[value=cameras]");
    const on = !cameras || cameras.checked;
    const past = this.date !== null;
    for (const id of ASOF_LAYERS) map.setLayoutProperty(id, "visibility", on && past ? "visible" : "none");
    for (const id of TILE_LAYERS) {
      if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", on && !past ? "visible" : "none");
    }
  }

  click(e) {
    const props = e.features[0].properties;
    if (props.current) {
      showDevice(this.app, e.features[0].id);
      return;
    }
    new window.maplibregl.Popup({ offset: 12 })
      .setLngLat(e.lngLat)
      .setText(`${props.origin}: in place on ${this.date} (mapped ${String(props.valid_from).slice(0, 10)}), gone since.`)
      .addTo(this.app.map);
  }
}
