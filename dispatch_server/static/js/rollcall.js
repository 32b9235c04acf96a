// Roll call: one button per grid and one for all; the newest roll call's answers, live.

import {h} from "./dom.js";
import {t, clockTime, list} from "./i18n.js";

export function renderButtons(box, grids, gridName, start) {
  box.replaceChildren(
    h("button", {type: "button", class: "primary huge", id: "rc-all", onclick: () => start(null)}, t("rc_all")),
    ...grids.features.map((f) =>
      h("button", {type: "button", class: "rc-grid", "data-grid": f.id, onclick: () => start([f.id])},
        t("rc_grid", {grid: gridName(f.id)}))),
  );
}

function names(ids, memberName) {
  return ids.length ? list(ids.map(memberName)) : "—";
}

function gridRow(rc, gridId, {gridName, memberName}) {
  const tally = rc.tally[gridId] ?? {expected: 0, all_normal: [], need_help: [], missing: []};
  // Silent with nobody on shift is a staffing gap, not a patrol in trouble: said apart.
  const silent = rc.silent_grids.includes(gridId);
  const unstaffed = tally.expected === 0;
  const flag = unstaffed ? h("span", {class: "flag unstaffed"}, t("rc_unstaffed"))
    : silent ? h("span", {class: "flag"}, t("rc_silent")) : null;
  const cls = unstaffed ? "unstaffed" : silent ? "silent" : tally.need_help.length ? "help" : "";
  return h("tr", {class: cls, "data-grid": gridId},
    h("td", {class: "rc-grid-name"}, `${gridName(gridId)} · ${t("rc_expected", {n: tally.expected})}`,
      flag ? " " : null, flag),
    h("td", {class: "ok"}, names(tally.all_normal, memberName)),
    h("td", {class: "bad"}, names(tally.need_help, memberName)),
    h("td", {class: "wait"}, names(tally.missing, memberName)));
}

export function renderRollCall(box, rc, lookups) {
  if (!rc) { box.replaceChildren(h("p", {class: "empty"}, t("rc_none"))); return; }
  box.replaceChildren(
    h("div", {class: "rc-head"},
      h("strong", {}, `${t("rc_title")} #${rc.roll_call_id}`), " ",
      h("span", {}, t("rc_started", {t: clockTime(rc.started_at)})), " · ",
      h("span", {class: "rc-left", "data-deadline": rc.open ? rc.deadline : ""}, rc.open ? "" : t("rc_closed"))),
    h("table", {class: "rc-table"},
      h("tr", {}, ["grid", "rc_all_normal", "rc_need_help", "rc_missing"].map((k) => h("th", {}, t(k)))),
      rc.grid_ids.map((gridId) => gridRow(rc, gridId, lookups))),
  );
  tickRollCall(box);
}

export function tickRollCall(root) {
  root.querySelectorAll(".rc-left[data-deadline]").forEach((el) => {
    if (!el.dataset.deadline) return;
    const s = Math.max(0, Math.round((Date.parse(el.dataset.deadline) - Date.now()) / 1000));
    el.textContent = `${t("rc_deadline", {t: clockTime(el.dataset.deadline)})} · ${t("rc_left", {s})}`;
  });
}
