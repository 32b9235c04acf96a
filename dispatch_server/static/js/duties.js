// Background duties that have stopped (issue 10): a red banner names each, in words a duty
// volunteer can act on, until it recovers. This instance's duties come from /api/duties
// (polled, and at once on a duty event); another instance's from its duty_failed events.

import {h} from "./dom.js";
import {t, clockTime} from "./i18n.js";

const KNOWN = new Set(["scheduler", "escalation", "roll_calls", "supervision", "check_ins",
  "deliveries", "log_writer", "duty_room", "media_retention", "loop_lag", "coverage", "team_watch"]);
let here = null;  // this instance's name, from health
const failing = new Map();  // "instance/duty" -> {duty, since}

export async function pollHealth() {
  const response = await fetch("/api/duties", {cache: "no-store"});
  const body = await response.json();
  here = body.instance ?? here;
  for (const key of [...failing.keys()]) if (key.startsWith(`${here}/`)) failing.delete(key);
  for (const [duty, d] of Object.entries(body.duties ?? {})) {
    if (d.state === "failing") failing.set(`${here}/${duty}`, {duty, since: d.failing_since});
  }
}

/** A duty event from the log; true when the banner may have changed. */
export function applyDutyEvent(ev) {
  if (ev.type !== "duty_failed" && ev.type !== "duty_recovered") return false;
  if (ev.instance === here) return true;  // health says it better: the caller polls it
  const key = `${ev.instance}/${ev.duty}`;
  if (ev.type === "duty_failed") failing.set(key, {duty: ev.duty, since: ev.at});
  else failing.delete(key);
  return true;
}

export function renderDuties(box) {
  const rows = [...failing.values()];
  box.hidden = rows.length === 0;
  box.replaceChildren(...rows.map(({duty, since}) => h("div", {"data-duty": duty},
    (KNOWN.has(duty) ? t(`duty_${duty}`) : t("duty_other", {name: duty}))
      + (since ? t("duty_since", {t: clockTime(since)}) : ""))));
}
