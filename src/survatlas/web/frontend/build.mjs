// Build the survatlas front end into ../static/dist/ (git-ignored):
// our own files from src/, MapLibre GL JS (CSP build, its worker and CSS) and Swagger UI from
// node_modules (installed from the npm registry by `npm ci`). Nothing third-party is committed.
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here("../static/dist/");
const vendor = [
  ["maplibre-gl/dist/maplibre-gl-csp.js", "vendor/maplibre-gl-csp.js"],
  ["maplibre-gl/dist/maplibre-gl-csp-worker.js", "vendor/maplibre-gl-csp-worker.js"],
  ["maplibre-gl/dist/maplibre-gl.css", "vendor/maplibre-gl.css"],
  ["maplibre-gl/LICENSE.txt", "vendor/maplibre-gl.LICENSE.txt"],
  // the static site (`survatlas publish site`) reads PMTiles archives through this protocol
  ["pmtiles/dist/pmtiles.js", "vendor/pmtiles.js"],
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger/swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger/swagger-ui.css"],
  ["swagger-ui-dist/LICENSE", "swagger/LICENSE"],
];

for (const [from] of vendor) {
  if (!existsSync(here(`node_modules/${from}`))) {
    console.error(`missing node_modules/${from}: run npm ci first`);
    process.exit(1);
  }
}
rmSync(out, { recursive: true, force: true });
mkdirSync(here("../static/dist/vendor"), { recursive: true });
mkdirSync(here("../static/dist/swagger"), { recursive: true });
cpSync(here("src/"), out, { recursive: true });
for (const [from, to] of vendor) cpSync(here(`node_modules/${from}`), `${out}${to}`);
console.log(`front end built into ${out}`);
