// The page's outbox in IndexedDB. Every order is written here first, with the id the page made
// for it (UUIDv7), then sent from here; it stays until the edge has answered for it, so an
// order queued in a tab that was closed is sent the next time the page opens.
const DB = "yadori-guest";
const VERSION = 1;

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      const orders = db.createObjectStore("orders", { keyPath: "id" });
      orders.createIndex("state", "state");
      db.createObjectStore("cache");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

let opened = null;
function db() { opened ??= open(); return opened; }

async function run(store, mode, work) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    const tx = conn.transaction(store, mode);
    const result = work(tx.objectStore(store));
    tx.oncomplete = () => resolve(result.result ?? result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export function put(order) { return run("orders", "readwrite", (s) => s.put(order)); }

export async function all() {
  const rows = await run("orders", "readonly", (s) => s.getAll());
  return rows.sort((a, b) => a.created.localeCompare(b.created));
}

export async function unsent() {
  return (await all()).filter((o) => o.state === "queued");
}

export async function update(id, patch) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    const tx = conn.transaction("orders", "readwrite");
    const store = tx.objectStore("orders");
    const get = store.get(id);
    get.onsuccess = () => { if (get.result) store.put({ ...get.result, ...patch }); };
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

export function remember(key, value) { return run("cache", "readwrite", (s) => s.put(value, key)); }
export function recall(key) { return run("cache", "readonly", (s) => s.get(key)); }

export function uuid7() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) { bytes[i] = ms % 256; ms = Math.floor(ms / 256); }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
