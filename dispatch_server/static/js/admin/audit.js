// The audit trail: every administrative change, newest first, with who made it.

import {busy, h} from "./ui.js";
import {action, dateTime, t} from "./words.js";

export async function render(box, app) {
  const body = h("tbody", {});
  const more = h("button", {type: "button", id: "audit-more"}, t("more"));
  let before = null;
  async function page() {
    const q = before === null ? "" : `&before_seq=${before}`;
    const got = await app.api.get(`/api/admin/audit?limit=100${q}`);
    for (const ev of got.events) body.append(row(app, ev));
    before = got.next_before_seq;
    more.hidden = before === null;
    if (body.children.length === 0) body.append(h("tr", {}, h("td", {colspan: 4, class: "empty"}, t("audit_empty"))));
  }
  more.addEventListener("click", () => busy(more, page));
  box.replaceChildren(h("h2", {}, t("audit_title")), h("table", {class: "grid-table", id: "audit"},
    h("thead", {}, h("tr", {}, [t("when"), t("who"), t("what"), t("details")].map((x) => h("th", {}, x)))), body), more);
  await page();
}

function row(app, ev) {
  const who = ev.actor === "admin:0" ? t("bootstrap_admin") : ev.actor_name ?? ev.actor;
  return h("tr", {"data-type": ev.type, "data-seq": String(ev.seq)},
    h("td", {}, dateTime(ev.at)), h("td", {class: "who"}, who), h("td", {class: "what"}, action(ev.type)),
    h("td", {class: "details"}, details(ev.data)));
}

/** The event's data in words: "key: value" pairs, lists joined, a change as "old → new",
 * empty values left out (an audit line is read by people, not parsed). */
function details(data) {
  return Object.entries(data ?? {}).filter(([, v]) => present(v))
    .map(([k, v]) => (k === "changes" ? changes(v) : `${k}: ${value(v)}`)).join(" · ");
}

/** `{field: [old, new]}` as "field: old → new". */
function changes(v) {
  return Object.entries(v).map(([k, [was, now]]) => `${k}: ${value(was) || "—"} → ${value(now) || "—"}`).join(" · ");
}

function present(v) {
  return v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0);
}

function value(v) {
  if (Array.isArray(v)) return v.map(value).join(typeof v[0] === "object" ? "; " : ", ");
  if (v !== null && typeof v === "object") {
    return Object.entries(v).filter(([, x]) => present(x)).map(([k, x]) => `${k} ${value(x)}`).join(", ");
  }
  return v === null || v === undefined ? "" : String(v);
}
