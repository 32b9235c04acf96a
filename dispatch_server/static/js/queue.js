// The incident queue: unacknowledged alarms first, oldest at the top; then the rest of the
// open incidents, oldest first; then a few recently resolved, greyed.

import {t, name, duration} from "./i18n.js";

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

export function ageText(openedAt, now = Date.now()) {
  return t("age", {age: duration((now - Date.parse(openedAt)) / 1000)});
}

export function renderQueue(box, incidents, {selected, gridName, memberName, onSelect}) {
  box.replaceChildren();
  const ordered = queueOrder(incidents);
  if (!ordered.some((i) => i.status !== "resolved")) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = t("queue_empty");
    box.append(empty);
  }
  for (const inc of ordered) {
    const card = document.createElement("button");
    card.type = "button";
    card.className = `card status-${inc.status}` + (inc.incident_id === selected ? " selected" : "");
    card.dataset.incident = inc.incident_id;
    card.dataset.status = inc.status;
    const head = document.createElement("div");
    head.className = "card-head";
    head.textContent = `#${inc.incident_id} ${name("category", inc.category)}`;
    const where = document.createElement("div");
    where.className = "card-grid";
    where.textContent = gridName(inc.grid_id);
    const status = document.createElement("div");
    status.className = "chip";
    status.textContent = name("status", inc.status);
    const age = document.createElement("div");
    age.className = "age";
    age.dataset.since = inc.status === "resolved" ? "" : inc.opened_at;
    age.textContent = inc.status === "resolved" ? name("disposition", inc.disposition) : ageText(inc.opened_at);
    const who = document.createElement("div");
    who.className = "card-who";
    who.textContent = inc.reporter_id ? `${t("reporter")}: ${memberName(inc.reporter_id)}` : "";
    card.append(head, where, status, age, who);
    if (inc.escalated_to && inc.escalated_to.length) {
      const badge = document.createElement("div");
      badge.className = "badge";
      badge.textContent = t("escalated_badge");
      card.append(badge);
    }
    card.addEventListener("click", () => onSelect(inc.incident_id));
    box.append(card);
  }
}

/** Once a second: only the age texts change, so nothing else is redrawn. */
export function tickAges(root) {
  root.querySelectorAll(".age[data-since]").forEach((el) => {
    if (el.dataset.since) el.textContent = ageText(el.dataset.since);
  });
}
