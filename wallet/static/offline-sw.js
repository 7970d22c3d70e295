// The offline wallet's service worker (scope /wallet/, served at /wallet/sw.js by
// wallet.pages_offline). It keeps the offline page and the files it needs in the Cache API so
// the page opens with no network at all. Network first, cache when offline: a page or script
// that changed on the node is never hidden behind an old copy while there is a network.
// Only same-origin GETs of the files below are touched; everything else (every other wallet
// page, every post) goes to the network as if there were no worker. The cards themselves are
// not here: they live in IndexedDB (wallet/static/offline.js).
"use strict";
const CACHE = "amana-offline-v1";
const OFFLINE_PAGE = "/wallet/offline";
const FILES = [
  "/static/amana/amana.css", "/static/wallet/wallet.css", "/static/wallet/offline-codec.js", "/static/wallet/offline.js",
  "/static/amana/vendor/qrcode-generator.js", "/static/amana/vendor/barcode-detector.js",
  "/static/amana/vendor/zxing_reader.wasm", "/wallet/manifest.webmanifest", "/static/wallet/icon.svg",
  "/static/wallet/icon-192.png", "/static/wallet/icon-512.png", "/static/amana/listen.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

async function networkFirst(request, isPage) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (offline) {
    const kept = await cache.match(request, { ignoreSearch: !isPage })
      || (isPage ? await cache.match(OFFLINE_PAGE, { ignoreSearch: true }) : undefined);
    if (kept) return kept;
    throw offline;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const isPage = url.pathname === OFFLINE_PAGE;
  if (isPage || FILES.includes(url.pathname)) event.respondWith(networkFirst(event.request, isPage));
});
