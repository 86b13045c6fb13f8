// The route planner: click "from" and "to"; the shortest and the least-exposed route are drawn
// with their figures; a slider sets the longest detour; both routes download as GPX.
import { append, clear, el, fmt, getJSON, human, pct, table } from "./dom.js";
import { ROUTE_COLOURS } from "./style.js";

const LABELS = { shortest: "Shortest route", least_exposure: "Least-exposure route" };

export class RoutePlanner {
  constructor(app) {
    this.app = app;
    this.points = [];
    this.markers = [];
    this.root = document.getElementById("route-panel");
    this.detour = document.getElementById("route-detour");
    this.detourLabel = document.getElementById("route-detour-value");
    this.status = document.getElementById("route-status");
    this.result = document.getElementById("route-result");
    this.scenario = document.getElementById("route-scenario");
    this.scenario.addEventListener("change", () => {
      this.compute();
      this.app.saveState();
    });
    this.detour.addEventListener("input", () => this.showDetour());
    this.detour.addEventListener("change", () => {
      this.compute();
      this.app.saveState();
    });
    document.getElementById("route-clear").addEventListener("click", () => this.reset());
    this.showDetour();
    this.reset();
  }

  get active() {
    return this.app.currentTab === "route";
  }

  showDetour() {
    this.detourLabel.textContent = `${Number(this.detour.value).toFixed(2)} ×`;
  }

  reset() {
    this.points = [];
    for (const marker of this.markers) marker.remove();
    this.markers = [];
    this.app.map?.getSource("routes")?.setData({ type: "FeatureCollection", features: [] });
    clear(this.result);
    if (this.app.map) {
      this.app.saveState();
      this.app.renderLegend();
    }
    this.status.textContent = this.app.config.analyses.routing
      ? "Click the map to set the start."
      : "Routing is not available in this build (survatlas.routing is not installed).";
  }

  // Restore a route from a permalink: two [lat, lon] points and the detour.
  restore(points, detour) {
    this.reset();
    if (Number.isFinite(detour) && detour >= 1 && detour <= 2) {
      this.detour.value = String(detour);
      this.showDetour();
    }
    for (const [lat, lng] of points) this.click({ lat, lng });
  }

  click(lngLat) {
    if (this.points.length === 2) this.reset();
    this.points.push([lngLat.lat, lngLat.lng]);
    const colour = this.points.length === 1 ? "#202020" : "#e7298a";
    this.markers.push(new window.maplibregl.Marker({ color: colour }).setLngLat(lngLat).addTo(this.app.map));
    if (this.points.length === 1) this.status.textContent = "Now click the destination.";
    else this.compute();
  }

  query() {
    const [from, to] = this.points.map((p) => `${p[0].toFixed(6)},${p[1].toFixed(6)}`);
    const params = new URLSearchParams({ from, to, max_detour: Number(this.detour.value).toFixed(2), level: this.app.level });
    if (this.scenario.value) params.set("scenario", this.scenario.value);
    return params.toString();
  }

  async compute() {
    if (this.points.length !== 2) return;
    this.status.textContent = "Computing routes…";
    clear(this.result);
    let result;
    try {
      result = await getJSON(`/api/route?${this.query()}`);
    } catch (error) {
      this.status.textContent = `No route: ${error.message}`;
      return;
    }
    this.draw(result);
    this.status.textContent = "Done. Click the map to start a new route.";
    this.app.saveState();
    this.app.renderLegend();
  }

  draw(result) {
    const features = [];
    for (const key of Object.keys(LABELS)) {
      const route = result[key];
      if (route && route.geometry) features.push({ type: "Feature", geometry: route.geometry, properties: { route: key } });
    }
    this.app.map.getSource("routes").setData({ type: "FeatureCollection", features });
    append(clear(this.result), [
      ...Object.entries(LABELS)
        .filter(([key]) => result[key])
        .map(([key, label]) => el("div", { class: `route-card route-${key}` }, el("h3", {}, routeKey(key), label), figures(result[key]))),
      el("a", { id: "route-gpx", href: `/api/route.gpx?${this.query()}`, download: "survatlas-route.gpx" }, "Download both routes (GPX)"),
      result.price_of_privacy ? el("h3", {}, "Price of privacy") : null,
      result.price_of_privacy ? figures(result.price_of_privacy) : null,
      result.method ? el("p", { class: "muted" }, `Method: ${result.method}`) : null,
    ]);
  }
}

// A short line in the route's colour (dashed for the shortest route, as on the map).
function routeKey(key) {
  const line = el("span", { class: `legend-line${key === "shortest" ? " dashed" : ""}` });
  line.style.borderTopColor = ROUTE_COLOURS[key];
  return line;
}

// Every figure the routing library returns, shown as text (metres, shares, counts).
function figures(route) {
  const rows = [];
  for (const [key, value] of Object.entries(route)) {
    if (key === "geometry" || value === null || typeof value === "object") continue;
    let text = String(value);
    if (typeof value === "number") {
      if (key.endsWith("_m")) text = fmt(value); // the unit is in the label: "length (m)"
      else if (key.includes("share") || key.includes("fraction")) text = pct(value, 1);
      else text = fmt(value, 2);
    }
    rows.push([human(key), text]);
  }
  return table(rows, "kv figures");
}
