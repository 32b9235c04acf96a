// The incident queue: unacknowledged alarms first, oldest at the top; then the rest of the
// open incidents, oldest first; then a few recently resolved, greyed.

import {h} from "./dom.js";
import {t, name, duration, sourceText} from "./i18n.js";
import {categoryIcon} from "./categories.js";

const RANK = {open: 0, acknowledged: 1, dispatched: 1, responding: 1, resolved: 2};
const RESOLVED_SHOWN = 8;

export function queueOrder(incidents) {
  const live = incidents.filter((i) => i.status !== "resolved");
  const done = incidents.filter((i) => i.status === "resolved")
    .sort((a, b) => Date.parse(b.resolved_at ?? b.opened_at) - Date.parse(a.resolved_at ?? a.opened_at))
    .slice(0, RESOLVED_SHOWN);
  live.sort((a, b) => RANK[a.status] - RANK[b.status] || Date.parse(a.opened_at) - Date.parse(b.opened_at)
    || a.incident_id - b.incident_id);
  return [...live, ...done];
}

/** An alarm's age counts from the key press when the server kept one (the handheld may have
 * held the alarm while its link was down), else from when the server received it. */
export function ageSince(inc) {
  return inc.pressed_at ?? inc.opened_at;
}

export function ageText(since, now = Date.now(), key = "age") {
  return t(key, {age: duration((now - Date.parse(since)) / 1000)});
}

function card(inc, {selected, gridName, memberName, onSelect}) {
  const resolved = inc.status === "resolved";
  return h("button", {
    type: "button",
    class: `card status-${inc.status}` + (inc.incident_id === selected ? " selected" : "")
      + (inc.drill ? " is-drill" : "") + (inc.duress ? " is-duress" : ""),
    "data-incident": inc.incident_id,
    "data-status": inc.status,
    "data-category": inc.category,
    onclick: () => onSelect(inc.incident_id),
  },
  h("div", {class: "card-head"}, categoryIcon(inc.category), h("span", {}, `#${inc.incident_id}`), " ",
    h("span", {}, name("category", inc.category))),
  inc.duress ? h("div", {class: "badge duress-mark"}, t("duress_mark")) : null,
  inc.drill ? h("div", {class: "badge drill-mark"}, t("drill_mark")) : null,
  h("div", {class: "card-grid"}, gridName(inc.grid_id)),
  sourceText(inc) ? h("div", {class: "card-source"}, sourceText(inc)) : null,
  h("div", {class: "chip"}, name("status", inc.status)),
  h("div", {class: "age", "data-since": resolved ? "" : ageSince(inc)},
    resolved ? name("disposition", inc.disposition) : ageText(ageSince(inc))),
  h("div", {class: "card-who"}, inc.reporter_id ? `${t("reporter")}: ${memberName(inc.reporter_id)}` : ""),
  inc.escalation_problems?.length && !resolved
    ? h("div", {class: "badge alarm"}, t("nobody_reached_badge")) : null,
  inc.escalated_to?.length ? h("div", {class: "badge"}, t("escalated_badge")) : null);
}

export function renderQueue(box, incidents, lookups) {
  const ordered = queueOrder(incidents);
  const empty = ordered.some((i) => i.status !== "resolved") ? null : h("p", {class: "empty"}, t("queue_empty"));
  box.replaceChildren(...[empty, ...ordered.map((inc) => card(inc, lookups))].filter(Boolean));
}

/** Once a second: only the age texts change, so nothing else is redrawn. */
export function tickAges(root) {
  root.querySelectorAll(".age[data-since]").forEach((el) => {
    if (el.dataset.since) el.textContent = ageText(el.dataset.since, Date.now(), el.dataset.ageKey || "age");
  });
}
