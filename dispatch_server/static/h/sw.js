// The handheld's service worker (served at /h/sw.js, so its scope is /h/).
//
// 1. The page opens with no network: its files are kept here and served from the cache
//    when the network fails (network first, so an update reaches the phone at once).
// 2. An alarm pressed and not yet accepted is sent from here when the network returns,
//    even after the tab was closed (Background Sync): a worker cannot open a websocket,
//    so it POSTs /api/alarms, which the server treats exactly like the socket's `alert`
//    (same alert_id: the same incident, never a second one).

import {accepted, alertBody, kv, outbox, unsent} from "/static/h/store.js";

const CACHE = "handheld-v1";
const FILES = [
  "/h/",
  "/static/h/handheld.css",
  "/static/h/main.js",
  "/static/h/words.js",
  "/static/h/store.js",
  "/static/h/link.js",
  "/static/h/ring.js",
  "/static/h/minimap.js",
  "/static/h/media.js",
  "/static/h/manifest.webmanifest",
  "/static/h/icon-192.png",
  "/static/h/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

function cacheable(url) {
  return url.origin === location.origin && (url.pathname === "/h/" || url.pathname.startsWith("/static/h/"));
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || !cacheable(url)) return;
  const key = url.pathname === "/h/" ? "/h/" : url.pathname;
  event.respondWith((async () => {
    try {
      const fresh = await fetch(event.request);
      if (fresh.ok) (await caches.open(CACHE)).put(key, fresh.clone());
      return fresh;
    } catch (err) {
      const kept = await caches.match(key);
      if (kept) return kept;
      throw err;
    }
  })());
});

async function sendOutbox() {
  const token = await kv.get("token");
  if (!token) return;
  let failed = null;
  for (const alarm of await unsent()) {
    try {
      const res = await fetch("/api/alarms", {
        method: "POST",
        headers: {Authorization: `Bearer ${token}`, "Content-Type": "application/json"},
        body: JSON.stringify(alertBody(alarm)),
      });
      const data = await res.json().catch(() => null);
      if (res.ok && data && Number.isInteger(data.incident_id)) {
        await outbox.update(alarm.alert_id, (a) => accepted(a, data));
      } else if (res.status === 409 || res.status === 422) {
        await outbox.update(alarm.alert_id, (a) => (a.state === "accepted" ? a : {...a, state: "rejected", error: `HTTP ${res.status}`}));
      } else {
        failed = new Error(`HTTP ${res.status}`);
      }
    } catch (err) {
      failed = err;
    }
  }
  for (const client of await self.clients.matchAll()) client.postMessage({type: "outbox_changed"});
  if (failed) throw failed; // the browser tries the sync again later
}

self.addEventListener("sync", (event) => {
  if (event.tag === "alarm-outbox") event.waitUntil(sendOutbox());
});
