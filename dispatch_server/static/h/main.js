// The phone handheld: enrol from the card's link, go on patrol, raise the alarm with a held
// press, answer call-outs, roll calls and check-ins. It speaks /ws/patrol exactly as the
// Python handheld does (docs/protocol.md); what must survive a reload lives in IndexedDB.
//
// The screen only ever says what the server has said: "中心已收到" only after
// `alert_accepted`, "on patrol" only after `shift`, "security called" only when the server's
// `alert_update` says a partner was reached.

import {Link} from "./link.js";
import {Camera, Uploader, keep} from "./media.js";
import {distanceM, drawMinimap} from "./minimap.js";
import {buzz, ring, unlock} from "./ring.js";
import {accepted, alertBody, forget, kv, outbox, unsent, uploads} from "./store.js";
import {clockTime, currentLang, setLang, t} from "./words.js";

const HOLD_MS = 1000;
const DURESS_HOLD_MS = 3000; // a long press on the header: the silent duress alarm
const TICK_MS = 5000;
const BEAT_MS = 10_000;
const CHASE_MS = 10_000; // an alarm unanswered this long is sent over REST too // the protocol asks for a frame at least every 15 s on shift
const FRESH_FIX_MS = 30_000;
const SHOW_ALARM_MS = 24 * 3600 * 1000;
const CATEGORY_KEYS = ["medical", "fire", "violence", "theft", "dispute", "disorder", "suspicious", "other"];

const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  member: null, // from `welcome`, kept for a reload without network
  link: "offline",
  onShift: false,
  shiftPending: false,
  fix: null, // {lon, lat, accuracy_m, at}
  geo: "none", // none | ok | denied
  wake: null, // the WakeLockSentinel while the screen is held on
  alarms: [], // the outbox
  assignments: new Map(), // incident_id -> {frame, reply: null|true|false, status: null|"arrived"|"done"}
  rollCalls: new Map(), // roll_call_id -> frame
  checkIn: null, // the last `check_in_due`
  uploads: [],
  pickingFor: null, // the alert_id whose category picker is open
  folded: null, // the incident_id of a taken call-out put aside for the key
  enrolError: null,
  lastSent: 0,
  lastPosition: 0,
  drill: null, // the drill_id the centre asked this member to press the key for
};
let link = null;
let uploader = null;
let camera = null;

// ---- starting up -------------------------------------------------------------------

function enrolCode() {
  const match = /(?:^#|&)enrol=([^&]+)/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function deviceName() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iPhone" : navigator.platform || "phone";
  const browser = /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "browser";
  return `${os} ${browser} ${new Date().toISOString().slice(0, 10)}`.slice(0, 100);
}

async function enrol(code) {
  $("enrol").hidden = false;
  $("enrol-text").textContent = t("enrolling");
  let res;
  try {
    res = await fetch("/api/enrol", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({code, device_name: deviceName()}),
    });
  } catch {
    state.enrolError = "enrol_network"; // the code stays in the address: a reload tries again
    return;
  }
  const refusal = {404: "enrol_unknown", 409: "enrol_used", 410: "enrol_expired"}[res.status];
  if (!res.ok && !refusal) {
    state.enrolError = "enrol_network"; // a server fault: the code may well still be good
    return;
  }
  // The code has had its answer: out of the address, so a reload does not try it again.
  history.replaceState(null, "", location.pathname + location.search);
  if (refusal) {
    state.enrolError = refusal;
    return;
  }
  const answer = await res.json();
  const before = await kv.get("member");
  if (before && before.member_id !== answer.member_id) await forget();
  await kv.set("token", answer.token);
  await kv.del("member");
  await kv.set("assignments", []);
  state.enrolError = null;
}

async function boot() {
  setLang((await kv.get("lang")) ?? "zh");
  $("lang").addEventListener("click", toggleLang);
  registerWorker();
  const code = enrolCode();
  if (code) await enrol(code);
  state.token = (await kv.get("token")) ?? null;
  wire();
  if (!state.token) { render(); return; }
  state.member = (await kv.get("member")) ?? null;
  for (const a of (await kv.get("assignments")) ?? []) {
    if (a.status !== "done") state.assignments.set(a.frame.incident_id, a);
  }
  state.alarms = await outbox.all();
  link = new Link({
    token: state.token,
    onWelcome: (w) => serially(() => welcome(w)),
    onFrame: (f) => serially(() => frame(f)),
    onState: linkState,
  });
  link.start();
  uploader = new Uploader({token: state.token, onChange: uploadsChanged});
  uploader.kick();
  watchPosition();
  setInterval(tick, TICK_MS);
  setInterval(chaseOutbox, CHASE_MS);
  document.addEventListener("visibilitychange", holdScreen);
  render();
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return; // plain http on a LAN address: no worker
  try {
    await navigator.serviceWorker.register("/h/sw.js", {type: "module", scope: "/h/"});
  } catch (err) {
    console.warn("service worker not registered", err);
  }
  navigator.serviceWorker.addEventListener("message", async (event) => {
    if (event.data && event.data.type === "outbox_changed") {
      state.alarms = await outbox.all();
      if (link && link.online) for (const alarm of state.alarms) sendCategory(alarm);
      render();
    }
  });
}

async function toggleLang() {
  const next = currentLang() === "zh" ? "en" : "zh";
  setLang(next);
  await kv.set("lang", next);
  render();
}

// ---- the link ------------------------------------------------------------------------

let chain = Promise.resolve();

/** Frames are handled one at a time, in the order they came: a handler that waits on
 *  IndexedDB must not let the next frame (the backlog behind `welcome`) overtake it. */
function serially(work) {
  chain = chain.then(work).catch((err) => console.error("handling a frame failed", err));
  return chain;
}

function linkState(next) {
  state.link = next;
  if (next === "revoked") signOut();
  render();
}

async function signOut() {
  await kv.del("token");
  state.token = null;
  state.assignments.clear();
  state.rollCalls.clear();
  await kv.set("assignments", []);
  release();
  ring(false);
  render();
}

async function welcome(w) {
  // The server is the truth about what still waits for an answer: it sends every
  // unanswered assignment and roll call again right behind this welcome.
  for (const [id, a] of state.assignments) if (a.reply === null) state.assignments.delete(id);
  state.rollCalls.clear();
  state.member = {member_id: w.member_id, grid_id: w.grid_id, grid: w.grid, name: w.name ?? null};
  state.onShift = w.on_shift;
  state.shiftPending = false;
  await kv.set("member", state.member);
  await sendOutbox();
  holdScreen();
  render();
}

/** Every alarm not yet accepted goes again (same alert_id: the server never opens a
 *  second incident), and every category picked meanwhile. */
async function sendOutbox() {
  for (const alarm of await unsent()) {
    if (!sendAlert(alarm)) return;
    await outbox.update(alarm.alert_id, (a) => (a.state === "queued" ? {...a, state: "sent"} : a));
  }
  for (const alarm of await outbox.all()) sendCategory(alarm);
  state.alarms = await outbox.all();
}

const sentAt = new Map(); // alert_id -> when this page last sent it

function sendAlert(alarm) {
  if (!link || !link.send({type: "alert", ...alertBody(alarm)})) return false;
  state.lastSent = Date.now();
  sentAt.set(alarm.alert_id, Date.now());
  return true;
}

/** An alarm sent and not answered within CHASE_MS: the link may be dead while it looks
 *  alive (a half-open connection). Send it over REST too (same alert_id: never a second
 *  incident), and open the socket again. */
async function chaseOutbox() {
  if (!navigator.onLine) return;
  for (const alarm of await unsent()) {
    const last = sentAt.get(alarm.alert_id) ?? 0;
    if (Date.now() - last < CHASE_MS) continue;
    sentAt.set(alarm.alert_id, Date.now());
    if (link && link.online && last) link.restart();
    try {
      const res = await fetch("/api/alarms", {
        method: "POST",
        headers: {Authorization: `Bearer ${state.token}`, "Content-Type": "application/json"},
        body: JSON.stringify(alertBody(alarm)),
      });
      const data = await res.json().catch(() => null);
      if (res.ok && data && Number.isInteger(data.incident_id)) {
        await outbox.update(alarm.alert_id, (a) => accepted(a, data));
      }
    } catch {
      // no network after all: the socket or the worker will send it
    }
  }
  state.alarms = await outbox.all();
  render();
}

function sendCategory(alarm) {
  if (alarm.state !== "accepted" || !alarm.category || alarm.category_sent || alarm.category_given_up) return;
  link.send({type: "alert_category", alert_id: alarm.alert_id, category: alarm.category});
}

async function frame(f) {
  switch (f.type) {
    case "alert_accepted": {
      const after = await outbox.update(f.alert_id, (a) => accepted(a, f));
      if (after) sendCategory(after);
      break;
    }
    case "alert_update": {
      const known = await outbox.get(f.alert_id);
      const now = new Date().toISOString();
      if (known) {
        await outbox.update(f.alert_id, (a) => ({
          ...a, state: a.state === "rejected" ? a.state : "accepted", incident_id: f.incident_id,
          accepted_at: a.accepted_at ?? now, update: f,
        }));
      } else {
        // An incident about this member that this phone did not raise (another phone, a roll
        // call's "need help", an overdue check-in): shown, but it does not latch the key.
        await outbox.put({alert_id: f.alert_id, pressed_at: null, state: "accepted", incident_id: f.incident_id,
          accepted_at: now, update: f, category: null, category_sent: true});
      }
      break;
    }
    case "alert_category_recorded":
      await outbox.update(f.alert_id, (a) => ({...a, category_sent: a.category === f.category ? true : a.category_sent}));
      break;
    case "error":
      await refused(f);
      break;
    case "shift":
      state.onShift = f.on_shift;
      state.shiftPending = false;
      holdScreen();
      break;
    case "assignment":
      state.assignments.set(f.incident_id, {frame: f, reply: null, status: null, at: Date.now()});
      await saveAssignments();
      break;
    case "assignment_recorded": {
      const a = state.assignments.get(f.incident_id);
      if (a && f.accept) a.reply = true;
      else state.assignments.delete(f.incident_id);
      await saveAssignments();
      break;
    }
    case "assignment_status_recorded": {
      const a = state.assignments.get(f.incident_id);
      if (a) a.status = f.status;
      // "Done, thank you" for a moment; it is already forgotten across a reload.
      if (f.status === "done") setTimeout(() => { state.assignments.delete(f.incident_id); render(); }, 3000);
      await saveAssignments();
      break;
    }
    case "roll_call":
      state.rollCalls.set(f.roll_call_id, f);
      break;
    case "roll_call_recorded":
      state.rollCalls.delete(f.roll_call_id);
      break;
    case "check_in_due":
      state.checkIn = f;
      break;
    case "team_check":
      // The team watch asks the same "I am fine" (decision 48); `clear`: back with the team.
      state.checkIn = f.state === "clear" ? null : f;
      break;
    case "check_in_recorded":
      state.checkIn = null;
      break;
    case "drill":
      // Sent again on every hello until answered: the member's next press answers it.
      state.drill = f.drill_id;
      break;
    default:
      break; // a newer server's frame: ignore it, keep the link
  }
  state.alarms = await outbox.all();
  render();
}

async function refused(f) {
  if (f.ref_type === "alert" && f.alert_id) {
    if (f.code === "unavailable") {
      // Nothing was written: the same alarm again shortly (one timer, however many errors).
      clearTimeout(retryTimer);
      retryTimer = setTimeout(sendOutbox, 2000);
    } else {
      await outbox.update(f.alert_id, (a) => (a.state === "accepted" ? a : {...a, state: "rejected", error: f.message}));
    }
  } else if (f.ref_type === "alert_category" && f.alert_id && f.code !== "unavailable") {
    // Resolved meanwhile, or a server that does not take categories: stop trying, and the
    // card says it was not sent rather than pretend it was.
    await outbox.update(f.alert_id, (a) => ({...a, category_given_up: true}));
  } else if (f.ref_type === "assignment_status" || f.ref_type === "assignment_reply") {
    if (f.incident_id && (f.code === "not_assigned" || f.code === "not_found")) {
      state.assignments.delete(f.incident_id);
      await saveAssignments();
    }
  } else if (f.ref_type === "shift_start" || f.ref_type === "shift_end") {
    state.shiftPending = false; // not recorded: the button is free to try again
  } else if (f.code === "not_on_shift") {
    state.onShift = false;
  }
}

let retryTimer = null;

async function saveAssignments() {
  // Only what the member has taken on is kept across a reload; the server sends the
  // unanswered ones again after every welcome.
  await kv.set("assignments", [...state.assignments.values()].filter((a) => a.reply === true && a.status !== "done"));
}

// ---- on patrol -----------------------------------------------------------------------

function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition(
    (p) => {
      state.fix = {lon: p.coords.longitude, lat: p.coords.latitude, accuracy_m: p.coords.accuracy, at: Date.now()};
      state.geo = "ok";
      if (Date.now() - state.lastPosition > 3000) sendPosition();
      render();
    },
    (err) => {
      if (err.code === err.PERMISSION_DENIED) state.geo = "denied";
      render();
    },
    {enableHighAccuracy: true, maximumAge: 5000, timeout: 30_000},
  );
}

function freshFix() {
  return state.fix && Date.now() - state.fix.at < FRESH_FIX_MS ? state.fix : null;
}

function sendPosition() {
  const fix = freshFix();
  if (!state.onShift || !fix || !link || !link.online) return false;
  const frame = {type: "position", lon: fix.lon, lat: fix.lat};
  if (Number.isFinite(fix.accuracy_m)) frame.accuracy_m = Math.min(fix.accuracy_m, 100_000);
  if (!link.send(frame)) return false;
  state.lastPosition = state.lastSent = Date.now();
  return true;
}

/** Every few seconds on patrol: the position, or a heartbeat so supervision hears us. */
function tick() {
  if (!state.onShift || !link || !link.online) return;
  if (Date.now() - state.lastPosition >= TICK_MS && sendPosition()) return;
  if (Date.now() - state.lastSent >= BEAT_MS && link.send({type: "heartbeat"})) state.lastSent = Date.now();
}

async function holdScreen() {
  const want = state.onShift && document.visibilityState === "visible";
  if (want && !state.wake && navigator.wakeLock) {
    try {
      state.wake = await navigator.wakeLock.request("screen");
      state.wake.addEventListener("release", () => { state.wake = null; render(); });
    } catch {
      state.wake = null;
    }
  } else if (!want) {
    release();
  }
  render();
}

function release() {
  if (state.wake) state.wake.release();
  state.wake = null;
}

function toggleShift() {
  unlock();
  if (!link || !link.online || state.shiftPending) return;
  state.shiftPending = true;
  link.send({type: state.onShift ? "shift_end" : "shift_start"});
  render();
}

// ---- the red key ---------------------------------------------------------------------

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16)); // plain http on a LAN: no randomUUID
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Written to the outbox first, sent second: a press is never lost to a dead network, a
 *  reload or a closed tab. */
async function fire(pressedAt, duress = false) {
  if (!duress) { buzz(); unlock(); } // under duress: no sound, no vibration
  const fix = freshFix();
  const alarm = {
    alert_id: uuid(),
    pressed_at: new Date(pressedAt).toISOString(),
    lon: fix ? fix.lon : null,
    lat: fix ? fix.lat : null,
    accuracy_m: fix && Number.isFinite(fix.accuracy_m) ? Math.min(fix.accuracy_m, 100_000) : null,
    state: "queued",
    incident_id: null,
    category: null,
    category_sent: false,
  };
  if (duress) alarm.duress = true;
  else if (state.drill) { alarm.drill_id = state.drill; state.drill = null; }
  try {
    await outbox.put(alarm);
  } catch (err) {
    // The phone would not keep it (storage full or blocked): send it anyway, and say so.
    console.error("the alarm could not be kept on this phone", err);
    state.alarms = [...state.alarms, {...alarm, state: "sent"}];
    if (!sendAlert(alarm)) state.alarms.at(-1).state = "queued";
    state.storageFailed = !duress;
    render();
    return;
  }
  if (!duress) state.pickingFor = alarm.alert_id;
  if (sendAlert(alarm)) {
    await outbox.update(alarm.alert_id, (a) => (a.state === "queued" ? {...a, state: "sent"} : a));
  }
  requestSync();
  state.alarms = await outbox.all();
  render();
}

async function requestSync() {
  try {
    const reg = await navigator.serviceWorker.ready;
    if (reg.sync) await reg.sync.register("alarm-outbox");
  } catch {
    // no worker or no Background Sync: the open page sends it when the link returns
  }
}

let warnTimer = null;

/** A word under the key for a few seconds (a press too short, an alarm already raised). */
function warn(key) {
  $("key-hint").textContent = t(key);
  $("key-hint").dataset.warn = "true";
  clearTimeout(warnTimer);
  warnTimer = setTimeout(() => { $("key-hint").dataset.warn = "false"; render(); }, 4000);
}

function wireKey() {
  const key = $("key");
  let timer = null;
  let touched = 0;
  key.style.setProperty("--hold-ms", `${HOLD_MS}ms`);
  const start = (event) => {
    event.preventDefault();
    if (timer) return;
    if (latched()) {
      // GB 50394: an emergency alarm latches until the centre resets it. Pressing again
      // changes nothing (and a pocket cannot pile up alarms); the card says where it stands.
      warn("key_latched_hint");
      $("mine").scrollIntoView({block: "center"});
      return;
    }
    key.dataset.state = "holding";
    touched = Date.now(); // pressed_at: when the member meant it, not a second later
    $("key-hint").textContent = t("key_keep");
    $("key-hint").dataset.warn = "false";
    timer = setTimeout(() => {
      timer = null;
      key.dataset.state = "fired";
      $("key-hint").textContent = t("key_hold");
      fire(touched);
    }, HOLD_MS);
  };
  const stop = () => {
    if (!timer) { key.dataset.state = "idle"; return; }
    clearTimeout(timer);
    timer = null;
    key.dataset.state = "idle";
    warn("key_too_short");
  };
  key.addEventListener("pointerdown", start);
  for (const name of ["pointerup", "pointercancel", "pointerleave"]) key.addEventListener(name, stop);
  key.addEventListener("contextmenu", (e) => e.preventDefault());
  key.addEventListener("keydown", (e) => { if ((e.key === "Enter" || e.key === " ") && !e.repeat) start(e); });
  key.addEventListener("keyup", (e) => { if (e.key === "Enter" || e.key === " ") stop(); });
}

async function pickCategory(alertId, category) {
  const after = await outbox.update(alertId, (a) => ({...a, category, category_sent: false, category_given_up: false}));
  state.pickingFor = null;
  if (after && link) sendCategory(after);
  state.alarms = await outbox.all();
  render();
}

// ---- photos and clips ----------------------------------------------------------------

function uploadsChanged(list) {
  if (list) state.uploads = list;
  render();
}

async function addMedia(blob, kind, durationS = null) {
  const alarm = myAlarm();
  if (!alarm || !alarm.incident_id) return;
  await keep(alarm.incident_id, blob, kind, durationS);
  state.uploads = await uploader.list();
  uploader.kick();
  render();
}

let cancelled = false;

async function openCamera(mode) {
  camera = camera ?? new Camera($("viewfinder"));
  $("camera").hidden = false;
  $("camera").dataset.mode = mode;
  $("shoot").textContent = mode === "photo" ? t("take_photo") : t("stop_clip");
  $("rec-time").textContent = "";
  try {
    await camera.open(mode === "clip");
  } catch (err) {
    closeCamera();
    $("media-state").textContent = t("media_error", {why: String(err.message || err)});
    return;
  }
  if (mode === "clip") {
    cancelled = false;
    const {blob, duration_s: duration} = await camera.record((s) => { $("rec-time").textContent = `● ${Math.floor(s)} s / 30 s`; });
    closeCamera();
    if (blob.size && !cancelled) await addMedia(blob, "clip", duration);
  }
}

function closeCamera() {
  if (camera) camera.close();
  $("camera").hidden = true;
}

async function shoot() {
  if ($("camera").dataset.mode === "clip") { camera.stop(); return; }
  const blob = await camera.photo();
  closeCamera();
  await addMedia(blob, "photo");
}

async function fromGallery(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  await addMedia(file, file.type.startsWith("video/") ? "clip" : "photo");
}

// ---- answering -----------------------------------------------------------------------

function answerAssignment(accept) {
  const a = currentAssignment();
  if (!a || !link) return;
  unlock();
  link.send({type: "assignment_reply", incident_id: a.frame.incident_id, accept});
}

function reportStatus(status) {
  const a = currentAssignment();
  if (a && link) link.send({type: "assignment_status", incident_id: a.frame.incident_id, status});
}

function answerRollCall(status) {
  const rc = [...state.rollCalls.values()][0];
  if (rc && link) link.send({type: "roll_call_reply", roll_call_id: rc.roll_call_id, status});
}

/** Decision 50: a 3 s press on the header raises a silent alarm under duress. Nothing on the
 *  screen changes, nothing sounds or vibrates: someone may be watching the phone. The
 *  language button is not part of it (a long press there would still switch the language). */
function wireDuress() {
  const header = document.querySelector("header");
  let timer = null;
  const start = (event) => {
    if (!state.token || event.target.closest("button") || timer) return;
    const touched = Date.now();
    timer = setTimeout(() => { timer = null; fire(touched, true); }, DURESS_HOLD_MS);
  };
  const stop = () => { clearTimeout(timer); timer = null; };
  header.addEventListener("pointerdown", start);
  for (const name of ["pointerup", "pointercancel", "pointerleave"]) header.addEventListener(name, stop);
  header.addEventListener("contextmenu", (e) => e.preventDefault());
}

function wire() {
  wireKey();
  wireDuress();
  $("shift").addEventListener("click", toggleShift);
  $("im-fine").addEventListener("click", () => link && link.send({type: "check_in"}));
  $("accept").addEventListener("click", () => answerAssignment(true));
  $("decline").addEventListener("click", () => answerAssignment(false));
  $("arrived").addEventListener("click", () => reportStatus("arrived"));
  $("done").addEventListener("click", () => reportStatus("done"));
  $("fold").addEventListener("click", () => { state.folded = currentAssignment()?.frame.incident_id ?? null; render(); });
  $("task").addEventListener("click", () => { state.folded = null; render(); });
  $("rc-normal").addEventListener("click", () => answerRollCall("all_normal"));
  $("rc-help").addEventListener("click", () => answerRollCall("need_help"));
  $("add-photo").addEventListener("click", () => openCamera("photo"));
  $("add-clip").addEventListener("click", () => openCamera("clip"));
  $("gallery").addEventListener("change", fromGallery);
  $("shoot").addEventListener("click", shoot);
  $("camera-cancel").addEventListener("click", () => { cancelled = true; if (camera) camera.stop(); closeCamera(); });
  const buttons = $("category-buttons");
  for (const key of CATEGORY_KEYS) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.category = key;
    b.dataset.t = `cat_${key}`;
    b.textContent = t(`cat_${key}`);
    b.addEventListener("click", () => state.pickingFor && pickCategory(state.pickingFor, key));
    buttons.append(b);
  }
  document.addEventListener("pointerdown", unlock, {once: true});
}

// ---- the screen ----------------------------------------------------------------------

function myAlarm() {
  const recent = state.alarms.filter((a) => {
    if (a.duress) return false; // never shown: the screen stays as it was
    const at = a.pressed_at ?? a.accepted_at ?? a.update?.at;
    return !at || Date.now() - Date.parse(at) < SHOW_ALARM_MS;
  });
  recent.sort((a, b) => (b.pressed_at ?? "").localeCompare(a.pressed_at ?? ""));
  return recent[0] ?? null;
}

/** The member's own alarm is raised and not yet dealt with by the centre. */
function latched() {
  const alarm = myAlarm();
  return Boolean(alarm && alarm.pressed_at && alarm.state !== "rejected" && alarm.update?.status !== "resolved");
}

function currentAssignment() {
  const all = [...state.assignments.values()];
  return all.find((a) => a.reply === null) ?? all.find((a) => a.status !== "done") ?? all[0] ?? null;
}

function alarmWords(alarm) {
  if (alarm.state === "rejected") return {state: "rejected", text: t("a_rejected", {why: alarm.error ?? ""})};
  if (alarm.state !== "accepted") {
    return state.link === "online" ? {state: "sent", text: t("a_sent")} : {state: "queued", text: t("a_queued")};
  }
  const status = alarm.update?.status;
  if (status && ["acknowledged", "dispatched", "responding", "resolved"].includes(status)) {
    return {state: status, text: t(`a_${status}`)};
  }
  return {state: "accepted", text: alarm.unattended ? t("a_unattended") : t("a_accepted")};
}

function news(alarm) {
  const items = [];
  const update = alarm.update;
  if (!update) return items;
  for (const c of update.coming ?? []) {
    if (c.done) items.push(t("done", {name: c.name}));
    else if (c.arrived) items.push(t("arrived", {name: c.name}));
    else if (c.distance_m != null) items.push(t("coming_far", {name: c.name, m: Math.round(c.distance_m)}));
    else items.push(t("coming", {name: c.name}));
  }
  if (update.security === "called") items.push(t("security_called"));
  if (update.security === "acknowledged") items.push(t("security_ack"));
  return items;
}

function renderMine() {
  const alarm = myAlarm();
  $("mine").hidden = !alarm;
  if (!alarm) return;
  const words = alarmWords(alarm);
  $("mine").dataset.state = words.state;
  $("mine-drill").hidden = !(alarm.drill_id || alarm.update?.drill);
  $("mine").dataset.alertId = alarm.alert_id;
  $("mine-state").textContent = words.text;
  $("mine-pressed").textContent = alarm.pressed_at ? t("pressed_at", {t: clockTime(alarm.pressed_at)}) : "";
  $("mine-news").replaceChildren(...news(alarm).map((text) => Object.assign(document.createElement("li"), {textContent: text})));
  const category = alarm.category ?? alarm.update?.category;
  const said = alarm.category_sent || !alarm.category ? "category_sent"
    : alarm.category_given_up ? "category_unsent" : "category_pending";
  $("mine-category").textContent = category ? t(said, {c: t(`cat_${category}`)}) : "";
  $("mine-category").dataset.sent = String(said === "category_sent");
  const open = alarm.update?.status !== "resolved" && alarm.state !== "rejected";
  $("categories").hidden = !(open && state.pickingFor === alarm.alert_id);
  $("media-actions").hidden = !(open && alarm.state === "accepted" && alarm.incident_id);
  const mine = state.uploads.filter((u) => u.incident_id === alarm.incident_id);
  const done = mine.filter((u) => u.state === "done").length;
  const refused = mine.find((u) => u.state === "refused");
  const sending = mine.find((u) => u.state === "sending");
  let text = "";
  if (refused) text = t("media_error", {why: refused.error});
  else if (sending) text = t("media_sending", {n: done + 1, total: mine.length});
  else if (done < mine.length) text = t("media_waiting", {n: mine.length - done});
  else if (done) text = t("media_done", {n: done});
  $("media-state").textContent = text;
  $("media-state").dataset.done = String(done);
}

function renderAssignment() {
  const a = currentAssignment();
  // Once taken on, the call-out folds away on request: a responder in trouble at the scene
  // must reach the red key. An unanswered one always covers the screen.
  const folded = Boolean(a && a.reply === true && state.folded === a.frame.incident_id);
  $("assignment").hidden = !a || folded;
  $("task").hidden = !folded;
  ring(Boolean(a && a.reply === null));
  if (!a) return;
  $("task").textContent = t("task_banner", {what: t(`cat_${a.frame.category}`)});
  $("fold").hidden = a.reply !== true;
  const f = a.frame;
  $("assignment").dataset.incident = String(f.incident_id);
  $("assignment-drill").hidden = !f.drill;
  const zh = currentLang() === "zh";
  const grid = (zh ? f.grid_name_zh : f.grid_name_en) ?? f.grid_id;
  const fix = freshFix();
  const metres = fix ? distanceM(fix, f) : f.distance_m;
  const facts = [
    ["a_category", t(`cat_${f.category}`)],
    ["a_grid", grid],
    ["a_note", f.note],
    ["a_reporter", f.reporter_name],
    ["a_distance", metres != null ? t("metres", {m: Math.round(metres)}) : null],
  ];
  $("assignment-facts").replaceChildren(...facts.filter(([, v]) => v).flatMap(([k, v]) => [
    Object.assign(document.createElement("dt"), {textContent: t(k)}),
    Object.assign(document.createElement("dd"), {textContent: v}),
  ]));
  const ownGrid = state.member && state.member.grid && state.member.grid.grid_id === f.grid_id;
  drawMinimap($("minimap"), {incident: f, me: fix, grid: ownGrid ? state.member.grid.geometry : null});
  $("assignment-answer").hidden = a.reply !== null;
  $("arrived").hidden = !(a.reply === true && !a.status);
  $("done").hidden = !(a.reply === true && a.status === "arrived");
  const said = a.status === "done" ? "assigned_done" : a.status === "arrived" ? "assigned_arrived" : a.reply ? "assigned_going" : null;
  $("assignment-state").textContent = said ? t(said) : "";
  for (const id of ["accept", "decline", "arrived", "done"]) $(id).disabled = state.link !== "online";
}

function render() {
  const signedIn = Boolean(state.token);
  $("enrol").hidden = signedIn;
  $("duty").hidden = !signedIn;
  if (!signedIn) {
    $("link").hidden = true;
    $("who").textContent = t("title");
    const [title, text] = state.link === "revoked" ? ["signed_out_title", t("signed_out")]
      : state.enrolError ? ["enrol_failed_title", t("enrol_failed", {why: t(state.enrolError) + " "})]
      : ["not_enrolled", t("not_enrolled_hint")];
    $("enrol-title").textContent = t(title);
    $("enrol-text").textContent = text;
    for (const id of ["assignment", "rollcall", "camera"]) $(id).hidden = true;
    document.documentElement.dataset.signedIn = "false";
    return;
  }
  document.documentElement.dataset.signedIn = "true";
  const m = state.member;
  const zh = currentLang() === "zh";
  const gridName = m && m.grid ? (zh ? m.grid.name_zh : m.grid.name_en) : m?.grid_id ?? "";
  const name = Object.assign(document.createElement("b"), {textContent: m ? m.name ?? `#${m.member_id}` : t("title")});
  const grid = Object.assign(document.createElement("small"), {textContent: gridName});
  $("who").replaceChildren(name, grid);
  $("link").hidden = false;
  $("link").dataset.state = state.link;
  $("link").textContent = t(`link_${state.link === "revoked" ? "offline" : state.link}`);
  $("shift-state").dataset.on = String(state.onShift);
  $("shift-state").textContent = state.onShift ? t("on_shift") : t("off_shift");
  $("gps").textContent = state.geo === "denied" ? t("gps_denied")
    : state.fix ? t("gps_ok", {m: Math.round(state.fix.accuracy_m)}) : t("gps_none");
  $("wake").hidden = !state.onShift;
  $("wake").textContent = state.wake ? t("wake_on") : t("wake_off");
  $("wake").dataset.on = String(Boolean(state.wake));
  $("shift").dataset.on = String(state.onShift);
  $("shift").textContent = state.shiftPending ? t("shift_waiting") : state.onShift ? t("end_shift") : t("start_shift");
  $("shift").disabled = state.link !== "online" || state.shiftPending;
  for (const b of $("category-buttons").children) {
    const alarm = myAlarm();
    b.setAttribute("aria-pressed", String(Boolean(alarm && alarm.category === b.dataset.category)));
  }
  $("checkin").hidden = !state.checkIn;
  if (state.checkIn) $("checkin-text").textContent = t(checkInWords(state.checkIn));
  $("im-fine").disabled = state.link !== "online";
  $("rollcall").hidden = state.rollCalls.size === 0;
  $("drill").hidden = state.drill === null;
  for (const id of ["rc-normal", "rc-help"]) $(id).disabled = state.link !== "online";
  $("key").dataset.latched = String(latched());
  if (state.storageFailed) {
    $("key-hint").textContent = t("storage_failed");
    $("key-hint").dataset.warn = "true";
  } else if ($("key").dataset.state !== "holding" && $("key-hint").dataset.warn !== "true") {
    $("key-hint").textContent = latched() ? t("key_latched_hint") : t("key_hold");
  }
  $("key-label").textContent = latched() ? t("key_latched") : "SOS";
  renderMine();
  renderAssignment();
}

window.handheld = {state, outbox, kv, uploads, get link() { return link; }, get uploader() { return uploader; }};
boot();

/** The words over the big "I am fine" button: a lone-worker check-in or a team check. */
function checkInWords(due) {
  if (due.type === "team_check") return due.state === "overdue" ? "team_check_overdue" : `team_check_${due.reason}`;
  return due.state === "overdue" ? "check_in_overdue" : "check_in_warning";
}
