// Security partners and the police liaison: which grids each covers, its webhook, and a button
// that sends a test webhook and shows what the receiver answered.

import {accountButtons, busy, checked, checks, field, h, reactivateButton, select, showSecrets, table, toast} from "./ui.js";
import {t} from "./words.js";

export async function render(box, app) {
  const partners = await app.api.get("/api/admin/partners");
  const redraw = () => render(box, app);
  const formBox = h("div", {class: "form-box"});

  function drawForm(p) {
    formBox.replaceChildren(partnerForm(app, p, async (body, out, button) => {
      const done = await busy(button, () => (p
        ? app.api.patch(`/api/partners/${p.partner_id}`, body)
        : app.api.post("/api/partners", body)), out);
      if (!done) return;
      const shown = [];
      if (done.token) shown.push({label: t("token_for", {who: body.name}), value: done.token});
      if (done.webhook_secret) shown.push({label: t("secret_for", {who: body.name}), value: done.webhook_secret});
      if (shown.length) showSecrets(shown); else toast(t("saved"));
      redraw();
    }, () => drawForm(null)));
  }

  const rows = [];
  for (const p of partners) {
    rows.push([String(p.partner_id), p.name, t(`kind_${p.kind}`), p.grids.map(app.gridName).join("、"),
      p.webhook_url ?? t("webhook_none"), p.accepts_drills ? t("yes") : t("no"), p.deactivated_at ? t("deactivated") : t("active"),
      actions(app, p, () => { drawForm(p); formBox.scrollIntoView(); }, redraw)]);
  }
  const list = table([ "#", t("name"), t("kind"), t("grids"), t("webhook"), t("drills"), t("status"), t("actions")], rows,
    (i) => ({"data-partner": String(partners[i].partner_id), class: partners[i].deactivated_at ? "inactive" : null}));
  box.replaceChildren(h("h2", {}, t("partners_title")), formBox, list);
  drawForm(null);
}

function partnerForm(app, p, submit, cancel) {
  const name = h("input", {name: "name", required: true, maxlength: 100, value: p?.name ?? ""});
  const kind = select("kind", [["security", t("kind_security")], ["police", t("kind_police")]], p?.kind ?? "security");
  const grids = checks("grids", app.gridOptions(), p?.grids ?? []);
  const url = h("input", {name: "webhook_url", type: "url", placeholder: "https://", value: p?.webhook_url ?? ""});
  const drills = h("label", {class: "check"},
    h("input", {type: "checkbox", name: "accepts_drills", checked: Boolean(p?.accepts_drills)}), t("accepts_drills"));
  const out = h("p", {role: "alert"});
  const button = h("button", {type: "submit", class: "primary"}, p ? t("save") : t("add_partner"));
  const form = h("form", {class: "panel-form", id: p ? "edit-partner" : "add-partner"},
    h("h3", {}, p ? `${t("edit")} #${p.partner_id}` : t("add_partner")),
    h("div", {class: "row"}, field(t("name"), name), field(t("kind"), kind), field(t("webhook"), url)),
    field(t("grids"), grids),
    drills,
    h("div", {class: "row"}, button, p ? h("button", {type: "button", onclick: cancel}, t("cancel")) : null),
    out);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = checked(form, "grids");
    if (chosen.length === 0) { out.textContent = t("pick_grids"); out.className = "error"; return; }
    const body = {name: name.value.trim(), kind: kind.value, grids: chosen,
      accepts_drills: form.querySelector('input[name="accepts_drills"]').checked};
    const hook = url.value.trim();
    if (hook) body.webhook_url = hook; else if (p?.webhook_url) body.webhook_url = null;
    submit(body, out, button);
  });
  return form;
}

function actions(app, p, edit, redraw) {
  const path = `/api/partners/${p.partner_id}`;
  if (p.deactivated_at) return reactivateButton(app, path, p.name, redraw);
  const answer = h("div", {class: "test-result", role: "status"});
  const test = h("button", {type: "button", class: "test-webhook", disabled: !p.webhook_url}, t("test_webhook"));
  test.addEventListener("click", async () => {
    const r = await busy(test, () => app.api.post(`${path}/test-webhook`), answer);
    if (r) drawTest(answer, r);
  });
  const editing = h("button", {type: "button", class: "edit", onclick: edit}, t("edit"));
  const box = accountButtons(app, path, p.name, redraw, {before: [editing, test]});
  box.append(answer);
  return box;
}

function drawTest(box, r) {
  const words = r.status_code === null || r.status_code === undefined
    ? t("test_error", {error: r.error ?? "?"})
    : t(r.ok ? "test_ok" : "test_bad", {code: r.status_code, ms: Math.round(r.elapsed_ms)});
  box.className = `test-result ${r.ok ? "ok" : "bad"}`;
  box.replaceChildren(h("strong", {}, words));
  if (r.body) box.append(h("details", {open: true}, h("summary", {}, t("answer_body")), h("pre", {}, r.body)));
}
