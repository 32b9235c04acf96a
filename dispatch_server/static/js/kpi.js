// The KPI tab (统计 / Performance, decision 49): how the duty room answers alarms, read at a
// glance. A period (this month, last month, the last four weeks) and a grouping; the headline
// figures against their targets (green when met, red when not, the target written under);
// a bar per group against the target line; the answer times in buckets with the 10 s line;
// the weekly trend; the drills in a box of their own; the month's PDF report.
//
// Everything comes from GET /api/kpis as the server scores it: the page computes no figure,
// it only draws them. Periods are the browser's local days (the duty room's PC is in the
// community, whose zone the server uses for weeks and months).

import {h} from "./dom.js";
import {duration, t, lang} from "./i18n.js";
import {histogram, shareBars, trend} from "./charts.js";

const PERIODS = ["this_month", "last_month", "last_4_weeks"];
const GROUPINGS = ["grid", "dispatcher", "shift", "week"];
const TREND_WEEKS = 12;
const DAY_MS = 86400e3;

const K = {
  box: null, api: null, gridName: (id) => id, toast: () => {},
  period: "this_month", by: "grid", span: null, data: null, weeks: null, state: "idle", error: null,
};

// ---- periods and weeks (local time) -----------------------------------------------------

function monthText(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}

/** [since, until) of a period, and the month whose report the button downloads. */
export function periodOf(name, now = new Date()) {
  const y = now.getFullYear(), m = now.getMonth();
  if (name === "last_month") {
    const since = new Date(y, m - 1, 1);
    return {since, until: new Date(y, m, 1), month: monthText(since)};
  }
  if (name === "last_4_weeks") return {since: new Date(now.getTime() - 28 * DAY_MS), until: now, month: monthText(now)};
  return {since: new Date(y, m, 1), until: now, month: monthText(now)};
}

function mondayOf(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - ((d.getDay() + 6) % 7));
}

/** ISO 8601 week of a local date, as the server writes it: `2026-W47`. */
export function isoWeek(d) {
  const day = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  day.setUTCDate(day.getUTCDate() + 3 - ((day.getUTCDay() + 6) % 7));  // that week's Thursday
  const year = day.getUTCFullYear();
  const week = 1 + Math.floor((day - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** The Mondays of the TREND_WEEKS weeks up to the one `until` falls in (the trend's weeks). */
function trendMondays(until) {
  const last = mondayOf(new Date(until.getTime() - 1));
  return Array.from({length: TREND_WEEKS}, (_, i) =>
    new Date(last.getFullYear(), last.getMonth(), last.getDate() - 7 * (TREND_WEEKS - 1 - i)));
}

// ---- numbers as words ---------------------------------------------------------------------

const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const secs = (v) => (v === null || v === undefined ? "—" : t("kpi_seconds", {s: v.toFixed(1)}));
const whole = (v) => `${Math.round(v * 100)}%`;

function groupLabel(g, by) {
  if (by === "grid") return K.gridName(g.key);
  if (by === "dispatcher") {
    if (g.key === null) return t("kpi_nobody");
    return g.name ?? (g.key.startsWith("admin:") ? t("kpi_admin") : g.key);
  }
  if (by === "shift") {
    const [day, which] = g.key.split(" ");
    return `${day.slice(5)} ${t(`kpi_${which}`)}`;
  }
  return g.key;
}

// ---- loading ------------------------------------------------------------------------------

async function load() {
  const span = periodOf(K.period);
  const mondays = trendMondays(span.until);
  const q = (by, since) => new URLSearchParams({by, since: since.toISOString(), until: span.until.toISOString()});
  K.state = "loading";
  render();
  try {
    const [data, weeks] = await Promise.all([
      K.api.get(`/api/kpis?${q(K.by, span.since)}`),
      K.api.get(`/api/kpis?${q("week", mondays[0])}`),
    ]);
    Object.assign(K, {span: {...span, mondays}, data, weeks, state: "ready", error: null});
  } catch (e) {
    Object.assign(K, {state: "failed", error: e.message});
  }
  render();
}

async function downloadReport() {
  const month = periodOf(K.period).month;
  try {
    const blob = await K.api.blob(`/api/kpis/report.pdf?month=${month}&lang=${lang()}`);
    const a = h("a", {href: URL.createObjectURL(blob), download: `kpi-report-${month}-${lang()}.pdf`});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    K.toast(t("failed", {msg: e.message}));
  }
}

// ---- drawing ------------------------------------------------------------------------------

function choices(kind, values, current, pick) {
  return h("div", {class: "kpi-choice", role: "group", "data-choice": kind},
    values.map((v) => h("button", {type: "button", "data-value": v, "aria-pressed": String(v === current),
      onclick: () => pick(v)}, t(`kpi_${kind}_${v}`))));
}

function controls() {
  const month = periodOf(K.period).month;
  return h("div", {class: "kpi-controls"},
    h("h2", {}, t("kpi_title")),
    choices("period", PERIODS, K.period, (v) => { K.period = v; load(); }),
    choices("by", GROUPINGS, K.by, (v) => { K.by = v; load(); }),
    h("button", {type: "button", id: "kpi-refresh", onclick: load}, t("kpi_refresh")),
    h("button", {type: "button", id: "kpi-report", class: "secondary", onclick: downloadReport},
      t("kpi_report", {month})));
}

function card(kind, label, value, target, met, raw) {
  const verdict = met === true ? t("kpi_met") : met === false ? t("kpi_missed") : "";
  return h("div", {class: `kpi-card ${met === true ? "met" : met === false ? "missed" : "info"}`,
    "data-kpi": kind, "data-value": raw === undefined ? null : JSON.stringify(raw)},
  h("div", {class: "kpi-card-label"}, label),
  h("div", {class: "kpi-card-value"}, value),
  h("div", {class: "kpi-card-target"}, target, verdict ? h("strong", {class: "kpi-verdict"}, ` ${verdict}`) : null));
}

/** The headline cards of one total (real alarms, or the drills). */
function cards(f, tg, prefix = "") {
  const answered = f.answer.within[String(tg.answer_s)];
  const processed = f.process.within[String(tg.process_s)];
  const p90met = f.answer.p90_s === null ? null : f.answer.p90_s <= tg.answer_s;
  const arrival = tg.arrival_s.map((s) => f.arrival.within[String(s)]);
  return [
    card(`${prefix}alarms`, t("kpi_alarms"), String(f.alarms),
      f.unacknowledged ? t("kpi_unacknowledged", {n: f.unacknowledged}) : t("kpi_all_answered"),
      f.alarms ? f.unacknowledged === 0 : null, f.alarms),
    card(`${prefix}answer_within`, t("kpi_answer_within", {s: tg.answer_s}), pct(answered),
      t("kpi_target_share", {share: whole(tg.answer_share)}), f.answer_met, answered),
    card(`${prefix}answer_times`, t("kpi_answer_times"), `${secs(f.answer.p50_s)} / ${secs(f.answer.p90_s)}`,
      t("kpi_target_p90", {s: tg.answer_s}), p90met, [f.answer.p50_s, f.answer.p90_s]),
    card(`${prefix}process_within`, t("kpi_process_within", {s: tg.process_s}), pct(processed),
      t("kpi_target_share", {share: whole(tg.process_share)}), f.process_met, processed),
    card(`${prefix}arrival`, t("kpi_arrival"), arrival.map((v) => (v === null ? "—" : whole(v))).join(" / "),
      t("kpi_circles"), null, arrival),
  ];
}

/** Time nobody had a console open while patrols were out (decision 51): the goal is none. */
function unwatchedCard(d) {
  const s = d.unwatched_s ?? 0;
  return card("unwatched", t("kpi_unwatched"), s > 0 ? duration(s) : t("kpi_unwatched_none"),
    t("kpi_unwatched_target"), s === 0, s);
}

function barsBox(d) {
  const tg = d.targets;
  const rows = d.real.groups.map((g) => {
    const share = g.answer.within[String(tg.answer_s)];
    return {key: g.key, label: groupLabel(g, d.by), share, text: `${pct(share)} · ${t("kpi_n", {n: g.alarms})}`};
  });
  const title = t("kpi_bars_title", {s: tg.answer_s, by: t(`kpi_by_${d.by}`)});
  const body = rows.length
    ? shareBars(rows, {target: tg.answer_share, targetText: t("kpi_target_line", {share: whole(tg.answer_share)}), label: title})
    : h("p", {class: "empty"}, t("kpi_no_alarms"));
  return h("section", {class: "kpi-box", id: "kpi-bars"}, h("h3", {}, title),
    h("p", {class: "hint"}, t("kpi_bars_hint", {share: whole(tg.answer_share)})), body);
}

function histogramBox(d) {
  const tg = d.targets, f = d.real.total;
  const buckets = f.answer_buckets.map((b) => ({
    label: b.to_s === null ? t("kpi_over", {s: b.from_s}) : `${b.from_s}-${b.to_s}`,
    count: b.count, good: b.to_s !== null && b.to_s <= tg.answer_s,
  }));
  const title = t("kpi_hist_title");
  return h("section", {class: "kpi-box", id: "kpi-hist"}, h("h3", {}, title),
    h("p", {class: "hint"}, t("kpi_hist_hint", {s: tg.answer_s})),
    histogram(buckets, {never: f.unacknowledged, neverLabel: t("kpi_never"),
      lineText: t("kpi_seconds", {s: tg.answer_s}), label: title}));
}

function trendBox(d, weeks, mondays) {
  const tg = d.targets;
  const byKey = new Map(weeks.real.groups.map((g) => [g.key, g]));
  const points = mondays.map((monday) => {
    const key = isoWeek(monday);
    const g = byKey.get(key);
    const label = `${monday.getMonth() + 1}/${monday.getDate()}`;
    const share = g ? g.answer.within[String(tg.answer_s)] : null;
    return {key, label, share, title: t("kpi_week_title", {label, key, share: pct(share), n: g ? g.alarms : 0})};
  });
  const title = t("kpi_trend_title", {s: tg.answer_s, n: TREND_WEEKS});
  return h("section", {class: "kpi-box", id: "kpi-trend"}, h("h3", {}, title),
    h("p", {class: "hint"}, t("kpi_trend_hint")),
    trend(points, {target: tg.answer_share, targetText: t("kpi_target_line", {share: whole(tg.answer_share)}), label: title}));
}

function drillsBox(d) {
  const f = d.drills.total;
  return h("section", {class: "kpi-box kpi-drills", id: "kpi-drills"},
    h("h3", {}, h("span", {class: "kpi-drill-flag"}, t("kpi_drill_flag")), " ", t("kpi_drills_title")),
    h("p", {class: "hint"}, t("kpi_drills_hint")),
    f.alarms ? h("div", {class: "kpi-cards small"}, cards(f, d.targets, "drill_")) : h("p", {class: "empty"}, t("kpi_no_drills")));
}

function periodText(span) {
  const day = (d) => d.toLocaleDateString(lang() === "zh" ? "zh-CN" : "en-GB");
  return t("kpi_period_text", {since: day(span.since), until: day(new Date(span.until.getTime() - 1))});
}

function render() {
  if (!K.box) return;
  const parts = [controls()];
  if (K.state === "failed") parts.push(h("p", {class: "error"}, t("failed", {msg: K.error})));
  if (K.data && K.weeks) {
    const d = K.data;
    parts.push(
      h("p", {class: "kpi-period", id: "kpi-period"}, periodText(K.span)),
      h("div", {class: "kpi-cards", id: "kpi-headline"}, cards(d.real.total, d.targets), unwatchedCard(d)),
      h("div", {class: "kpi-boxes"}, barsBox(d), histogramBox(d), trendBox(d, K.weeks, K.span.mondays), drillsBox(d)));
  } else if (K.state === "loading") {
    parts.push(h("p", {class: "empty"}, t("kpi_loading")));
  }
  K.box.replaceChildren(...parts);
  K.box.dataset.state = K.state;
  K.box.dataset.period = K.period;
  K.box.dataset.by = K.by;
  if (K.span) {
    K.box.dataset.since = K.span.since.toISOString();
    K.box.dataset.until = K.span.until.toISOString();
    K.box.dataset.trendSince = K.span.mondays[0].toISOString();
  }
}

// ---- what main.js calls -------------------------------------------------------------------

export function initKpi(box, {api, gridName, toast}) {
  Object.assign(K, {box, api, gridName, toast});
}

/** On opening the tab: fresh figures each time (a few reads of indexed rows). */
export function showKpi() {
  if (K.api && K.state !== "loading") load();
}

export function relabelKpi() {
  render();
}
