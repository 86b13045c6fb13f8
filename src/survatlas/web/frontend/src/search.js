// The search box: places and streets by name (any language), devices by id, name or operator.
import { clear, el, getJSON } from "./dom.js";
import { showDevice } from "./device.js";

const KIND = { place: "Place", street: "Street", device: "Device" };

export class SearchBox {
  constructor(app) {
    this.app = app;
    this.input = document.getElementById("search-input");
    this.list = document.getElementById("search-results");
    this.timer = null;
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(), 200);
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        clearTimeout(this.timer);
        this.run(true);
      } else if (e.key === "Escape") this.close();
    });
    document.getElementById("search").addEventListener("submit", (e) => e.preventDefault());
  }

  close() {
    clear(this.list);
    this.list.hidden = true;
  }

  async run(pickFirst = false) {
    const text = this.input.value.trim();
    if (text.length < 2 && !/^\d+$/.test(text)) {
      this.close();
      return;
    }
    let found;
    try {
      found = await getJSON(`/api/search?q=${encodeURIComponent(text)}&limit=8`);
    } catch (error) {
      clear(this.list).append(el("li", { class: "muted" }, error.message));
      this.list.hidden = false;
      return;
    }
    if (text !== this.input.value.trim()) return; // a newer query is on its way
    clear(this.list);
    this.list.hidden = false;
    if (!found.results.length) {
      this.list.append(el("li", { class: "muted" }, `Nothing named “${text}” in this store.`));
      return;
    }
    for (const hit of found.results) {
      this.list.append(
        el(
          "li",
          { role: "option", tabindex: "0", onclick: () => this.go(hit), onkeydown: (e) => e.key === "Enter" && this.go(hit) },
          el("span", { class: "search-kind" }, KIND[hit.kind] || hit.kind),
          el("span", { class: "search-label" }, hit.label),
          el("span", { class: "muted search-detail" }, hit.detail),
        ),
      );
    }
    if (pickFirst) this.go(found.results[0]);
  }

  go(hit) {
    const map = this.app.map;
    this.close();
    this.input.value = hit.label;
    if (hit.kind === "device") {
      map.jumpTo({ center: [hit.lon, hit.lat], zoom: Math.max(map.getZoom(), 17) });
      showDevice(this.app, hit.id);
      return;
    }
    const [w, s, e, n] = hit.bbox;
    if (e - w < 1e-6 && n - s < 1e-6) map.jumpTo({ center: [w, s], zoom: 17 });
    else map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 17.5, duration: 0 });
  }
}
