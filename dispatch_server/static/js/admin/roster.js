// The week's roster: for each grid and shift, tick who patrols it, and save that slot.

import {busy, checked, checks, h, toast} from "./ui.js";
import {t} from "./words.js";

const SHIFTS = ["morning", "evening"];

export async function render(box, app) {
  const [slots, members] = await Promise.all([app.api.get("/api/roster"), app.api.get("/api/admin/members")]);
  const active = members.filter((m) => !m.deactivated_at);
  const planned = new Map(slots.map((s) => [`${s.grid_id}/${s.shift}`, s.members.map((m) => String(m.member_id))]));
  const rows = app.gridIds().map((gridId) => h("tr", {"data-grid": gridId},
    h("th", {}, app.gridName(gridId)),
    SHIFTS.map((shift) => h("td", {}, slot(app, gridId, shift, active, planned.get(`${gridId}/${shift}`) ?? [])))));
  box.replaceChildren(h("h2", {}, t("roster_title")), h("table", {class: "grid-table roster", id: "roster"},
    h("thead", {}, h("tr", {}, h("th", {}, t("grid")), SHIFTS.map((s) => h("th", {}, t(`shift_${s}`))))),
    h("tbody", {}, rows)));
}

function slot(app, gridId, shift, active, chosen) {
  // The grid's own members first; anyone already planned here from elsewhere stays listed.
  const mine = active.filter((m) => m.grid_id === gridId || chosen.includes(String(m.member_id)));
  const cell = h("div", {class: "slot", "data-shift": shift},
    mine.length ? checks("member", mine.map((m) => [String(m.member_id), m.name]), chosen) : h("span", {class: "empty"}, t("no_one")));
  const save = h("button", {type: "button", class: "save-slot"}, t("save_slot"));
  save.addEventListener("click", async () => {
    const ids = checked(cell, "member").map(Number);
    if (await busy(save, () => app.api.put(`/api/roster/${encodeURIComponent(gridId)}/${shift}`, {member_ids: ids}))) toast(t("saved"));
  });
  cell.append(save);
  return cell;
}
