// The admin pages: sign in with an administrator token, then one tab per thing a community
// office keeps: members, duty volunteers, partners, rules, roster, check-ins, grids, the
// audit trail and the administrators. Every change goes through the admin REST API.

import {makeApi} from "../api.js";
import * as audit from "./audit.js";
import * as grids from "./grids.js";
import * as members from "./members.js";
import * as partners from "./partners.js";
import {section} from "./people.js";
import * as roster from "./roster.js";
import * as rules from "./rules.js";
import {errorText, h} from "./ui.js";
import {lang, setLang, t} from "./words.js";

const TOKEN_KEY = "dispatch.admin.token";  // this tab only: an admin token is powerful
const LANG_KEY = "dispatch.lang";          // shared with the console
const $ = (id) => document.getElementById(id);

const SECTIONS = {
  members, dispatchers: section("dispatchers"), partners, rules, roster, checkins: rules.checkins,
  grids, audit, admins: section("admins"),
};

const app = {
  api: null, me: null, grids: null, view: "members", t,
  gridIds: () => (app.grids?.features ?? []).map((f) => f.id),
  gridName(id) {
    const f = app.grids?.features.find((g) => g.id === id);
    const words = f ? (lang() === "zh" ? f.properties.name_zh : f.properties.name_en) : null;
    return words ? `${words} (${id})` : id;
  },
  gridOptions: () => app.gridIds().map((id) => [id, app.gridName(id)]),
  async reloadGrids() { app.grids = await app.api.get("/api/grids"); },
};
window.dispatchAdmin = app;  // for the browser tests and the curious

let showing = 0;  // the newest request to draw a tab: an older one that ends later is dropped

/** Draws a tab into a new box and puts it on the page only if no later request came: a slow
 * answer never replaces what the administrator is typing into. The open tab is not drawn
 * again by its own button (`again` for a language change). */
async function show(view, again = false) {
  const section = $("section");
  if (!again && view === app.view && section.dataset.view === view) return;
  app.view = view;
  const mine = ++showing;
  for (const tab of document.querySelectorAll("#tabs .tab")) tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  $("toast").hidden = true;  // what the last tab said is not about this one
  const box = h("div", {class: "section-body"});
  try {
    await SECTIONS[view].render(box, app);
  } catch (err) {
    box.replaceChildren(h("p", {class: "error", role: "alert"}, t("failed", {why: errorText(err)})));
  }
  if (mine !== showing) return;
  section.replaceChildren(box);
  section.dataset.view = view;
}

function drawWho() {
  $("who").textContent = t("signed_in_as", {name: app.me.name ?? t("bootstrap_admin")});
}

async function signIn(token) {
  const api = makeApi(token);
  const error = $("signin-error");
  try {
    app.me = await api.get("/api/whoami");
  } catch (err) {
    error.textContent = err.status === 401 ? t("bad_token") : t("no_server");
    $("signin").hidden = false;
    return;
  }
  if (app.me.kind !== "admin") {
    error.textContent = t("wrong_token");
    $("signin").hidden = false;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  app.api = api;
  await app.reloadGrids();
  $("signin").hidden = true;
  for (const id of ["tabs", "who", "signout", "section"]) $(id).hidden = false;
  drawWho();
  await show(app.view, true);
}

function start() {
  setLang(localStorage.getItem(LANG_KEY) || "zh");
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    localStorage.setItem(LANG_KEY, lang());
    if (app.me) { drawWho(); show(app.view, true); }
  });
  $("signout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
  for (const tab of document.querySelectorAll("#tabs .tab")) tab.addEventListener("click", () => show(tab.dataset.view));
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value.trim()); });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved); else $("signin").hidden = false;
}

start();
