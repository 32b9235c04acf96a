// The escalation rules as one editable table (saved as a whole, as the server keeps them),
// with the 1-3-5 defaults explained above it.

import {busy, field, h, select, toast} from "./ui.js";
import {CATEGORY_CODES, category, t} from "./words.js";

const TRIGGERS = ["immediate", "no_ack", "no_responder", "unattended"];

export async function render(box, app) {
  const rules = await app.api.get("/api/escalation-rules");
  const body = h("tbody", {});
  const addRow = (r) => body.append(ruleRow(app, r));
  rules.forEach(addRow);
  const out = h("p", {role: "alert"});
  const save = h("button", {type: "button", class: "primary", id: "save-rules"}, t("save_rules"));
  save.addEventListener("click", async () => {
    const done = await busy(save, () => app.api.put("/api/escalation-rules", readRules(body)), out);
    if (done) { toast(t("rules_saved")); render(box, app); }
  });
  const add = h("button", {type: "button", id: "add-rule"}, t("add_rule"));
  add.addEventListener("click", () => addRow({trigger: "no_ack", to: "security", after_s: 60, category: null, grid_id: null}));
  box.replaceChildren(
    h("h2", {}, t("rules_title")),
    h("p", {class: "explain"}, t("rules_explain")),
    h("table", {class: "grid-table", id: "rules"},
      h("thead", {}, h("tr", {}, [t("trigger"), t("to"), t("after_s"), t("category"), t("grid"), ""].map((x) => h("th", {}, x)))),
      body),
    h("div", {class: "row"}, add, save), out);
}

function ruleRow(app, r) {
  const row = h("tr", {class: "rule"},
    h("td", {}, select("trigger", TRIGGERS.map((x) => [x, t(`trigger_${x}`)]), r.trigger)),
    h("td", {}, select("to", [["security", t("kind_security")], ["police", t("kind_police")]], r.to)),
    h("td", {}, h("input", {name: "after_s", type: "number", min: 0, max: 86400, step: 1, value: String(r.after_s), class: "narrow"})),
    h("td", {}, select("category", [["", t("any")], ...CATEGORY_CODES.map((c) => [c, category(c)])], r.category ?? "")),
    h("td", {}, select("grid_id", [["", t("any")], ...app.gridOptions()], r.grid_id ?? "")),
    h("td", {}, h("button", {type: "button", class: "danger", onclick: () => row.remove()}, t("remove"))));
  return row;
}

function readRules(body) {
  return [...body.querySelectorAll("tr.rule")].map((row) => {
    const v = (name) => row.querySelector(`[name="${name}"]`).value;
    return {trigger: v("trigger"), to: v("to"), after_s: Number(v("after_s")),
      category: v("category") || null, grid_id: v("grid_id") || null};
  });
}

// ---- lone-worker check-in rules -----------------------------------------------------------

export const checkins = {render: renderCheckIns};

async function renderCheckIns(box, app) {
  const [rules, members] = await Promise.all([app.api.get("/api/check-in-rules"), app.api.get("/api/admin/members")]);
  const active = members.filter((m) => !m.deactivated_at);
  const who = (r) => (r.grid_id ? app.gridName(r.grid_id) : active.find((m) => m.member_id === r.member_id)?.name ?? `#${r.member_id}`);
  const put = (body, button, out) => busy(button, () => app.api.put("/api/check-in-rules", body), out)
    .then((done) => { if (done) { toast(t("saved")); renderCheckIns(box, app); } });

  const target = h("select", {name: "target"},
    h("optgroup", {label: t("target_grid")}, app.gridOptions().map(([v, w]) => h("option", {value: `grid:${v}`}, w))),
    h("optgroup", {label: t("target_member")}, active.map((m) => h("option", {value: `member:${m.member_id}`}, `${m.name} #${m.member_id}`))));
  const period = h("input", {name: "period_min", type: "number", min: 1, max: 1440, step: 1, value: "30", class: "narrow"});
  const overdue = h("input", {name: "overdue_s", type: "number", min: 1, max: 86400, step: 1, value: "120", class: "narrow"});
  const out = h("p", {role: "alert"});
  const set = h("button", {type: "submit", class: "primary"}, t("set_rule"));
  const form = h("form", {class: "panel-form", id: "set-check-in"},
    h("div", {class: "row"}, field(t("target"), target), field(t("period_min"), period), field(t("overdue_s"), overdue), set), out);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const [kind, id] = target.value.split(":");
    const body = {period_s: Number(period.value) * 60, overdue_after_s: Number(overdue.value)};
    body[kind === "grid" ? "grid_id" : "member_id"] = kind === "grid" ? id : Number(id);
    put(body, set, out);
  });
  const rows = rules.map((r) => {
    const off = h("button", {type: "button", class: "danger"}, t("switch_off"));
    const key = r.grid_id ? {grid_id: r.grid_id} : {member_id: r.member_id};
    off.addEventListener("click", () => put({...key, period_s: null}, off, out));
    return h("tr", {}, h("td", {}, who(r)), h("td", {}, String(Math.round(r.period_s / 60))),
      h("td", {}, String(Math.round(r.overdue_after_s))), h("td", {}, off));
  });
  box.replaceChildren(h("h2", {}, t("checkins_title")), h("p", {class: "explain"}, t("checkins_explain")), form,
    rules.length === 0 ? h("p", {class: "empty"}, t("no_rules")) : h("table", {class: "grid-table", id: "check-in-rules"},
      h("thead", {}, h("tr", {}, [t("target"), t("period_min"), t("overdue_s"), ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, rows)));
}
