// Coverage gaps and the team watch (decision 48): an amber strip of warnings, not alarms.
// What is open comes from /api/watch when the console (re)loads; the live events keep it
// current: coverage_gap opens a line and coverage_restored ends it; team_drift and
// team_check_overdue open or update a member's line, team_rejoined ends it. A silent member
// appears only once overdue: supervision's member_offline is the first word (no second).

import {h} from "./dom.js";
import {t, clockTime} from "./i18n.js";

const open = new Map();  // "gap/G03" or "team/12" -> what the line says

export async function loadWatch(api) {
  const body = await api.get("/api/watch");
  open.clear();
  for (const g of body.coverage_gaps) open.set(`gap/${g.grid_id}`, {kind: "gap", ...g});
  for (const m of body.team) open.set(`team/${m.member_id}`, {kind: "team", ...m});
}

/** A live event; true when the strip may have changed. */
export function applyWatchEvent(ev) {
  switch (ev.type) {
    case "coverage_gap": open.set(`gap/${ev.grid_id}`, {kind: "gap", ...ev}); return true;
    case "coverage_restored": open.delete(`gap/${ev.grid_id}`); return true;
    case "team_drift":
      open.set(`team/${ev.member_id}`, {kind: "team", reason: "drift", overdue: false, ...ev});
      return true;
    case "team_check_overdue":
      open.set(`team/${ev.member_id}`, {...open.get(`team/${ev.member_id}`), kind: "team",
        member_id: ev.member_id, grid_id: ev.grid_id, reason: ev.reason, overdue: true, since: ev.since});
      return true;
    case "team_rejoined": open.delete(`team/${ev.member_id}`); return true;
    default: return false;
  }
}

/** `who(member_id)` names a member; `grid(grid_id)` names a grid. */
export function renderWatch(box, who, grid) {
  const rows = [...open.values()];
  box.hidden = rows.length === 0;
  box.replaceChildren(...rows.map((w) => {
    const since = w.since ? t("duty_since", {t: clockTime(w.since)}) : "";
    if (w.kind === "gap") {
      return h("div", {"data-watch": `gap-${w.grid_id}`}, t("watch_gap", {
        grid: grid(w.grid_id), shift: t(`shift_${w.shift}`), n: w.on_shift, min: w.minimum}) + since);
    }
    const key = w.overdue ? `watch_${w.reason}_overdue` : `watch_${w.reason}`;
    return h("div", {"data-watch": `team-${w.member_id}`}, t(key, {
      member: who(w.member_id, w.name), grid: grid(w.grid_id), m: Math.round(w.distance_m ?? 0)}) + since);
  }));
}
