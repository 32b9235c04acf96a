// Duty volunteers and administrators: a name and a token each; register, deactivate, renew.

import {accountButtons, busy, field, h, reactivateButton, showSecrets, table} from "./ui.js";
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
  if (p.deactivated_at) return k.renew ? reactivateButton(app, path, p.name, redraw) : "";
  return accountButtons(app, path, p.name, redraw, {renew: k.renew, self: isMe(app, k, p)});
}
