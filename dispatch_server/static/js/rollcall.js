// Roll call: one button per grid and one for all; the newest roll call's answers, live.

import {t, clockTime, list} from "./i18n.js";

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function renderButtons(box, grids, gridName, start) {
  box.replaceChildren();
  const all = h("button", "primary huge", t("rc_all"));
  all.type = "button";
  all.id = "rc-all";
  all.addEventListener("click", () => start(null));
  box.append(all);
  for (const f of grids.features) {
    const b = h("button", "rc-grid", t("rc_grid", {grid: gridName(f.id)}));
    b.type = "button";
    b.dataset.grid = f.id;
    b.addEventListener("click", () => start([f.id]));
    box.append(b);
  }
}

function names(ids, memberName) {
  return ids.length ? list(ids.map(memberName)) : "—";
}

export function renderRollCall(box, rc, {gridName, memberName}) {
  box.replaceChildren();
  if (!rc) { box.append(h("p", "empty", t("rc_none"))); return; }
  const head = h("div", "rc-head");
  head.append(h("strong", "", `${t("rc_title")} #${rc.roll_call_id}`), " ",
    h("span", "", t("rc_started", {t: clockTime(rc.started_at)})), " · ");
  const left = h("span", "rc-left", rc.open ? "" : t("rc_closed"));
  left.dataset.deadline = rc.open ? rc.deadline : "";
  head.append(left);
  box.append(head);
  const table = h("table", "rc-table");
  const top = h("tr");
  for (const key of ["grid", "rc_all_normal", "rc_need_help", "rc_missing"]) top.append(h("th", "", t(key)));
  table.append(top);
  for (const gridId of rc.grid_ids) {
    const tally = rc.tally[gridId] ?? {expected: 0, all_normal: [], need_help: [], missing: []};
    // Silent with nobody on shift is a staffing gap, not a patrol in trouble: said apart.
    const silent = rc.silent_grids.includes(gridId);
    const unstaffed = tally.expected === 0;
    const tr = h("tr", unstaffed ? "unstaffed" : silent ? "silent" : tally.need_help.length ? "help" : "");
    tr.dataset.grid = gridId;
    const first = h("td", "rc-grid-name", `${gridName(gridId)} · ${t("rc_expected", {n: tally.expected})}`);
    if (unstaffed) first.append(" ", h("span", "flag unstaffed", t("rc_unstaffed")));
    else if (silent) first.append(" ", h("span", "flag", t("rc_silent")));
    tr.append(first,
      h("td", "ok", names(tally.all_normal, memberName)),
      h("td", "bad", names(tally.need_help, memberName)),
      h("td", "wait", names(tally.missing, memberName)));
    table.append(tr);
  }
  box.append(table);
  tickRollCall(box);
}

export function tickRollCall(root) {
  root.querySelectorAll(".rc-left[data-deadline]").forEach((el) => {
    if (!el.dataset.deadline) return;
    const s = Math.max(0, Math.round((Date.parse(el.dataset.deadline) - Date.now()) / 1000));
    el.textContent = `${t("rc_deadline", {t: clockTime(el.dataset.deadline)})} · ${t("rc_left", {s})}`;
  });
}

