// Duty volunteers and administrators: a name and a token each; register, deactivate, renew.

import {busy, field, h, showSecrets, table, toast} from "./ui.js";
import {dateTime, t} from "./words.js";

// What differs between the two lists.
const KINDS = {
  dispatchers: {list: "/api/admin/dispatchers", base: "/api/dispatchers", id: "dispatcher_id",
    title: "dispatchers_title", add: "add_dispatcher", renew: true},
  admins: {list: "/api/administrators", base: "/api/administrators", id: "administrator_id",
    title: "admins_title", add: "add_admin", renew: false},
};

export function section(kind) {
  return {render: (box, app) => render(box, app, KINDS[kind])};
}

async function render(box, app, k) {
  const people = await app.api.get(k.list);
  const redraw = () => render(box, app, k);
  const name = h("input", {name: "name", required: true, maxlength: 100});
  const out = h("p", {role: "alert"});
  const add = h("button", {type: "submit", class: "primary"}, t(k.add));
  const form = h("form", {class: "panel-form", id: `add-${k.base.split("/").pop()}`},
    h("div", {class: "row"}, field(t("name"), name), add), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const done = await busy(add, () => app.api.post(k.base, {name: name.value.trim()}), out);
    if (done) { showSecrets([{label: t("token_for", {who: name.value.trim()}), value: done.token}]); redraw(); }
  });
  box.replaceChildren(h("h2", {}, t(k.title)), form, table(
    ["#", t("name"), t("created"), t("status"), t("actions")],
    people.map((p) => [
      String(p[k.id]), p.name + (isMe(app, k, p) ? t("yourself") : ""), dateTime(p.created_at),
      p.deactivated_at ? t("deactivated") : t("active"), actions(app, k, p, redraw)]),
    (i) => ({class: people[i].deactivated_at ? "inactive" : null})));
}

function isMe(app, k, p) {
  return k.id === "administrator_id" && app.me.id === p.administrator_id;
}

function actions(app, k, p, redraw) {
  const path = `${k.base}/${p[k.id]}`;
  if (p.deactivated_at) {
    if (!k.renew) return "";
    const again = h("button", {type: "button", class: "reactivate"}, t("reactivate"));
    again.addEventListener("click", async () => {
      const done = await busy(again, () => app.api.post(`${path}/reactivate`));
      if (done) { showSecrets([{label: t("token_for", {who: p.name}), value: done.token}]); redraw(); }
    });
    return again;
  }
  const buttons = [];
  if (k.renew) {
    const rotate = h("button", {type: "button", class: "rotate"}, t("rotate"));
    rotate.addEventListener("click", async () => {
      if (!confirm(t("confirm_rotate", {name: p.name}))) return;
      const done = await busy(rotate, () => app.api.post(`${path}/token`));
      if (done) showSecrets([{label: t("token_for", {who: p.name}), value: done.token}]);
    });
    buttons.push(rotate);
  }
  if (!isMe(app, k, p)) {
    const off = h("button", {type: "button", class: "deactivate danger"}, t("deactivate"));
    off.addEventListener("click", async () => {
      if (!confirm(t("confirm_deactivate", {name: p.name}))) return;
      if (await busy(off, () => app.api.post(`${path}/deactivate`))) { toast(t("saved")); redraw(); }
    });
    buttons.push(off);
  }
  return h("div", {class: "actions"}, buttons);
}
