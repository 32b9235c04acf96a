// The handheld's durable memory, in IndexedDB: shared by the page and its service worker.
//
// - kv: the device token and what the page remembers (language, member, shift).
// - outbox: every alarm pressed on this phone, keyed by its alert_id, written BEFORE it is
//   sent, so a reload, a closed tab or a dead network never loses a press (decision 36).
// - uploads: photos and clips waiting to reach the server, with how much already has.

const DB_NAME = "patrol-handheld";
const VERSION = 1;
let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
      if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", {keyPath: "alert_id"});
      if (!db.objectStoreNames.contains("uploads")) db.createObjectStore("uploads", {keyPath: "key"});
    };
    req.onsuccess = () => {
      const db = req.result;
      // A newer page (or worker) wants to upgrade the database: let it, and open again.
      db.onversionchange = () => { db.close(); opening = null; };
      resolve(db);
    };
    req.onblocked = () => console.warn("the handheld's database is held open by an older tab");
    req.onerror = () => { opening = null; reject(req.error); };
  });
  return opening;
}

/** Run `work(store)` in one transaction; resolves only once the transaction has committed. */
async function inStore(name, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode, {durability: "strict"});
    let result;
    const req = work(tx.objectStore(name));
    if (req) req.onsuccess = () => { result = req.result; };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

export const kv = {
  get: (key) => inStore("kv", "readonly", (s) => s.get(key)),
  set: (key, value) => inStore("kv", "readwrite", (s) => s.put(value, key)),
  del: (key) => inStore("kv", "readwrite", (s) => s.delete(key)),
};

export const outbox = {
  all: async () => (await inStore("outbox", "readonly", (s) => s.getAll())) ?? [],
  get: (alertId) => inStore("outbox", "readonly", (s) => s.get(alertId)),
  put: (alarm) => inStore("outbox", "readwrite", (s) => s.put(alarm)),
  /** Change one alarm by `change(alarm)` inside one transaction (the page and the service
   *  worker both write: a read-modify-write across two transactions could lose a change). */
  update: async (alertId, change) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("outbox", "readwrite", {durability: "strict"});
      const store = tx.objectStore("outbox");
      let after;
      const req = store.get(alertId);
      req.onsuccess = () => {
        if (!req.result) return;
        after = change({...req.result}) ?? req.result;
        store.put(after);
      };
      tx.oncomplete = () => resolve(after);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
    });
  },
  del: (alertId) => inStore("outbox", "readwrite", (s) => s.delete(alertId)),
};

/** A phone enrolled for another member: the last member's alarms and files are not theirs. */
export async function forget() {
  await inStore("outbox", "readwrite", (s) => s.clear());
  await inStore("uploads", "readwrite", (s) => s.clear());
}

export const uploads = {
  all: async () => (await inStore("uploads", "readonly", (s) => s.getAll())) ?? [],
  put: (item) => inStore("uploads", "readwrite", (s) => s.put(item)),
  del: (key) => inStore("uploads", "readwrite", (s) => s.delete(key)),
};

/** Alarms the server has not accepted yet: what must still be sent, in press order. */
export async function unsent() {
  const all = await outbox.all();
  return all
    .filter((a) => a.state === "queued" || a.state === "sent")
    .sort((a, b) => a.pressed_at.localeCompare(b.pressed_at));
}

/** The body of an `alert` frame (or of POST /api/alarms) for an outbox entry. */
export function alertBody(alarm) {
  const body = {alert_id: alarm.alert_id, pressed_at: alarm.pressed_at};
  // Picked before the first send: it goes with the alarm (escalation by category at once);
  // picked later, it goes as `alert_category` once the alarm is accepted.
  if (alarm.category) body.category = alarm.category;
  if (alarm.lon != null && alarm.lat != null) {
    body.lon = alarm.lon;
    body.lat = alarm.lat;
    if (alarm.accuracy_m != null) body.accuracy_m = alarm.accuracy_m;
  }
  // Decision 50: the drill this press answers; a silent alarm under duress.
  if (alarm.drill_id) body.drill_id = alarm.drill_id;
  if (alarm.duress) body.duress = true;
  return body;
}

/** The server accepted an alarm: keep its incident id; the category picked meanwhile is
 *  still to be sent as an update. */
export function accepted(alarm, answer) {
  if (alarm.state === "accepted") return alarm; // the first answer says it; a duplicate's adds nothing
  return {
    ...alarm,
    state: "accepted",
    incident_id: answer.incident_id,
    unattended: Boolean(answer.unattended),
    accepted_at: new Date().toISOString(),
  };
}
