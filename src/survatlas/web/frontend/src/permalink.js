// Permalinks: the URL hash holds the view (MapLibre's own "map=zoom/lat/lon/bearing/pitch"),
// the layers shown, the DORI level, the label language, the route scenario, the selected
// device and the route; opening such a link restores them.

const KEYS = ["layers", "level", "lang", "scenario", "device", "route", "detour"];

// Links made before the permalinks ("#zoom/lat/lon[/bearing/pitch]") keep working.
export function upgradeLegacyHash() {
  const text = window.location.hash.slice(1);
  if (/^-?[\d.]+\/-?[\d.]+\/-?[\d.]+(\/-?[\d.]+){0,2}$/.test(text)) {
    window.history.replaceState(window.history.state, "", `${window.location.pathname}${window.location.search}#map=${text}`);
  }
}

export function readHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const out = {};
  for (const key of KEYS) if (params.has(key)) out[key] = params.get(key);
  return out;
}

// Write the app's state beside MapLibre's "map=" entry (replaceState: no history spam).
export function writeHash(app) {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const state = currentState(app);
  for (const key of KEYS) {
    if (state[key] === undefined || state[key] === null || state[key] === "") params.delete(key);
    else params.set(key, state[key]);
  }
  const text = params.toString().replaceAll("%2F", "/").replaceAll("%2C", ",").replaceAll("%3B", ";");
  const url = `${window.location.pathname}${window.location.search}#${text}`;
  window.history.replaceState(window.history.state, "", url);
}

function currentState(app) {
  const layers = [...document.querySelectorAll("#layer-toggles input[type=checkbox]")]
    .filter((input) => input.checked)
    .map((input) => input.value);
  const points = app.routes ? app.routes.points : [];
  return {
    layers: layers.join(","),
    level: app.level,
    lang: app.labelLanguage || "",
    scenario: app.routes ? app.routes.scenario.value : "",
    device: app.selectedDevice ?? "",
    route: points.length === 2 ? points.map(([lat, lon]) => `${lat.toFixed(6)},${lon.toFixed(6)}`).join(";") : "",
    detour: points.length === 2 && app.routes ? Number(app.routes.detour.value).toFixed(2) : "",
  };
}

// Parse "lat,lon;lat,lon" into two [lat, lon] points (null when malformed).
export function parseRoute(text) {
  const points = String(text || "").split(";").map((p) => p.split(",").map(Number));
  const ok = points.length === 2 && points.every((p) => p.length === 2 && p.every(Number.isFinite) && Math.abs(p[0]) <= 90 && Math.abs(p[1]) <= 180);
  return ok ? points : null;
}
