// The room-service page's service worker: the app shell from the cache (so the page opens with
// no network), the menu network-first with the last good copy as the fallback. Orders are never
// cached: they live in IndexedDB until the edge has answered for them.
const SHELL = "yadori-guest-shell-v1";
const DATA = "yadori-guest-data-v1";
const FILES = [
  "./", "index.html", "style.css", "app.js", "i18n.js", "pricing.js", "queue.js", "net.js",
  "manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL && k !== DATA).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

const MENU = /\/guest\/v1\/[^/]+\/menu$/;

async function networkFirst(request, key) {
  const cache = await caches.open(DATA);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw error;
  }
}

async function shellFirst(request) {
  const cache = await caches.open(SHELL);
  const cached = await cache.match(request, { ignoreSearch: true });
  const fresh = fetch(request)
    .then((response) => { if (response.ok) cache.put(request, response.clone()); return response; })
    .catch(() => undefined);
  return cached || (await fresh) || Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) return;
  if (MENU.test(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (url.pathname.startsWith("/guest/") && !url.pathname.startsWith("/guest/v1/")) {
    event.respondWith(shellFirst(request));
  }
});
