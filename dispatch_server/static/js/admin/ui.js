// Small pieces every admin section uses: tables, labelled fields, a button that shows it is
// working, the dialog that shows a token once, and the one way errors become words.

import {h} from "../dom.js";
import {t} from "./words.js";

export {h};

/** A table; `rows` are arrays of cells (text or nodes). `attrs(i)` adds attributes per row. */
export function table(headers, rows, attrs = () => ({})) {
  return h("table", {class: "grid-table"},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.map((cells, i) => h("tr", attrs(i), cells.map((c) => h("td", {}, c))))));
}

/** A label around its input: the words sit above the control, large enough to read. */
export function field(words, control) {
  return h("label", {class: "field"}, h("span", {}, words), control);
}

export function select(name, options, value) {
  return h("select", {name}, options.map(([v, words]) => h("option", {value: v, selected: v === value}, words)));
}

/** Checkboxes for a set of codes; read them back with `checked(box)`. */
export function checks(name, options, chosen = []) {
  return h("div", {class: "checks", "data-name": name}, options.map(([v, words]) =>
    h("label", {class: "check"}, h("input", {type: "checkbox", name, value: v, checked: chosen.includes(v)}), words)));
}

export function checked(root, name) {
  return [...root.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

/** What went wrong, in words: the server's detail when it gave one. */
export function errorText(err) {
  const detail = err?.body?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc ?? []).slice(1).join(".")}: ${d.msg}`).join("; ");
  return err?.message ?? String(err);
}

/** Runs `work` with the button disabled and saying so; reports failure in `out` (or a toast). */
export async function busy(button, work, out) {
  const words = button.textContent;
  button.disabled = true;
  button.textContent = t("working");
  try {
    return await work();
  } catch (err) {
    const text = t("failed", {why: errorText(err)});
    if (out) { out.textContent = text; out.className = "error"; } else toast(text);
    return undefined;
  } finally {
    button.disabled = false;
    button.textContent = words;
  }
}

let toastTimer = null;
export function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

/** Shows secrets (tokens, webhook secrets) that the server will never show again. */
export function showSecrets(items, extra = null) {
  const dialog = document.getElementById("secret");
  const parts = [
    h("h2", {}, t("token_title")),
    h("p", {class: "hint"}, t("token_hint")),
    ...items.map(({label, value}) => h("div", {class: "secret"},
      h("div", {}, label),
      h("code", {class: "secret-value"}, value),
      h("button", {type: "button", onclick: (e) => copy(value, e.target)}, t("copy")))),
    extra,
    h("button", {type: "button", class: "secondary", id: "secret-close", onclick: () => dialog.close()}, t("close")),
  ];
  dialog.replaceChildren(...parts.filter(Boolean));
  dialog.showModal();
}

async function copy(value, button) {
  try { await navigator.clipboard.writeText(value); button.textContent = t("copied"); } catch { /* select by hand */ }
}

/** The buttons every account has, in one place: reactivate (for a deactivated one: a new
 * token, shown once), or a new token and deactivate. `renew: false` leaves out the token
 * buttons (administrators); `self: true` leaves out deactivate (you cannot lock yourself
 * out). `before` are the list's own buttons (edit, phone code, test webhook). */
export function accountButtons(app, path, name, redraw, {renew = true, self = false, before = []} = {}) {
  const post = (button, step) => busy(button, () => app.api.post(`${path}/${step}`));
  const told = (done) => showSecrets([{label: t("token_for", {who: name}), value: done.token}]);
  const button = (cls, words, onclick) => h("button", {type: "button", class: cls, onclick}, words);
  const buttons = [...before];
  if (renew) {
    const rotate = button("rotate", t("rotate"), async () => {
      if (!confirm(t("confirm_rotate", {name}))) return;
      const done = await post(rotate, "token");
      if (done) told(done);
    });
    buttons.push(rotate);
  }
  if (!self) {
    const off = button("deactivate danger", t("deactivate"), async () => {
      if (!confirm(t("confirm_deactivate", {name}))) return;
      if (await post(off, "deactivate")) { toast(t("saved")); redraw(); }
    });
    buttons.push(off);
  }
  return h("div", {class: "actions"}, buttons);
}

/** The one button a deactivated account has: back in service with a new token. */
export function reactivateButton(app, path, name, redraw) {
  const again = h("button", {type: "button", class: "reactivate"}, t("reactivate"));
  again.addEventListener("click", async () => {
    const done = await busy(again, () => app.api.post(`${path}/reactivate`));
    if (done) { showSecrets([{label: t("token_for", {who: name}), value: done.token}]); redraw(); }
  });
  return again;
}
