// "Report a camera": place it by tapping the map or with the phone's location, aim it by
// dragging a handle, describe it with the OSM vocabulary, add photos, send — or keep it in the
// offline queue until the connection returns. Self-contained: the map app only creates it and
// lets it take map clicks while it is open.
import { clear, el, getJSON } from "./dom.js";
import { ReportQueue, sendReport } from "./queue.js";

const AIM_SOURCE = "report-aim";
const HANDLE_PX = 90; // distance of the direction handle from the camera, in screen pixels
const FOV = 60; // drawn field of view (degrees): an aid to aim, not data
const TOKEN_KEY = "survatlas.editorToken";
const RETRY_MS = 60_000;

export function bearing(from, to) {
  const rad = Math.PI / 180;
  const dLon = (to.lng - from.lng) * rad;
  const y = Math.sin(dLon) * Math.cos(to.lat * rad);
  const x = Math.cos(from.lat * rad) * Math.sin(to.lat * rad) - Math.sin(from.lat * rad) * Math.cos(to.lat * rad) * Math.cos(dLon);
  return (Math.atan2(y, x) / rad + 360) % 360;
}

class ReportControl {
  constructor(report) {
    this.report = report;
  }

  onAdd() {
    this.button = el("button", { type: "button", id: "report-open", class: "report-open", title: "Report a camera", onclick: () => this.report.toggle() }, "+ Report a camera");
    this.badge = el("span", { id: "report-waiting", class: "report-badge", hidden: true });
    this.container = el("div", { class: "maplibregl-ctrl report-ctrl" }, this.button, this.badge);
    return this.container;
  }

  onRemove() {
    this.container.remove();
  }
}

export class ReportMode {
  constructor(app) {
    this.app = app;
    this.map = app.map;
    this.active = false;
    this.position = null;
    this.direction = null;
    this.queue = new ReportQueue();
    this.control = new ReportControl(this);
    this.map.addControl(this.control, "top-right");
    this.panel = this.buildPanel();
    document.body.append(this.panel);
    this.map.on("click", (e) => {
      if (this.active) this.place(e.lngLat);
    });
    window.addEventListener("online", () => this.flush());
    setInterval(() => this.flush(), RETRY_MS);
    this.loadForm();
    this.refreshCount().then(() => this.flush());
    registerServiceWorker();
  }

  async loadForm() {
    try {
      this.form = await getJSON("/api/contributions/form");
      this.fillFields();
    } catch (error) {
      this.say(`The report form could not load: ${error.message}`, true);
    }
  }

  buildPanel() {
    this.status = el("p", { id: "report-status", class: "report-status", "aria-live": "polite" });
    this.where = el("p", { id: "report-where" }, "Tap the map where the camera is.");
    this.fields = el("div", { id: "report-fields" });
    this.directionInput = el("input", { id: "report-direction", type: "number", min: "0", max: "359", step: "1", inputmode: "numeric", placeholder: "unknown" });
    this.directionInput.addEventListener("input", () => this.setDirection(this.directionInput.value === "" ? null : Number(this.directionInput.value), false));
    this.note = el("textarea", { id: "report-note", name: "note", rows: "2", maxlength: "2000", placeholder: "What you saw (no names of people)" });
    this.photos = el("input", { id: "report-photos", type: "file", accept: "image/jpeg,image/png,image/webp", multiple: true, capture: "environment" });
    this.photos.addEventListener("change", () => this.checkPhotos());
    this.photoNote = el("p", { class: "muted small" }, "Photos lose their location and camera data, and faces and number plates are blurred, before anyone sees them.");
    this.token = el("input", { id: "report-token", type: "password", autocomplete: "off", placeholder: "sva_…" });
    this.tokenRow = el("label", { id: "report-token-row", hidden: true }, "Editor token ", this.token);
    this.waitingList = el("ul", { id: "report-queue", class: "report-queue" });
    this.sendButton = el("button", { type: "submit", id: "report-send", class: "primary" }, "Send report");
    const form = el(
      "form",
      { id: "report-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      el("div", { class: "report-row" }, this.where, el("button", { type: "button", id: "report-locate", onclick: () => this.locate() }, "Use my location")),
      el("label", { class: "report-direction" }, "Direction (° from north) ", this.directionInput, el("span", { class: "muted small" }, " or drag the round handle on the map")),
      this.fields,
      el("label", {}, "Note ", this.note),
      el("label", {}, "Photos ", this.photos),
      this.photoNote,
      this.tokenRow,
      el("div", { class: "report-actions" }, this.sendButton, el("button", { type: "button", onclick: () => this.toggle(false) }, "Close")),
    );
    return el(
      "section",
      { id: "report-panel", class: "report-panel", hidden: true, "aria-label": "Report a camera" },
      el("h2", {}, "Report a camera"),
      this.status,
      form,
      el("h3", {}, "Waiting on this device"),
      this.waitingList,
      el("button", { type: "button", id: "report-clear-queue", onclick: () => this.clearQueue() }, "Delete waiting reports"),
    );
  }

  fillFields() {
    const box = clear(this.fields);
    for (const field of this.form.fields) {
      let input;
      if (field.values) {
        input = el("select", { name: field.key }, el("option", { value: "" }, "—"), field.values.map((v) => el("option", { value: v }, v.replaceAll("_", " "))));
        if (field.key === "surveillance:type") input.value = "camera";
      } else {
        const numeric = field.key === "height";
        input = el("input", { name: field.key, type: numeric ? "number" : "text", min: numeric ? "0" : undefined, step: numeric ? "0.5" : undefined, maxlength: String(this.form.value_max) });
      }
      input.id = `report-${field.key.replace(":", "-")}`;
      box.append(el("label", { title: field.help }, `${field.label} `, input));
    }
    this.tokenRow.hidden = this.form.anonymous || Boolean(sessionStorage.getItem(TOKEN_KEY));
    this.token.value = sessionStorage.getItem(TOKEN_KEY) || "";
  }

  toggle(open = !this.active) {
    this.active = open;
    this.panel.hidden = !open;
    this.control.button.classList.toggle("active", open);
    this.map.getCanvas().style.cursor = open ? "crosshair" : "";
    if (!open) this.clearMarkers();
    else this.refreshCount();
  }

  locate() {
    if (!navigator.geolocation) {
      this.say("This browser cannot tell its location: tap the map instead.", true);
      return;
    }
    this.say("Finding your location…");
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        const lngLat = { lng: pos.coords.longitude, lat: pos.coords.latitude };
        this.place(lngLat);
        this.map.easeTo({ center: lngLat, zoom: Math.max(this.map.getZoom(), 17) });
        this.say(`Placed at your location (±${Math.round(pos.coords.accuracy)} m): drag the pin to the camera.`);
      },
      (error) => this.say(`No location (${error.message}): tap the map instead.`, true),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  }

  place(lngLat) {
    const maplibregl = window.maplibregl;
    this.position = { lng: lngLat.lng, lat: lngLat.lat };
    if (!this.cameraMarker) {
      this.cameraMarker = new maplibregl.Marker({ element: el("div", { class: "report-pin", title: "The camera" }), draggable: true })
        .setLngLat(this.position).addTo(this.map);
      this.cameraMarker.on("drag", () => { this.position = this.cameraMarker.getLngLat(); this.drawAim(); });
      this.handleMarker = new maplibregl.Marker({ element: el("div", { class: "report-handle", title: "Drag to aim the camera" }), draggable: true });
      this.handleMarker.on("drag", () => this.setDirection(bearing(this.position, this.handleMarker.getLngLat()), true));
    } else {
      this.cameraMarker.setLngLat(this.position);
    }
    this.handleMarker.setLngLat(this.handlePosition()).addTo(this.map);
    this.where.textContent = `Camera at ${this.position.lat.toFixed(6)}, ${this.position.lng.toFixed(6)}`;
    this.drawAim();
  }

  handlePosition() {
    const centre = this.map.project(this.position);
    const angle = ((this.direction ?? 0) * Math.PI) / 180;
    return this.map.unproject([centre.x + HANDLE_PX * Math.sin(angle), centre.y - HANDLE_PX * Math.cos(angle)]);
  }

  setDirection(value, fromHandle) {
    if (value !== null && (!Number.isFinite(value) || value < 0 || value > 360)) return;
    this.direction = value === null ? null : Math.round(value) % 360;
    if (fromHandle) this.directionInput.value = String(this.direction);
    else if (this.position && this.handleMarker) this.handleMarker.setLngLat(this.handlePosition());
    this.drawAim();
  }

  drawAim() {
    if (!this.position) return;
    const features = [];
    if (this.direction !== null) {
      const centre = this.map.project(this.position);
      const ring = [[this.position.lng, this.position.lat]];
      for (let a = this.direction - FOV / 2; a <= this.direction + FOV / 2; a += 5) {
        const r = (a * Math.PI) / 180;
        const p = this.map.unproject([centre.x + HANDLE_PX * Math.sin(r), centre.y - HANDLE_PX * Math.cos(r)]);
        ring.push([p.lng, p.lat]);
      }
      ring.push(ring[0]);
      features.push({ type: "Feature", geometry: { type: "Polygon", coordinates: [ring] }, properties: {} });
    }
    const data = { type: "FeatureCollection", features };
    const source = this.map.getSource(AIM_SOURCE);
    if (source) {
      source.setData(data);
      return;
    }
    this.map.addSource(AIM_SOURCE, { type: "geojson", data });
    this.map.addLayer({ id: "report-aim-fill", type: "fill", source: AIM_SOURCE, paint: { "fill-color": "#c2185b", "fill-opacity": 0.25 } });
    this.map.addLayer({ id: "report-aim-line", type: "line", source: AIM_SOURCE, paint: { "line-color": "#c2185b", "line-width": 2 } });
  }

  clearMarkers() {
    if (this.cameraMarker) this.cameraMarker.remove();
    if (this.handleMarker) this.handleMarker.remove();
    this.cameraMarker = null;
    this.handleMarker = null;
    this.position = null;
    const source = this.map.getSource(AIM_SOURCE);
    if (source) source.setData({ type: "FeatureCollection", features: [] });
    this.where.textContent = "Tap the map where the camera is.";
  }

  checkPhotos() {
    const limits = this.form ? this.form.photos : { max: 6, max_bytes: 12e6, types: [] };
    const files = [...this.photos.files];
    const problems = [];
    if (files.length > limits.max) problems.push(`at most ${limits.max} photos`);
    for (const file of files) {
      if (file.size > limits.max_bytes) problems.push(`a photo is over ${Math.round(limits.max_bytes / 1e6)} MB`);
      if (limits.types.length && file.type && !limits.types.includes(file.type)) problems.push("only JPEG, PNG or WebP photos");
    }
    this.say(problems.length ? `Check the photos: ${problems.join("; ")}.` : `${files.length} photo(s) ready.`, problems.length > 0);
    return problems.length === 0;
  }

  values() {
    const fields = { lat: this.position.lat.toFixed(7), lon: this.position.lng.toFixed(7) };
    if (this.direction !== null) fields.direction = String(this.direction);
    for (const input of this.fields.querySelectorAll("select, input")) fields[input.name] = input.value;
    fields.note = this.note.value;
    return fields;
  }

  async submit() {
    if (!this.position) {
      this.say("Place the camera first: tap the map or use your location.", true);
      return;
    }
    if (!this.checkPhotos()) return;
    if (this.token.value) sessionStorage.setItem(TOKEN_KEY, this.token.value.trim());
    const fields = this.values();
    const photos = [...this.photos.files];
    this.sendButton.disabled = true;
    try {
      const result = navigator.onLine ? await sendReport(fields, photos, this.tokenValue()) : { ok: false, retry: true, status: 0 };
      if (result.ok) {
        this.say(`Sent: report ${result.id} waits for an editor before it is shown.`);
        this.reset();
      } else if (result.retry && result.status === 0) {
        await this.queue.add(fields, photos);
        this.say("No connection: the report is saved on this device and will be sent when you are back online.");
        this.reset();
      } else if (result.status === 401 || result.status === 403) {
        this.tokenRow.hidden = false;
        this.say(`Not sent: ${result.message}. Enter an editor token.`, true);
      } else {
        this.say(`Not sent: ${result.message}`, true);
      }
    } catch (error) {
      this.say(`Not sent: ${error.message}`, true);
    } finally {
      this.sendButton.disabled = false;
      this.panel.scrollTop = 0; // the answer is read at the top of the panel
      this.refreshCount();
    }
  }

  tokenValue() {
    return sessionStorage.getItem(TOKEN_KEY) || this.token.value.trim() || null;
  }

  reset() {
    this.note.value = "";
    this.photos.value = "";
    this.directionInput.value = "";
    this.direction = null;
    this.clearMarkers();
  }

  async flush() {
    if (this.flushing || !navigator.onLine) return;
    this.flushing = true;
    try {
      for (const item of await this.queue.all()) {
        if (item.error) continue;
        const result = await sendReport(item.fields, item.photos, this.tokenValue());
        if (result.ok) {
          await this.queue.remove(item.key);
          this.say(`A waiting report was sent (report ${result.id}).`);
        } else if (result.retry) {
          if (result.status === 401 || result.status === 403) this.tokenRow.hidden = false;
          break;
        } else {
          item.error = result.message;
          await this.queue.update(item);
        }
      }
    } catch (error) {
      this.say(`The waiting reports could not be sent: ${error.message}`, true);
    } finally {
      this.flushing = false;
      await this.refreshCount();
    }
  }

  async refreshCount() {
    let items = [];
    try {
      items = await this.queue.all();
    } catch {
      items = [];
    }
    const badge = this.control.badge;
    badge.hidden = items.length === 0;
    badge.textContent = `${items.length} waiting`;
    badge.title = `${items.length} report(s) saved on this device, sent when online`;
    const list = clear(this.waitingList);
    if (!items.length) list.append(el("li", { class: "muted" }, "None."));
    for (const item of items) {
      list.append(el("li", {}, `${item.queuedAt.slice(0, 16).replace("T", " ")} · ${item.photos.length} photo(s)`,
        item.error ? el("span", { class: "error" }, ` — refused: ${item.error} `) : " — waiting ",
        el("button", { type: "button", class: "link", onclick: async () => { await this.queue.remove(item.key); this.refreshCount(); } }, "Delete")));
    }
  }

  async clearQueue() {
    await this.queue.clear();
    this.say("Waiting reports deleted from this device.");
    this.refreshCount();
  }

  say(text, isError = false) {
    this.status.textContent = text;
    this.status.className = isError ? "report-status error" : "report-status";
  }
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
