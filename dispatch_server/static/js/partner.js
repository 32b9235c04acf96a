// The security partner's page (/partner/): a hotel or estate security desk that rings.
//
// It signs in with a partner token, shows the incidents escalated to this partner (and only
// those: it calls nothing but /api/partner/... and /ws/partner), rings until each open one
// is acknowledged here, and lets the desk post updates the duty console sees in its timeline.
// The console's modules do the shared work: api.js, feed.js (resume with `since`), sound.js,
// dom.js, map.js and i18n.js's words and formats.

import {makeApi} from "./api.js";
import {gallery} from "./media.js";
import {h} from "./dom.js";
import {openFeed} from "./feed.js";
import {t, lang, name, duration, clockTime, dateTime, paren} from "./i18n.js";
import {GridMap} from "./map.js";
import {pt, partnerEventText, relabel} from "./partner_i18n.js";
import * as sound from "./sound.js";

const TOKEN_KEY = "dispatch.partner.token";
const LANG_KEY = "dispatch.partner.lang";
const SVG = "http://www.w3.org/2000/svg";
const RESOLVED_SHOWN = 10;
const $ = (id) => document.getElementById(id);

const S = {
  api: null, me: null, grids: null, feed: null, loaded: false, connState: "connecting",
  incidents: new Map(), selected: null, detail: null, drafts: new Map(), dirty: new Set(),
  flushing: false, map: null,
};
// For the browser tests and for anyone curious in the developer tools.
window.partnerPage = S;

// ---- what rings, and in which order -----------------------------------------------------

/** Open and not yet acknowledged by this partner: the page rings while there is one. */
function waiting(inc) {
  return inc.status !== "resolved" && !inc.acknowledged_by_you;
}

function order() {
  const all = [...S.incidents.values()];
  const byAge = (a, b) => Date.parse(a.opened_at) - Date.parse(b.opened_at) || a.incident_id - b.incident_id;
  const first = all.filter(waiting).sort(byAge);
  const open = all.filter((i) => i.status !== "resolved" && !waiting(i)).sort(byAge);
  const done = all.filter((i) => i.status === "resolved")
    .sort((a, b) => Date.parse(b.resolved_at ?? b.opened_at) - Date.parse(a.resolved_at ?? a.opened_at))
    .slice(0, RESOLVED_SHOWN);
  return [...first, ...open, ...done];
}

// ---- small helpers ------------------------------------------------------------------------

function gridName(id) {
  const f = S.grids?.features.find((g) => g.id === id);
  if (!f) return id ?? "—";
  return paren(lang() === "zh" ? f.properties.name_zh : f.properties.name_en, id);
}

function ageText(iso) {
  return t("age", {age: duration((Date.now() - Date.parse(iso)) / 1000)});
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
  const shown = order();
  if (S.selected !== null && !S.incidents.has(S.selected)) S.selected = null;
  if (S.selected === null && shown.length) select(shown[0].incident_id, false);
  drawList(shown);
  drawDetail();
  const ringing = shown.filter(waiting).length;
  $("waiting").hidden = ringing === 0;
  $("waiting").textContent = String(ringing);
  sound.setTitles(pt("title"), pt("new_alarm"));
  sound.ring(ringing > 0);
  drawSound();
}

function drawSound() {
  const key = {playing: "sound_playing", on: "sound_on", blocked: "sound_blocked"}[sound.state()] ?? "sound_blocked";
  $("sound").textContent = t(key);
}

function card(inc) {
  const resolved = inc.status === "resolved";
  const mine = waiting(inc) ? "unacked" : "acked";
  return h("button", {
    type: "button",
    class: `card status-${inc.status}` + (waiting(inc) ? " waiting" : "") + (inc.incident_id === S.selected ? " selected" : ""),
    "data-incident": inc.incident_id,
    "data-status": inc.status,
    "data-mine": mine,
    onclick: () => select(inc.incident_id),
  },
  h("div", {class: "card-head"}, `#${inc.incident_id} ${name("category", inc.category)}`),
  inc.drill ? h("div", {class: "drill-mark"}, pt("drill_mark")) : null,
  h("div", {class: "card-grid"}, gridName(inc.grid_id)),
  h("div", {class: "card-row"},
    h("span", {class: "age", "data-since": resolved ? "" : inc.opened_at},
      resolved ? name("disposition", inc.disposition) : ageText(inc.opened_at)),
    resolved ? null : h("span", {class: `badge ${waiting(inc) ? "alarm" : "done"}`}, pt(waiting(inc) ? "needs_ack" : "you_acked"))));
}

function drawList(shown) {
  const empty = shown.length ? null : h("p", {class: "empty"}, pt("list_empty"));
  $("list").replaceChildren(...[empty, ...shown.map(card)].filter(Boolean));
}

function fact(label, value, attrs = {}) {
  return h("div", {class: "fact", ...attrs}, h("span", {class: "fact-label"}, label), h("span", {class: "fact-value"}, value));
}

function drawDetail() {
  const inc = S.selected === null ? null : S.incidents.get(S.selected);
  $("d-one").hidden = !inc;
  $("d-none").hidden = !!inc;
  $("d-none").textContent = S.incidents.size ? pt("pick_one") : (S.loaded ? pt("list_empty") : "");
  if (!inc) return;
  $("d-one").dataset.incident = inc.incident_id;
  let state = null;
  if (inc.status === "resolved") {
    state = h("p", {class: "done-line resolved", id: "acked"}, pt("resolved_line", {disposition: name("disposition", inc.disposition)}));
  } else if (!waiting(inc)) {
    state = h("p", {class: "done-line", id: "acked"}, "✓ " + pt("acked_line"));
  }
  const drill = inc.drill ? h("p", {class: "drill-mark", id: "d-drill"}, pt("drill_mark")) : null;
  $("d-head").replaceChildren(...[h("h2", {}, `#${inc.incident_id} ${name("category", inc.category)}`), drill, state].filter(Boolean));
  $("d-ack").replaceChildren(...(waiting(inc)
    ? [h("button", {type: "button", class: "primary huge", id: "ack", onclick: () => acknowledge(inc.incident_id)}, pt("acknowledge"))]
    : []));

  const sameDay = new Date(inc.opened_at).toDateString() === new Date().toDateString();
  $("d-facts").replaceChildren(...[
    fact(pt("opened_at"), h("span", {}, sameDay ? clockTime(inc.opened_at) : dateTime(inc.opened_at),
      inc.status === "resolved" ? null : " · ",
      inc.status === "resolved" ? null : h("span", {class: "age", "data-since": inc.opened_at}, ageText(inc.opened_at)))),
    fact(pt("grid"), gridName(inc.grid_id)),
    fact(pt("place"), `${inc.lat.toFixed(5)}, ${inc.lon.toFixed(5)}`),
    inc.note ? fact(pt("note"), inc.note) : null,
    fact(pt("centre"), name("status", inc.status), {"data-status": inc.status, id: "d-status"}),
    inc.status === "resolved" ? null : fact(pt("coming"), pt("coming_n", {n: inc.responders_coming})),
  ].filter(Boolean));

  drawMap(inc);

  const detail = S.detail?.incident_id === inc.incident_id ? S.detail : null;
  const shown = gallery(detail?.media ?? inc.media, S.api.blob, t);
  $("d-media").hidden = !shown;
  $("d-media-box").replaceChildren(...(shown ? [shown] : []));
  $("d-timeline").replaceChildren(...(detail?.timeline ?? []).map((ev) =>
    h("li", {"data-type": ev.type, "data-seq": ev.seq},
      h("time", {datetime: ev.at}, clockTime(ev.at)), " ",
      partnerEventText(ev, S.me.partner_id, {to: name("partner", ev.to), disposition: name("disposition", ev.disposition)}))));
}

/** The incident's grid and its point. One map per grid: GridMap keeps a ResizeObserver on
 * its SVG, so a new grid gets a new SVG rather than a second map drawing into the first. */
function drawMap(inc) {
  const box = $("d-mapbox");
  const feature = S.grids?.features.find((f) => f.id === inc.grid_id);
  if (!feature) {
    S.map = null;
    box.replaceChildren(h("p", {class: "empty"}, pt("no_map")));
    return;
  }
  if (S.map?.gridId !== inc.grid_id) {
    const svg = document.createElementNS(SVG, "svg");
    svg.id = "map";
    svg.setAttribute("role", "img");
    const map = new GridMap(svg, {grids: {type: "FeatureCollection", features: [feature]},
      tileUrl: S.me.tile_url, onSelect: () => {}});
    S.map = {gridId: inc.grid_id, svg, map};
    box.replaceChildren(svg);
  }
  // The map's red pulsing mark means "not yet acknowledged" here: by this partner.
  const mark = {...inc, status: waiting(inc) ? "open" : "acknowledged"};
  S.map.map.update({members: [], incidents: [mark], selected: inc.incident_id});
}

function tick() {
  document.querySelectorAll(".age[data-since]").forEach((el) => {
    if (el.dataset.since) el.textContent = ageText(el.dataset.since);
  });
  $("clock").textContent = clockTime(new Date().toISOString());
}

function setConn(state) {
  S.connState = state;
  const pill = $("conn");
  pill.dataset.state = state;
  pill.textContent = t({online: "online", connecting: "connecting"}[state] ?? "offline_pill");
  $("offline").hidden = state === "online" || !S.feed;
}

function relabelAll() {
  relabel(lang());
  setConn(S.connState);
  if (S.api) draw();  // at once: a switch must never show half the page in the old language
}

// ---- loading and live updates -------------------------------------------------------------

async function loadList() {
  const list = await S.api.get("/api/partner/incidents");
  S.incidents = new Map(list.map((i) => [i.incident_id, i]));
  S.loaded = true;
  if (S.selected !== null) S.dirty.add(S.selected);
  redraw();
}

/** Every event for an incident: ask the server for its view and timeline (the page folds
 * nothing itself). One request at a time, in order, and never before the list is in. */
async function flush() {
  if (S.flushing) return;
  S.flushing = true;
  try {
    if (!S.loaded) {
      if (S.connState === "online") await loadList();
      return;
    }
    for (const id of [...S.dirty]) {
      S.dirty.delete(id);
      try {
        const detail = await S.api.get(`/api/partner/incidents/${id}`);
        const {timeline: _, ...view} = detail;
        S.incidents.set(id, view);
        if (id === S.selected) S.detail = detail;
      } catch {
        S.dirty.add(id);  // offline: try again on the next round
        break;
      }
    }
    redraw();
  } catch {
    // offline: the banner says so; the next round tries again
  } finally {
    S.flushing = false;
  }
}

function apply(ev) {
  if (ev.incident_id === undefined) return;
  const fresh = !S.incidents.has(ev.incident_id);
  if (ev.type === "incident_escalated" && ev.incident) {
    S.incidents.set(ev.incident_id, {...S.incidents.get(ev.incident_id), ...ev.incident});
    // Show a new escalation at once, unless the desk is busy with one still waiting or is
    // writing an update.
    const current = S.incidents.get(S.selected);
    const busy = (current && waiting(current)) || $("update").value.trim() !== "";
    if (fresh && S.loaded && !busy) select(ev.incident_id, false);
  }
  S.dirty.add(ev.incident_id);
  redraw();
}

// ---- actions ------------------------------------------------------------------------------

function select(id, load = true) {
  if (id === S.selected) return;
  if (S.selected !== null) S.drafts.set(S.selected, $("update").value);
  S.selected = id;
  $("update").value = S.drafts.get(id) ?? "";
  if (S.detail?.incident_id !== id) S.detail = null;
  S.dirty.add(id);
  if (load) { redraw(); flush(); }
}

async function acknowledge(id) {
  try {
    const view = await S.api.post(`/api/partner/incidents/${id}/acknowledge`);
    S.incidents.set(id, view);
    S.dirty.add(id);
    draw();  // the chime stops now, not on the next frame
    flush();
  } catch (e) {
    toast(t("failed", {msg: e.message}));
  }
}

async function postUpdate(event) {
  event.preventDefault();
  const id = S.selected;
  const text = $("update").value.trim();
  if (id === null || !text) return;
  const button = $("post-update");
  button.disabled = true;
  try {
    const view = await S.api.post(`/api/partner/incidents/${id}/updates`, {text});
    S.incidents.set(id, view);
    if (S.selected === id) $("update").value = "";
    S.drafts.delete(id);
    S.dirty.add(id);
    flush();
  } catch (e) {
    toast(t("failed", {msg: e.message}));
  } finally {
    button.disabled = false;
  }
}

// ---- sign-in and start --------------------------------------------------------------------

async function signIn(token) {
  const api = makeApi(token);
  let me;
  try {
    me = await api.get("/api/partner/me");
  } catch (e) {
    $("signin-error").textContent = e.status === 401 ? t("bad_token") : e.status === 403 ? pt("wrong_token") : t("no_server");
    $("signin").hidden = false;
    $("resume").hidden = true;
    return;
  }
  S.api = api;
  S.me = me;
  localStorage.setItem(TOKEN_KEY, token);
  $("signin").hidden = true;
  $("resume").hidden = true;
  for (const id of ["sound", "conn", "signout", "desk"]) $(id).hidden = false;
  $("who").textContent = ` · ${me.name}`;
  S.grids = await api.get("/api/partner/grids").catch(() => ({type: "FeatureCollection", features: []}));
  // No since on the first connection: the feed starts at the server's head, and the list is
  // read after that (on the first `online`), so nothing falls between the two.
  S.feed = openFeed({path: "/ws/partner", token, onEvent: apply, onState: (state) => { setConn(state); flush(); }});
  setConn("connecting");
  setInterval(flush, 250);
  setInterval(tick, 1000);
  tick();
  relabelAll();
}

function boot() {
  relabel(localStorage.getItem(LANG_KEY) || "zh");
  $("lang").addEventListener("click", () => {
    relabel(lang() === "zh" ? "en" : "zh");
    localStorage.setItem(LANG_KEY, lang());
    relabelAll();
  });
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sound.unlock();  // this click is the one the browser needs before it plays sound
    signIn($("token").value.trim());
  });
  $("resume-go").addEventListener("click", () => { sound.unlock(); signIn(localStorage.getItem(TOKEN_KEY)); });
  $("sound").addEventListener("click", () => { sound.unlock(); drawSound(); });
  $("signout").addEventListener("click", () => { localStorage.removeItem(TOKEN_KEY); location.reload(); });
  $("d-update").addEventListener("submit", postUpdate);
  const saved = localStorage.getItem(TOKEN_KEY);
  $(saved ? "resume" : "signin").hidden = false;
  sound.setTitles(pt("title"), pt("new_alarm"));
}

boot();
