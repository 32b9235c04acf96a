// The incident log: search by time range, grid, category, status and disposition; export the
// same search as CSV or JSON from the server (so a spreadsheet gets every row, not one page).

import {h} from "./dom.js";
import {t, name, dateTime} from "./i18n.js";

const CATEGORIES = ["unknown", "medical", "fire", "violence", "theft", "dispute", "disorder", "suspicious", "other"];
const STATUSES = ["open", "acknowledged", "dispatched", "responding", "resolved"];
const DISPOSITIONS = ["true_alarm", "false_alarm", "test", "handled_by_partner"];

function options(select, values, label) {
  const keep = select.value;
  select.replaceChildren(h("option", {value: ""}, t("any")), ...values.map((v) => h("option", {value: v}, label(v))));
  select.value = keep;
}

export function fillLogForm(form, grids, gridName) {
  options(form.elements.grid_id, grids.features.map((f) => f.id), gridName);
  options(form.elements.category, CATEGORIES, (v) => name("category", v));
  options(form.elements.status, STATUSES, (v) => name("status", v));
  options(form.elements.disposition, DISPOSITIONS, (v) => name("disposition", v));
}

/** The form as query parameters; datetime-local is the volunteer's local time. */
export function logQuery(form) {
  const q = new URLSearchParams();
  for (const key of ["from", "to"]) {
    const v = form.elements[key].value;
    if (v) q.set(key === "from" ? "since" : "until", new Date(v).toISOString());
  }
  for (const key of ["grid_id", "category", "status", "disposition"]) {
    const v = form.elements[key].value;
    if (v) q.set(key, v);
  }
  return q;
}

export function renderLog(box, incidents, {gridName, memberName, onSelect}) {
  const count = h("p", {id: "log-count"}, incidents.length ? t("log_count", {n: incidents.length}) : t("log_empty"));
  if (!incidents.length) { box.replaceChildren(count); return; }
  const head = ["col_id", "opened_at", "grid", "category", "status", "disposition", "reporter"];
  const row = (inc) => h("tr", {"data-incident": inc.incident_id, onclick: () => onSelect(inc.incident_id)},
    [`#${inc.incident_id}`, dateTime(inc.opened_at), gridName(inc.grid_id), name("category", inc.category),
      name("status", inc.status), name("disposition", inc.disposition),
      inc.reporter_id ? memberName(inc.reporter_id) : "—"].map((c) => h("td", {}, c)));
  box.replaceChildren(count,
    h("table", {class: "log-table"}, h("tr", {}, head.map((k) => h("th", {}, t(k)))), incidents.map(row)));
}
