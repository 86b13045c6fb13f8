// The device panel: every stored field, every tag, warnings, sources and claims — as text.
import { append, clear, el, fmt, getJSON, human, safeUrl, swatch, table } from "./dom.js";
import { DORI_COLOURS } from "./style.js";

export async function showDevice(app, id) {
  const panel = clear(document.getElementById("device-panel"));
  app.showTab("device");
  panel.append(el("p", { class: "muted" }, `Loading device ${id}…`));
  let device;
  try {
    device = await getJSON(`/api/devices/${encodeURIComponent(id)}`);
  } catch (error) {
    clear(panel).append(el("p", { class: "error" }, `Device ${id}: ${error.message}`));
    return;
  }
  app.setSelected(device.geometry, device.id);
  append(clear(panel), renderDevice(device));
  panel.dataset.deviceId = String(device.id);
  if (app.config.analyses.coverage) showVisibility(app, device.id, panel);
}

function renderDevice(device) {
  const fields = device.fields;
  const title = fields.name || fields.device_type || "device";
  const [lon, lat] = device.geometry.coordinates;
  return [
    el("h2", { class: "device-title" }, title),
    el("p", { class: "muted" }, `${fields.origin} · ${lat.toFixed(6)}, ${lon.toFixed(6)}`),
    el("h3", {}, "Fields"),
    table(
      Object.entries(fields)
        .filter(([, v]) => v !== null && v !== undefined && v !== "")
        .map(([k, v]) => [human(k), typeof v === "number" && !Number.isInteger(v) ? fmt(v, 6) : String(v)]),
    ),
    el("h3", {}, `Views (${device.views.length})`),
    device.views.length
      ? table(device.views.map((v, i) => [`view ${i + 1}`, `direction ${v.direction_deg ?? "?"}°, field of view ${v.fov_deg ?? "?"}°`]))
      : el("p", { class: "muted" }, "No direction tagged."),
    el("h3", {}, `Tags (${Object.keys(device.tags).length})`),
    table(Object.entries(device.tags).sort(([a], [b]) => a.localeCompare(b)), "kv tags"),
    el("h3", {}, `Warnings (${device.warnings.length})`),
    device.warnings.length
      ? el("ul", { class: "warnings" }, device.warnings.map((w) => el("li", {}, el("b", {}, `${w.kind}: `), `${w.key}=${w.value} — ${w.message}`)))
      : el("p", { class: "muted" }, "No warnings."),
    el("h3", {}, "Sources"),
    el("ul", {}, device.sources.map(renderSource)),
    device.claims.length ? el("h3", {}, `Claims (${device.claims.length})`) : null,
    device.claims.length ? el("ul", {}, device.claims.map((c) => el("li", {}, `${c.statement} (${c.status}, ${c.confidence})`))) : null,
    device.attribution ? el("p", { class: "attribution-note" }, device.attribution) : null,
    el("div", { id: "visibility-legend" }),
  ];
}

function renderSource(source) {
  const link = safeUrl(source.url || source.uri || "");
  const title = link ? el("a", { href: link, rel: "noreferrer noopener", target: "_blank" }, source.title) : source.title;
  const bits = [source.kind, source.publisher, source.data_timestamp, source.licence].filter(Boolean);
  return el("li", {}, title, el("span", { class: "muted" }, ` — ${bits.join(", ")}`));
}

async function showVisibility(app, id, panel) {
  const legend = panel.querySelector("#visibility-legend");
  try {
    const regions = await getJSON(`/api/devices/${id}/visibility`);
    app.map.getSource("visibility").setData(regions);
    legend.append(
      el("h3", {}, "Real visibility (DORI)"),
      el(
        "ul",
        { class: "legend" },
        regions.features.map((f) =>
          el(
            "li",
            {},
            swatch(DORI_COLOURS[f.properties.level] || "#fdd49e"),
            `${f.properties.level}${f.properties.area_m2 ? ` — ${fmt(f.properties.area_m2)} m²` : ""}`,
          ),
        ),
      ),
    );
  } catch (error) {
    app.map.getSource("visibility").setData({ type: "FeatureCollection", features: [] });
    legend.append(el("p", { class: "muted" }, `Visibility: ${error.message}`));
  }
}
