// The duty console: sign in, load the picture from REST, then fold the live feed into it.
//
// State lives in one object, S. Events from the feed update it and schedule a redraw; the
// server's own views (REST) correct anything the page folded itself, so the page never holds
// a rule the server does not (the incident transition table stays on the server).

import {makeApi} from "./api.js";
import {openFeed} from "./feed.js";
import {t, lang, setLang, clockTime, paren, name} from "./i18n.js";
import {GridMap} from "./map.js";
import {newDraft, renderPanel} from "./panel.js";
import {queueOrder, renderQueue, tickAges} from "./queue.js";
import {renderButtons, renderRollCall, tickRollCall} from "./rollcall.js";
import {fillLogForm, logQuery, renderLog} from "./log.js";
import * as sound from "./sound.js";
import * as speech from "./speech.js";
import {applyDutyEvent, pollHealth, renderDuties} from "./duties.js";
import {initKpi, relabelKpi, showKpi} from "./kpi.js";
import {applyWatchEvent, loadWatch, renderWatch} from "./watch.js";

const TOKEN_KEY = "dispatch.token";
const LANG_KEY = "dispatch.lang";
const $ = (id) => document.getElementById(id);

const S = {
  api: null, config: null, grids: null, map: null, feed: null,
  members: new Map(), incidents: new Map(), selected: null, detail: null, draft: newDraft(),
  rollCall: null, view: "incidents", dirtySince: null, lastLog: [],
};
// For the browser tests and for anyone curious in the developer tools.
window.dispatchConsole = S;

// ---- small helpers ------------------------------------------------------------------------

function gridName(id) {
  const f = S.grids?.features.find((g) => g.id === id);
  if (!f) return id ?? "—";
  return paren(lang() === "zh" ? f.properties.name_zh : f.properties.name_en, id);
}

/** A new alarm, spoken once in the page's language (speech.js); the chime rings anyway. */
function announce(ev) {
  const f = S.grids?.features.find((g) => g.id === ev.grid_id);
  const place = f ? (lang() === "zh" ? f.properties.name_zh : f.properties.name_en) : ev.grid_id;
  speech.announce(ev.incident_id, speech.alarmWords(lang(), ev.grid_id, place, name("category", ev.category)), lang());
}

function drawSpeech() {
  $("speech").textContent = t(speech.enabled() ? "speech_on" : "speech_off");
  $("speech").setAttribute("aria-pressed", String(speech.enabled()));
}

function memberName(id) {
  return S.members.get(id)?.name ?? `#${id}`;
}

let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
}

// ---- drawing ------------------------------------------------------------------------------

let drawQueued = false;
function redraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => { drawQueued = false; draw(); });
}

function draw() {
  const incidents = [...S.incidents.values()];
  const open = incidents.filter((i) => i.status !== "resolved");
  renderQueue($("queue"), incidents, {selected: S.selected, gridName, memberName, onSelect: select});
  $("queue-count").textContent = String(open.length);
  S.map?.update({members: [...S.members.values()], incidents, selected: S.selected, detail: S.detail});
  drawPanel();
  renderRollCall($("rc-current"), S.rollCall, {gridName, memberName});
  sound.setTitles(t("title"), t("new_alarm"));
  sound.ring(open.some((i) => i.status === "open"));
  drawSound();
  drawSpeech();
  renderDuties($("duties"));
  renderWatch($("watch"), (id, known) => S.members.get(id)?.name ?? known ?? `#${id}`, gridName);
}

function checkDuties() {
  pollHealth().then(redraw, () => {});  // unreachable: the offline banner says so already
}

function drawPanel() {
  const box = $("panel");
  const on = S.selected !== null && S.detail !== null && S.detail.incident_id === S.selected;
  box.hidden = !on;
  $("view-incidents").classList.toggle("with-panel", on);
  if (!on) return;
  renderPanel(box, S.detail, {draft: S.draft, gridName, memberName, members: [...S.members.values()], act,
    close: () => select(null), fetchBlob: S.api.blob, bundle: () => exportBundle(S.detail.incident_id)});
}

function drawSound() {
  const state = sound.state();
  const key = {playing: "sound_playing", on: "sound_on", blocked: "sound_blocked"}[state] ?? "sound_blocked";
  $("sound").textContent = t(key);
}

function drawLegend() {
  const c = S.config;
  $("legend-fresh").textContent = t("legend_fresh", {s: c.fresh_fix_s});
  $("legend-stale").textContent = t("legend_stale", {s: c.fresh_fix_s});
  $("legend-offline").textContent = t("legend_offline", {s: c.offline_after_s});
}

function relabel() {
  setLang(lang());
  if (S.config) drawLegend();
  if (S.grids) {
    renderButtons($("rc-buttons"), S.grids, gridName, startRollCall);
    fillLogForm($("log-form"), S.grids, gridName);
    renderLog($("log-results"), S.lastLog, {gridName, memberName, onSelect: openFromLog});
  }
  setConn(S.connState ?? "connecting");
  relabelKpi();
  if (S.api) draw();  // at once: a switch must never show half the page in the old language
}

function setConn(state) {
  S.connState = state;
  const pill = $("conn");
  pill.dataset.state = state;
  pill.textContent = t({online: "online", connecting: "connecting"}[state] ?? "offline_pill");
  $("offline").hidden = state === "online" || !S.feed;
}

function showView(view) {
  S.view = view;
  for (const v of ["incidents", "rollcall", "log", "kpi"]) $(`view-${v}`).hidden = v !== view;
  if (view === "kpi") showKpi();
  document.querySelectorAll("#tabs .tab").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === view)));
  redraw();
}

// ---- loading and live updates -------------------------------------------------------------

function keep(view) {
  const have = S.incidents.get(view.incident_id);
  if (!have || (have.last_seq ?? 0) <= view.last_seq) S.incidents.set(view.incident_id, view);
}

async function loadMembers() {
  const list = await S.api.get("/api/members");
  S.members = new Map(list.map((m) => [m.member_id, m]));
  redraw();
}

async function loadSelected() {
  if (S.selected === null) { S.detail = null; return; }
  const id = S.selected;
  const detail = await S.api.get(`/api/incidents/${id}`);
  // Two loads can cross (an action's and the feed's): an older answer must not replace a newer.
  const newer = S.detail?.incident_id === id && S.detail.last_seq > detail.last_seq;
  if (S.selected === id && !newer) { S.detail = detail; keep(detail); }
  redraw();
}

async function loadRollCall(id = null) {
  if (id === null) {
    const list = await S.api.get("/api/roll-calls?limit=1");
    S.rollCall = list[0] ?? null;
  } else {
    S.rollCall = await S.api.get(`/api/roll-calls/${id}`);
  }
  redraw();
}

/** Events folded here are only the quick, obvious part; `flush` then asks the server. */
const QUICK = {
  incident_acknowledged: (i) => (i.status === "open" ? "acknowledged" : i.status),
  responders_dispatched: (i) => (i.status === "responding" ? "responding" : "dispatched"),
  incident_resolved: () => "resolved",
};

function apply(ev) {
  if (applyDutyEvent(ev)) checkDuties();
  applyWatchEvent(ev);
  if (ev.incident_id !== undefined) {
    if (ev.type === "incident_opened") {
      announce(ev);
      keep({incident_id: ev.incident_id, status: "open", grid_id: ev.grid_id, category: ev.category,
        source: ev.source ?? "alarm", roll_call_id: ev.roll_call_id ?? null,
        lon: ev.lon, lat: ev.lat, opened_at: ev.at, pressed_at: ev.pressed_at ?? null,
        reporter_id: ev.reporter_id, note: ev.note,
        escalated_to: [], escalation_problems: [], unattended: ev.unattended ?? false, last_seq: ev.seq,
        disposition: null, drill: ev.drill === true, duress: ev.duress === true});
    }
    const inc = S.incidents.get(ev.incident_id);
    // Decision 50: an unannounced drill is said to be one by the event that acknowledged it.
    if (inc && ev.drill === true) inc.drill = true;
    if (inc && QUICK[ev.type]) inc.status = QUICK[ev.type](inc);
    if (inc && ev.type === "incident_resolved") { inc.disposition = ev.disposition; inc.resolved_at = ev.at; }
    if (inc && ev.type === "category_changed") inc.category = ev.category;
    if (inc && ev.type === "incident_escalated") {
      inc.escalated_to = [...new Set([...inc.escalated_to, ...ev.partner_ids])];
      if (ev.problem) inc.escalation_problems = [...(inc.escalation_problems ?? []), ev];
    }
    if (S.dirtySince === null) S.dirtySince = ev.seq - 1;
  }
  if (ev.type.startsWith("roll_call_")) loadRollCall(ev.roll_call_id).catch(() => {});
  if (["member_offline", "member_online", "shift_started", "shift_ended"].includes(ev.type)) loadMembers().catch(() => {});
  redraw();
}

/** Every 300 ms: one request for every incident that changed, however many events came. */
async function flush() {
  if (S.dirtySince === null) return;
  const since = S.dirtySince;
  S.dirtySince = null;
  try {
    const body = await S.api.get(`/api/incidents?since_seq=${since}&limit=1000`);
    body.incidents.forEach(keep);
    if (S.selected !== null && body.incidents.some((i) => i.incident_id === S.selected)) await loadSelected();
    redraw();
  } catch {
    S.dirtySince = S.dirtySince === null ? since : Math.min(since, S.dirtySince);
  }
}

/** A frame that is not a logged event: `grids_changed` (an administrator applied a new grid
 * file; docs/protocol.md) redraws the map, the roll-call buttons and the log's grid list. */
async function notice(frame) {
  if (frame.type !== "grids_changed") return;
  try {
    S.grids = await S.api.get("/api/grids");
    S.map?.setGrids(S.grids);
    relabel();
  } catch (e) {
    toast(t("failed", {msg: e.message}));
  }
}

async function loadAll() {
  const [config, grids] = await Promise.all([S.api.get("/api/console-config"), S.api.get("/api/grids")]);
  S.config = config;
  S.grids = grids;
  const resolved = await S.api.get("/api/incidents?status=resolved&limit=8");
  const open = await S.api.get("/api/incidents?unresolved=true&limit=1000");
  S.incidents = new Map();
  [...resolved.incidents, ...open.incidents].forEach(keep);
  await Promise.all([loadMembers(), loadRollCall(), loadWatch(S.api)]);
  S.map = new GridMap($("map"), {grids, tileUrl: config.tile_url, tileDatum: config.tile_datum, onSelect: select});
  relabel();
  return open.last_seq;
}

// ---- actions ------------------------------------------------------------------------------

async function select(id) {
  const another = id !== S.selected;
  if (another) S.draft = newDraft();
  S.selected = id;
  S.detail = null;
  redraw();
  if (id !== null) await loadSelected().catch((e) => toast(t("failed", {msg: e.message})));
  // Another incident starts at its top: its number and status first, never the old scroll.
  if (another) requestAnimationFrame(() => { $("panel").scrollTop = 0; });
}

async function act(what, arg) {
  const id = S.selected;
  const base = `/api/incidents/${id}`;
  try {
    if (what === "warn") { toast(arg); return; }
    if (what === "acknowledge") await S.api.post(`${base}/acknowledge`);
    if (what === "dispatch") { await S.api.post(`${base}/dispatch`, {member_ids: arg}); S.draft.picked.clear(); }
    if (what === "note") { await S.api.post(`${base}/notes`, {text: arg}); S.draft.note = ""; }
    if (what === "resolve") { await S.api.post(`${base}/resolve`, arg); S.draft.disposition = ""; S.draft.closing = ""; }
    await loadSelected();
  } catch (e) {
    toast(t("failed", {msg: e.message}));
  }
}

async function acknowledgeFirst() {
  const target = S.selected !== null && S.incidents.get(S.selected)?.status === "open"
    ? S.selected : queueOrder([...S.incidents.values()]).find((i) => i.status === "open")?.incident_id;
  if (target === undefined || target === null) return;
  if (S.selected !== target) await select(target);
  await act("acknowledge");
}

function nextIncident() {
  const live = queueOrder([...S.incidents.values()]).filter((i) => i.status !== "resolved");
  if (!live.length) return;
  const at = live.findIndex((i) => i.incident_id === S.selected);
  select(live[(at + 1) % live.length].incident_id);
}

async function startRollCall(gridIds) {
  try {
    const rc = await S.api.post("/api/roll-calls", gridIds ? {grid_ids: gridIds} : {});
    S.rollCall = rc;
    redraw();
  } catch (e) {
    toast(t("failed", {msg: e.message}));
  }
}

async function searchLog(event) {
  event?.preventDefault();
  try {
    const body = await S.api.get(`/api/incidents?${logQuery($("log-form"))}&limit=1000`);
    S.lastLog = body.incidents;
    renderLog($("log-results"), S.lastLog, {gridName, memberName, onSelect: openFromLog});
  } catch (e) {
    toast(t("failed", {msg: e.message}));
  }
}

function save(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

async function exportLog(format) {
  try {
    save(await S.api.blob(`/api/incidents/export?${logQuery($("log-form"))}&format=${format}`), `incidents.${format}`);
  } catch (e) {
    toast(t("failed", {msg: e.message}));
  }
}

/** One incident for the record or the police: its view, timeline and every photo and clip. */
async function exportBundle(incidentId) {
  try {
    save(await S.api.blob(`/api/incidents/${incidentId}/bundle`), `incident-${incidentId}.zip`);
  } catch (e) {
    toast(t("failed", {msg: e.message}));
  }
}

function openFromLog(id) {
  showView("incidents");
  select(id);
}

// ---- sign-in and start --------------------------------------------------------------------

async function signIn(token) {
  const api = makeApi(token);
  try {
    await api.get("/api/console-config");
  } catch (e) {
    $("signin-error").textContent = t(e.status === 401 ? "bad_token" : e.status === 403 ? "wrong_token" : "no_server");
    $("signin").hidden = false;
    $("resume").hidden = true;
    return;
  }
  S.api = api;
  initKpi($("view-kpi"), {api, gridName, toast});
  localStorage.setItem(TOKEN_KEY, token);
  $("signin").hidden = true;
  $("resume").hidden = true;
  for (const id of ["tabs", "sound", "speech", "conn", "signout"]) $(id).hidden = false;
  const lastSeq = await loadAll();
  showView("incidents");
  S.feed = openFeed({
    token, lastSeq, onEvent: apply, onState: setConn, onNotice: notice,
    onGap: (from) => { S.dirtySince = S.dirtySince === null ? from : Math.min(from, S.dirtySince); },
  });
  setConn("connecting");
  setInterval(flush, 300);
  setInterval(() => loadMembers().catch(() => {}), 5000);
  // Suggestions are ranked now, from live positions: the open incident's are kept fresh.
  setInterval(() => {
    if (S.detail && S.detail.status !== "resolved") loadSelected().catch(() => {});
  }, 2000);
  checkDuties();
  setInterval(checkDuties, 3000);
  setInterval(() => {
    tickAges($("queue"));
    tickAges($("panel"));
    tickRollCall($("rc-current"));
    if (S.detail?.next_escalation_at) drawPanel();
    $("clock").textContent = clockTime(new Date().toISOString());
  }, 1000);
}

function keys(e) {
  if (!S.feed || e.ctrlKey || e.metaKey || e.altKey) return;
  if (["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName)) return;
  const k = e.key.toLowerCase();
  if (k === "a") { e.preventDefault(); acknowledgeFirst(); }
  if (k === "n") { e.preventDefault(); showView("incidents"); nextIncident(); }
  if (k === "escape") select(null);
}

function boot() {
  setLang(localStorage.getItem(LANG_KEY) || "zh");
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    localStorage.setItem(LANG_KEY, lang());
    relabel();
  });
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sound.unlock();  // this click is the one the browser needs before it plays sound
    signIn($("token").value.trim());
  });
  $("resume-go").addEventListener("click", () => { sound.unlock(); signIn(localStorage.getItem(TOKEN_KEY)); });
  $("sound").addEventListener("click", () => { sound.unlock(); drawSound(); });
  $("speech").addEventListener("click", () => { speech.toggle(); drawSpeech(); });
  $("signout").addEventListener("click", () => { localStorage.removeItem(TOKEN_KEY); location.reload(); });
  document.querySelectorAll("#tabs .tab").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
  $("log-form").addEventListener("submit", searchLog);
  $("export-csv").addEventListener("click", () => exportLog("csv"));
  $("export-json").addEventListener("click", () => exportLog("json"));
  document.addEventListener("keydown", keys);
  const saved = localStorage.getItem(TOKEN_KEY);
  $(saved ? "resume" : "signin").hidden = false;
}

boot();
