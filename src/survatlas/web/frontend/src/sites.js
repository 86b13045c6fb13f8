// Sites ranked by the share of them in view, per category (from the coverage results).
import { clear, el, getJSON, human, pct } from "./dom.js";
import { SITE_COLOURS } from "./style.js";

export class SiteRanking {
  constructor(app) {
    this.app = app;
    this.select = document.getElementById("site-category");
    this.list = document.getElementById("site-list");
    this.select.append(el("option", { value: "" }, "all categories"), ...Object.keys(SITE_COLOURS).map((c) => el("option", { value: c }, human(c))));
    this.select.addEventListener("change", () => this.load());
    this.loaded = false;
  }

  async load() {
    this.loaded = true;
    clear(this.list);
    if (!this.app.config.analyses.coverage) {
      this.list.append(el("p", { class: "muted" }, "Site coverage is not available in this build (survatlas.coverage is not installed)."));
      return;
    }
    const params = new URLSearchParams({ limit: "200", level: this.app.level });
    if (this.select.value) params.set("category", this.select.value);
    try {
      const result = await getJSON(`/api/sites/ranking?${params}`);
      this.list.append(el("p", { class: "muted" }, `Share of each site's area in view (${result.level}); bar: typical, box: low–high. ${result.method || ""}`));
      this.render(result.sites);
    } catch (error) {
      this.list.append(el("p", { class: "error" }, error.message));
    }
  }

  render(sites) {
    if (!sites.length) {
      this.list.append(el("p", { class: "muted" }, "No sites in this category."));
      return;
    }
    this.list.append(
      el(
        "ol",
        { class: "ranking" },
        sites.map((site) =>
          el(
            "li",
            { onclick: () => this.fly(site), title: "Show on the map" },
            el("span", { class: "site-name" }, site.name || `${human(site.category)} ${site.site_id}`),
            el("span", { class: "site-share" }, `${pct(site.share)}`),
            intervalBar(site.share, site.low, site.high),
            el("span", { class: "muted" }, `${human(site.category)}${site.low != null ? ` · ${pct(site.low)}–${pct(site.high)}` : ""}`),
          ),
        ),
      ),
    );
  }

  fly(site) {
    if (site.bbox) this.app.map.fitBounds(site.bbox, { padding: 60, maxZoom: 18 });
    else if (site.lon != null && site.lat != null) this.app.map.flyTo({ center: [site.lon, site.lat], zoom: 17 });
  }
}

function intervalBar(share, low, high) {
  const bar = el("span", { class: "bar" });
  const fill = el("span", { class: "bar-fill" });
  fill.style.width = `${Math.max(0, Math.min(1, share || 0)) * 100}%`;
  bar.append(fill);
  if (low != null && high != null) {
    const range = el("span", { class: "bar-range" });
    range.style.left = `${low * 100}%`;
    range.style.width = `${Math.max(0, high - low) * 100}%`;
    bar.append(range);
  }
  return bar;
}
