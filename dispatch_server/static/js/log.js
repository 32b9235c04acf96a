// The incident log: search by time range, grid, category, status and disposition; export the
// same search as CSV or JSON from the server (so a spreadsheet gets every row, not one page).

import {t, name, dateTime} from "./i18n.js";

const CATEGORIES = ["unknown", "medical", "fire", "violence", "theft", "dispute", "disorder", "suspicious", "other"];
const STATUSES = ["open", "acknowledged", "dispatched", "responding", "resolved"];
const DISPOSITIONS = ["true_alarm", "false_alarm", "test", "handled_by_partner"];

function options(select, values, label) {
  const keep = select.value;
  select.replaceChildren();
  const any = document.createElement("option");
  any.value = "";
  any.textContent = t("any");
  select.append(any);
  for (const v of values) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = label(v);
    select.append(o);
  }
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
  box.replaceChildren();
  const count = document.createElement("p");
  count.id = "log-count";
  count.textContent = incidents.length ? t("log_count", {n: incidents.length}) : t("log_empty");
  box.append(count);
  if (!incidents.length) return;
  const table = document.createElement("table");
  table.className = "log-table";
  const head = document.createElement("tr");
  for (const k of ["col_id", "opened_at", "grid", "category", "status", "disposition", "reporter"]) {
    const th = document.createElement("th");
    th.textContent = t(k);
    head.append(th);
  }
  table.append(head);
  for (const inc of incidents) {
    const tr = document.createElement("tr");
    tr.dataset.incident = inc.incident_id;
    const cells = [`#${inc.incident_id}`, dateTime(inc.opened_at), gridName(inc.grid_id),
      name("category", inc.category), name("status", inc.status), name("disposition", inc.disposition),
      inc.reporter_id ? memberName(inc.reporter_id) : "—"];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.append(td);
    }
    tr.addEventListener("click", () => onSelect(inc.incident_id));
    table.append(tr);
  }
  box.append(table);
}
