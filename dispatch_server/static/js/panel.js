// The incident panel: who, when, where, what; ranked responders; the actions; the timeline.
//
// It is redrawn from the server's view of the incident after every event for it. What the
// duty volunteer is typing or has ticked lives in `draft`, so a redraw never loses it.

import {h} from "./dom.js";
import {t, name, eventText, sourceText, clockTime, dateTime, duration, paren, list} from "./i18n.js";
import {ageSince, ageText} from "./queue.js";

// Pressed and received further apart than this: the panel shows both times.
const SHOW_BOTH_AFTER_S = 5;
import {categoryIcon} from "./categories.js";
import {gallery} from "./media.js";

export function newDraft() {
  return {picked: new Set(), note: "", disposition: "", closing: "", find: ""};
}

function row(label, value, id = null) {
  return h("div", {class: "fact", id}, h("span", {class: "fact-label"}, label), h("span", {class: "fact-value"}, value));
}

/** When: the key press and the server's receipt, both when they are more than 5 s apart (the
 * alarm waited in the handheld's outbox), else one time; and, while open, the age from the
 * press. Only what the server has kept is shown: its pressed_at (clamped) and its own time. */
function whenRows(inc) {
  const apart = inc.pressed_at ? (Date.parse(inc.opened_at) - Date.parse(inc.pressed_at)) / 1000 : 0;
  const opening = inc.timeline?.find((ev) => ev.type === "incident_opened");
  const rows = [];
  if (Math.abs(apart) > SHOW_BOTH_AFTER_S) {
    const corrected = opening?.pressed_at_clamped ? ` ${t("pressed_clamped")}` : "";
    rows.push(row(t("pressed_at"), dateTime(inc.pressed_at) + corrected, "panel-pressed"));
    rows.push(row(t("received_at"), `${dateTime(inc.opened_at)} · ${t("received_later", {d: duration(apart)})}`,
      "panel-received"));
  } else {
    rows.push(row(t("opened_at"), dateTime(inc.opened_at), "panel-opened"));
  }
  if (inc.status !== "resolved") {
    const since = ageSince(inc);
    const key = inc.pressed_at ? "since_press" : "since_alarm";
    rows.push(row(t(key), h("span", {class: "age", "data-since": since, "data-age-key": "age_bare"},
      ageText(since, Date.now(), "age_bare")), "panel-age"));
  }
  return rows;
}

const PLACE = {alert_fix: "by_fix", reporter_fix: "by_reporter_fix", reporter_grid: "by_reporter_grid"};
const REPLY = {pending: "reply_pending", accepted: "reply_accepted", declined: "reply_declined"};

/** Beside a responder: their answer, or, once they said so, arrived or done at the scene. */
function replyChip(a) {
  const [state, key] = a.reply === "accepted" && a.done_at ? ["done", "reply_done"]
    : a.reply === "accepted" && a.arrived_at ? ["arrived", "reply_arrived"] : [a.reply, REPLY[a.reply]];
  return h("span", {class: `reply reply-${a.reply} reply-${state}`, "data-reply": a.reply, "data-state": state}, t(key));
}

/** Who did it, by name: `names` is the incident view's (actor key -> name, read with the view,
 * so someone registered after the page loaded is named too). */
export function actorName(actor, names, memberName) {
  const [kind, id] = String(actor).split(":");
  const known = names[actor];
  if (kind === "member") return known ?? memberName(Number(id));
  if (kind === "dispatcher") return known ? t("actor_dispatcher_named", {name: known}) : t("actor_dispatcher", {id});
  if (kind === "partner") return t("actor_partner", {name: known ?? `#${id}`});
  if (kind === "admin") return t("actor_admin");
  return t("actor_system");
}

/** "28.13327, 113.04119（按报警人最近定位）": where, and how the server knew. */
function placeText(where) {
  return paren(`${where.lat.toFixed(5)}, ${where.lon.toFixed(5)}`, t(PLACE[where.point_source] ?? "by_fix"));
}

function responderLine(r, memberName) {
  const how = r.located_by === "fix" ? t("located_fix", {age: Math.round(r.fix_age_s)}) : t("located_grid");
  const parts = [t("meters", {m: Math.round(r.distance_m)}), how, r.online ? t("online_now") : t("offline_now")];
  const skills = list(r.skills_fit.map((s) => name("skill", s)));
  if (r.skill_first_by_m) parts.push(t("skill_first", {skills, m: Math.round(r.skill_first_by_m)}));
  else if (r.skills_fit.length) parts.push(t("skill_fit", {skills}));
  return `${paren(memberName(r.member_id), r.grid_id)} · ${parts.join(" · ")}`;
}

function pickBox(inc, draft, memberId, called, redraw) {
  const a = called.get(memberId);
  const canPick = inc.status !== "resolved" && (!a || a.reply === "declined") && memberId !== inc.reporter_id;
  return h("input", {type: "checkbox", "data-member": memberId, checked: draft.picked.has(memberId),
    disabled: !canPick, onchange: (e) => {
      if (e.target.checked) draft.picked.add(memberId); else draft.picked.delete(memberId);
      redraw();
    }});
}

/** Ranked now while the incident is open (`suggested`); as ranked at the alarm once resolved. */
function ranking(inc) {
  return inc.status !== "resolved" && inc.suggested ? inc.suggested : inc.responders;
}

function responders(inc, draft, memberName, redraw) {
  const called = new Map(inc.assignments.map((a) => [a.member_id, a]));
  const ul = h("ul", {class: "responders"});
  const ranked = ranking(inc);
  for (const r of ranked) {
    const a = called.get(r.member_id);
    const reply = a ? replyChip(a) : null;
    ul.append(h("li", {class: "responder" + (a ? " called" : ""), "data-member": r.member_id},
      h("label", {}, pickBox(inc, draft, r.member_id, called, redraw),
        h("span", {class: "responder-text"}, responderLine(r, memberName))), reply));
  }
  // Members dispatched who were not in the ranking (ranked later, or picked by hand elsewhere).
  for (const a of inc.assignments) {
    if (ranked.some((r) => r.member_id === a.member_id)) continue;
    ul.append(h("li", {class: "responder called", "data-member": a.member_id},
      h("span", {class: "responder-text"}, memberName(a.member_id)), replyChip(a)));
  }
  if (!ranked.length && !inc.assignments.length) ul.append(h("li", {class: "empty"}, t("no_responders")));
  return ul;
}

/** Anyone on shift, found by name or grid: the duty volunteer may send whoever they judge. */
function findAnyone(inc, draft, members, memberName, redraw) {
  const called = new Map(inc.assignments.map((a) => [a.member_id, a]));
  const listed = new Set(ranking(inc).map((r) => r.member_id));
  const input = h("input", {type: "search", id: "find-member", placeholder: t("find_member"),
    oninput: (e) => { draft.find = e.target.value; redraw(); }});
  const box = h("div", {class: "find-member"}, input);
  const words = draft.find.trim().toLowerCase();
  if (!words) return box;
  const found = members.filter((m) => m.on_shift && !listed.has(m.member_id) && m.member_id !== inc.reporter_id
    && (m.name.toLowerCase().includes(words) || m.grid_id.toLowerCase().includes(words)));
  const ul = h("ul", {class: "responders found"});
  for (const m of found.slice(0, 20)) {
    ul.append(h("li", {class: "responder", "data-member": m.member_id},
      h("label", {}, pickBox(inc, draft, m.member_id, called, redraw),
        h("span", {class: "responder-text"}, paren(memberName(m.member_id), m.grid_id)))));
  }
  if (!found.length) ul.append(h("li", {class: "empty"}, t("find_none")));
  box.append(ul);
  return box;
}

function timeline(inc, memberName, gridName) {
  const names = inc.names ?? {};
  const member = (id) => names[`member:${id}`] ?? memberName(id);
  const partner = (id) => names[`partner:${id}`] ?? `#${id}`;
  const ol = h("ol", {class: "timeline"});
  for (const raw of inc.timeline) {
    // The opening reads as what opened it, as the server folded it: an event logged before
    // `source` existed carries it only in the incident's view.
    const ev = raw.type === "incident_opened" ? {...raw, source: inc.source, roll_call_id: inc.roll_call_id} : raw;
    const vars = {
      who: actorName(ev.actor, names, memberName),
      member: ev.member_id ? member(ev.member_id) : "",
      members: list((ev.member_ids ?? []).map(member)),
      partner: ev.partner_id ? partner(ev.partner_id) : "",
      partners: list((ev.partner_ids ?? []).map(partner)),
      disposition: name("disposition", ev.disposition),
      to: name("partner", ev.to),
      grid: ev.grid_id ? gridName(ev.grid_id) : "",
      place: ev.type === "incident_opened" ? placeText(ev) : "",
    };
    const skipped = ev.drill_skipped?.length ? ` · ${t("drill_skipped", {partners: list(ev.drill_skipped.map(partner))})}` : "";
    ol.append(h("li", {"data-type": ev.type, "data-seq": ev.seq},
      h("time", {datetime: ev.at}, clockTime(ev.at)), " ", eventText(ev, vars) + skipped));
  }
  return ol;
}

/** Decision 50: a duress alarm in the loudest style; a drill in large letters. */
function marks(inc) {
  if (!inc.duress && !inc.drill) return null;
  return h("div", {class: "marks"},
    inc.duress ? h("div", {class: "duress-banner", id: "panel-duress", role: "alert"},
      h("b", {}, t("duress_mark")), " ", t("duress_hint")) : null,
    inc.drill ? h("div", {class: "drill-banner", id: "panel-drill"},
      h("b", {}, t("drill_mark")), " ", t("drill_hint")) : null);
}

/** The loudest thing on the panel: an escalation that reached nobody (someone must phone). */
function nobodyReached(inc) {
  const problems = inc.escalation_problems ?? [];
  if (inc.status === "resolved" || !problems.length) return null;
  const kinds = [...new Set(problems.map((p) => name("partner", p.to)))];
  return h("div", {class: "nobody-reached", id: "nobody-reached", role: "alert"},
    t("nobody_reached", {to: list(kinds)}));
}

function escalationLine(inc) {
  if (inc.status === "resolved") return null;
  const parts = [];
  if (inc.unattended) parts.push(t("unattended"));
  if (inc.escalated_to.length) parts.push(t("escalated_badge"));
  if (inc.next_escalation_at) {
    const left = (Date.parse(inc.next_escalation_at) - Date.now()) / 1000;
    parts.push(left > 0 ? t("next_escalation", {t: duration(left)}) : t("escalation_due"));
  }
  return parts.length ? h("p", {class: "escalation", "data-next": inc.next_escalation_at ?? ""}, parts.join(" · ")) : null;
}

/** The incident's photos and clips, where the duty volunteer looks first after the facts. */
function mediaBox(inc, fetchBlob) {
  const shown = fetchBlob ? gallery(inc.media, fetchBlob, t) : null;
  return shown ? h("section", {class: "media", id: "panel-media"}, h("h3", {}, t("media")), shown) : null;
}

export function renderPanel(box, inc, {draft, gridName, memberName, members, act, close, fetchBlob, bundle}) {
  const redraw = () => renderPanel(box, inc, {draft, gridName, memberName, members, act, close, fetchBlob, bundle});
  // A redraw while the volunteer is typing must not steal the cursor.
  const focused = box.contains(document.activeElement) ? document.activeElement : null;
  const focus = focused && focused.id ? {id: focused.id, start: focused.selectionStart, end: focused.selectionEnd} : null;
  const active = inc.status !== "resolved";
  const place = inc.inside_grid ? t("inside") : t("outside", {m: Math.round(inc.timeline[0]?.outside_by_m ?? 0)});
  const parts = [
    h("div", {class: "panel-head"},
      h("h2", {"data-category": inc.category}, categoryIcon(inc.category), `#${inc.incident_id} ${name("category", inc.category)}`),
      h("button", {type: "button", class: "ghost", id: "panel-close", onclick: close}, t("close"))),
    h("div", {class: `chip big status-${inc.status}`, id: "panel-status", "data-status": inc.status}, name("status", inc.status)),
    marks(inc),
    nobodyReached(inc),
    escalationLine(inc),
    h("div", {class: "facts"},
      row(t("reporter"), inc.reporter_id ? inc.reporter_name ?? memberName(inc.reporter_id) : "—"),
      ...whenRows(inc),
      row(t("grid"), gridName(inc.grid_id)),
      row(t("place"), `${inc.lat.toFixed(5)}, ${inc.lon.toFixed(5)} · ${place} · ${t(PLACE[inc.point_source] ?? "by_fix")}`),
      sourceText(inc) ? row(t("source"), sourceText(inc)) : null,
      inc.note ? row(t("note_placeholder"), inc.note) : null,
      inc.disposition ? row(t("disposition"), name("disposition", inc.disposition)) : null),
    mediaBox(inc, fetchBlob),
    active && inc.status === "open"
      ? h("button", {type: "button", class: "primary huge", id: "ack", onclick: () => act("acknowledge")}, paren(t("acknowledge"), "A"))
      : null,
    h("h3", {}, t("responders")),
    responders(inc, draft, memberName, redraw),
    active ? findAnyone(inc, draft, members, memberName, redraw) : null,
    active
      ? h("button", {type: "button", class: "primary", id: "dispatch", disabled: draft.picked.size === 0,
        onclick: () => act("dispatch", [...draft.picked])}, t("dispatch_selected", {n: draft.picked.size}))
      : null,
    h("div", {class: "note-box"},
      h("textarea", {id: "note", rows: 2, placeholder: t("note_placeholder"), oninput: (e) => { draft.note = e.target.value; }}),
      h("button", {type: "button", id: "add-note", onclick: () => draft.note.trim() && act("note", draft.note.trim())}, t("add_note"))),
    active ? resolveBox(draft, act) : null,
    h("h3", {}, t("timeline")),
    timeline(inc, memberName, gridName),
    bundle ? h("button", {type: "button", id: "bundle", onclick: bundle}, t("export_bundle")) : null,
  ];
  box.replaceChildren(...parts.filter((p) => p !== null));
  const note = box.querySelector("#note");
  if (note) note.value = draft.note;
  const find = box.querySelector("#find-member");
  if (find) find.value = draft.find;
  const again = focus && box.querySelector(`#${focus.id}`);
  if (again) {
    again.focus();
    if (typeof focus.start === "number" && "setSelectionRange" in again) again.setSelectionRange(focus.start, focus.end);
  }
}

function resolveBox(draft, act) {
  const choices = ["true_alarm", "false_alarm", "test", "handled_by_partner"].map((d) =>
    h("label", {class: "choice"},
      h("input", {type: "radio", name: "disposition", value: d, checked: draft.disposition === d,
        onchange: () => { draft.disposition = d; }}),
      name("disposition", d)));
  const closing = h("input", {type: "text", id: "closing", placeholder: t("resolve_note"),
    oninput: (e) => { draft.closing = e.target.value; }});
  closing.value = draft.closing;
  return h("fieldset", {class: "resolve"},
    h("legend", {}, t("resolve_title")),
    h("div", {class: "choices"}, choices),
    closing,
    h("button", {type: "button", id: "resolve", class: "secondary", onclick: () => {
      if (!draft.disposition) { act("warn", t("pick_disposition")); return; }
      act("resolve", {disposition: draft.disposition, note: draft.closing.trim() || undefined});
    }}, t("resolve")));
}
