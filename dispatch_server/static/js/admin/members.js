// Patrol members: register, edit grid and skills, deactivate, new token, phone codes, cards.

import {accountButtons, busy, checked, checks, field, h, reactivateButton, select, showSecrets, table, toast} from "./ui.js";
import {SKILL_CODES, dateTime, skill, t} from "./words.js";

export async function render(box, app) {
  const members = await app.api.get("/api/admin/members");
  const state = {editing: null, grid: box.dataset.filter ?? ""};
  const redraw = () => render(box, app);
  const listBox = h("div", {});
  const formBox = h("div", {class: "form-box"});

  function drawForm() {
    const m = state.editing;
    formBox.replaceChildren(memberForm(app, m, async (body, out, button) => {
      const done = await busy(button, () => (m
        ? app.api.patch(`/api/members/${m.member_id}`, body)
        : app.api.post("/api/members", body)), out);
      if (!done) return;
      if (!m) showSecrets([{label: t("token_for", {who: body.name}), value: done.token}]);
      else toast(t("saved"));
      redraw();
    }, () => { state.editing = null; drawForm(); }));
  }

  function drawList() {
    const shown = members.filter((m) => !state.grid || m.grid_id === state.grid);
    const filter = select("filter", [["", app.t("all_grids")], ...app.gridOptions()], state.grid);
    filter.addEventListener("change", () => { state.grid = filter.value; box.dataset.filter = filter.value; drawList(); });
    const print = h("button", {type: "button", id: "print-cards"}, t("print_cards"));
    print.addEventListener("click", () => printCards(app, listBox, print));
    listBox.replaceChildren(
      h("div", {class: "row"}, field(t("filter_grid"), filter), print),
      shown.length === 0 ? h("p", {class: "empty"}, t("no_members")) : table(
        [t("select"), "#", t("name"), t("grid"), t("skills"), t("devices"), t("status"), t("actions")],
        shown.map((m) => [
          h("input", {type: "checkbox", name: "card", value: String(m.member_id), disabled: Boolean(m.deactivated_at)}),
          String(m.member_id), m.name, app.gridName(m.grid_id),
          m.skills.map(skill).join(" · ") || t("none"), String(m.devices),
          m.deactivated_at ? t("deactivated") : t("active"),
          actions(app, m, () => { state.editing = m; drawForm(); formBox.scrollIntoView(); }, redraw),
        ]),
        (i) => ({"data-member": String(shown[i].member_id), class: shown[i].deactivated_at ? "inactive" : null})));
  }

  box.replaceChildren(h("h2", {}, t("members_title")), formBox, listBox);
  drawForm();
  drawList();
}

function memberForm(app, m, submit, cancel) {
  const name = h("input", {name: "name", required: true, maxlength: 100, value: m?.name ?? ""});
  const grid = select("grid_id", app.gridOptions(), m?.grid_id ?? app.gridOptions()[0]?.[0]);
  const skills = checks("skills", SKILL_CODES.map((c) => [c, skill(c)]), m?.skills ?? []);
  const out = h("p", {role: "alert"});
  const button = h("button", {type: "submit", class: "primary"}, m ? t("save") : t("add_member"));
  const form = h("form", {id: m ? "edit-member" : "add-member", class: "panel-form"},
    h("h3", {}, m ? `${t("edit")} #${m.member_id}` : t("add_member")),
    h("div", {class: "row"}, field(t("name"), name), field(t("grid"), grid)),
    field(t("skills"), skills),
    h("div", {class: "row"}, button, m ? h("button", {type: "button", onclick: cancel}, t("cancel")) : null),
    out);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = {name: name.value.trim(), grid_id: grid.value, skills: checked(form, "skills")};
    submit(body, out, button);
  });
  return form;
}

function actions(app, m, edit, redraw) {
  const path = `/api/members/${m.member_id}`;
  if (m.deactivated_at) return reactivateButton(app, path, m.name, redraw);
  const code = h("button", {type: "button", class: "enrol"}, t("enrol"));
  code.addEventListener("click", async () => {
    const done = await busy(code, () => app.api.post(`${path}/enrolment`));
    if (done) enrolment(m, done);
  });
  const editing = h("button", {type: "button", class: "edit", onclick: edit}, t("edit"));
  return accountButtons(app, path, m.name, redraw, {before: [editing, code]});
}

function enrolment(m, done) {
  const dialog = document.getElementById("secret");
  dialog.replaceChildren(
    h("h2", {}, t("enrol_title", {name: m.name})),
    h("p", {class: "hint"}, t("enrol_hint")),
    h("p", {}, h("code", {class: "secret-value"}, done.code)),
    h("p", {}, h("a", {href: done.url, target: "_blank", rel: "noopener"}, done.url)),
    h("p", {}, t("expires", {t: dateTime(done.expires_at)})),
    h("button", {type: "button", class: "secondary", onclick: () => dialog.close()}, t("close")));
  dialog.showModal();
}

async function printCards(app, root, button) {
  const ids = checked(root, "card").map(Number);
  if (ids.length === 0) { toast(t("select")); return; }
  const pdf = await busy(button, () => app.api.postBlob("/api/member-cards", {member_ids: ids}));
  if (!pdf) return;
  const link = h("a", {href: URL.createObjectURL(pdf), download: `member-cards-${new Date().toISOString().slice(0, 10)}.pdf`});
  document.body.append(link);
  link.click();
  link.remove();
}
