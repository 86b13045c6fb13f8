// survatlas service worker: the app shell works offline; public map data is served from the
// network first and from the last copy when offline. Reports are never cached here (the page
// keeps unsent reports in IndexedDB); moderation views are never cached.
const VERSION = "survatlas-shell-v3";
const SHELL = [
  "/",
  "/manifest.webmanifest",
  "/static/app.css",
  "/static/report.css",
  "/static/map.css",
  "/static/print.css",
  "/static/app.js",
  "/static/charts.js",
  "/static/device.js",
  "/static/context.js",
  "/static/dom.js",
  "/static/export.js",
  "/static/labels.js",
  "/static/legend.js",
  "/static/permalink.js",
  "/static/search.js",
  "/static/queue.js",
  "/static/report.js",
  "/static/route.js",
  "/static/sites.js",
  "/static/style.js",
  "/static/timeslider.js",
  "/static/timeslider.css",
  "/static/favicon.svg",
  "/static/icon-192.png",
  "/static/icon-512.png",
  "/static/vendor/maplibre-gl.css",
  "/static/vendor/maplibre-gl-csp.js",
  "/static/vendor/maplibre-gl-csp-worker.js",
];
const RUNTIME = "survatlas-data-v1";
const CACHED_API = ["/api/config", "/api/contributions/form", "/api/tiles/", "/tiles/", "/fonts/", "/api/stats"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION && k !== RUNTIME).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request, cacheName) {
  try {
    const response = await fetch(request);
    if (response.ok) (await caches.open(cacheName)).put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await caches.match(request);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, VERSION).catch(() => caches.match("/")));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  } else if (CACHED_API.some((prefix) => url.pathname === prefix || (prefix.endsWith("/") && url.pathname.startsWith(prefix)))) {
    event.respondWith(networkFirst(request, RUNTIME));
  }
});
