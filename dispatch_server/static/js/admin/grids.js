// Grid files: upload one, see it drawn over the current map with each fault written beside
// its feature, then apply it. The server checks; this page only draws what it says.

import {busy, errorText, h, toast} from "./ui.js";
import {fault, lang, t} from "./words.js";

const SVG = "http://www.w3.org/2000/svg";

export async function render(box, app) {
  const picker = h("input", {type: "file", id: "grid-file", accept: ".geojson,.json,application/geo+json,application/json"});
  const status = h("p", {id: "grid-status", role: "status"});
  const result = h("div", {id: "grid-report"});
  picker.addEventListener("change", () => upload(app, picker, status, result));
  box.replaceChildren(h("h2", {}, t("grids_title")), h("p", {class: "explain"}, t("grids_explain")),
    h("label", {class: "upload"}, h("span", {class: "button-like"}, t("upload")), picker), status, result);
  drawMap(result, app.grids, null);
}

async function upload(app, picker, status, result) {
  const file = picker.files?.[0];
  if (!file) return;
  let body;
  try { body = JSON.parse(await file.text()); } catch (err) {
    status.textContent = t("not_json", {why: String(err.message ?? err)});
    status.className = "error";
    return;
  }
  status.textContent = t("checking");
  status.className = "";
  let report;
  try { report = await app.api.post("/api/grids/check", body); } catch (err) {
    status.textContent = t("failed", {why: errorText(err)});
    status.className = "error";
    return;
  }
  picker.value = "";
  showReport(app, body, report, status, result);
}

function faultCount(report) {
  return report.file_errors.length + report.features.reduce((n, f) => n + f.errors.length, 0)
    + report.removed.reduce((n, r) => n + r.blockers.length, 0);
}

function showReport(app, body, report, status, result) {
  status.textContent = report.ok ? t("check_ok") : t("check_bad", {n: faultCount(report)});
  status.className = report.ok ? "ok" : "error";
  const apply = h("button", {type: "button", class: "primary huge", id: "apply-grids", disabled: !report.ok}, t("apply"));
  apply.addEventListener("click", async () => {
    const done = await busy(apply, () => app.api.put("/api/grids", body), status);
    if (!done) return;
    await app.reloadGrids();
    toast(t("applied", {n: done.grid_set_id}));
    status.textContent = t("applied", {n: done.grid_set_id});
    status.className = "ok";
    apply.remove();
    drawMap(result, app.grids, null);
  });
  drawMap(result, app.grids, report);
  result.append(faultList(report), apply);
}

/** The fault list: file problems, then each feature with its faults, then removed grids. */
function faultList(report) {
  const items = [];
  for (const e of report.file_errors) items.push(h("li", {class: "fault file"}, `${t("file_problem")}: ${fault(e)}`));
  for (const f of report.features) {
    if (f.errors.length === 0) continue;
    items.push(h("li", {class: "fault", "data-index": String(f.index)},
      h("strong", {}, `${f.index + 1}. ${featureLabel(f)}`),
      h("ul", {}, f.errors.map((e) => h("li", {}, fault(e))))));
  }
  for (const r of report.removed) {
    items.push(h("li", {class: r.blockers.length ? "fault removed" : "removed", "data-removed": r.grid_id},
      h("strong", {}, `${r.grid_id} ${(lang() === "zh" ? r.name_zh : r.name_en) ?? ""}: ${t("removed")}`),
      r.blockers.length ? h("div", {}, t("blocked_by")) : null,
      h("ul", {}, r.blockers.map((b) => h("li", {}, fault(b))))));
  }
  const summary = h("p", {class: "summary"}, [
    [t("added"), report.added], [t("changed"), report.changed], [t("unchanged"), report.unchanged],
  ].map(([w, ids]) => h("span", {class: "tag"}, `${w}: ${ids.length ? ids.join(", ") : "—"}`)));
  return h("div", {class: "faults"}, summary, h("ol", {class: "fault-list", id: "fault-list"}, items));
}

function featureLabel(f) {
  const name = lang() === "zh" ? f.name_zh : f.name_en;
  return [f.grid_id ?? t("feature_n", {n: f.index + 1}), name].filter(Boolean).join(" ");
}

// ---- drawing ------------------------------------------------------------------------------

function rings(geometry) {
  if (!geometry || !Array.isArray(geometry.coordinates)) return [];
  const polys = geometry.type === "MultiPolygon" ? geometry.coordinates : geometry.type === "Polygon" ? [geometry.coordinates] : [];
  return polys.flatMap((p) => (Array.isArray(p) ? p : [])).filter((ring) => Array.isArray(ring) &&
    ring.every((pt) => Array.isArray(pt) && Number.isFinite(pt[0]) && Number.isFinite(pt[1])));
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Current grids in grey; the upload's features coloured by what the check said of them. */
function drawMap(result, current, report) {
  const shapes = [];
  const status = new Map();
  if (report) {
    for (const id of report.added) status.set(id, "added");
    for (const id of report.changed) status.set(id, "changed");
    for (const r of report.removed) status.set(r.grid_id, "removed");
  }
  for (const f of current?.features ?? []) {
    const s = status.get(f.id) === "removed" ? "removed" : "current";
    shapes.push({rings: rings(f.geometry), cls: s, label: report ? null : f.id});
  }
  for (const f of report?.features ?? []) {
    const cls = f.errors.length ? "bad" : status.get(f.grid_id) ?? "same";
    shapes.push({rings: rings(f.geometry), cls, label: f.grid_id ?? t("feature_n", {n: f.index + 1}),
      faults: f.errors.map(fault), index: f.index});
  }
  const pts = shapes.flatMap((s) => s.rings.flat());
  result.replaceChildren();
  if (pts.length === 0) return;
  const lat0 = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xy = (p) => [p[0] * k, -p[1]];
  const xs = pts.map((p) => xy(p)[0]), ys = pts.map((p) => xy(p)[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = Math.max(x1 - x0, y1 - y0) * 0.08 || 0.001;
  const map = svg("svg", {id: "grid-map", viewBox: `${x0 - pad} ${y0 - pad} ${x1 - x0 + 2 * pad} ${y1 - y0 + 2 * pad}`,
    role: "img", "aria-label": report ? t("new_map") : t("current_map")});
  const unit = (Math.max(x1 - x0, y1 - y0) + 2 * pad) / 60;  // font size: 1/60 of the view
  for (const s of shapes) {
    if (s.rings.length === 0) continue;
    const d = s.rings.map((ring) => `M${ring.map((p) => xy(p).join(",")).join("L")}Z`).join("");
    const g = svg("g", {class: `shape ${s.cls}`, "data-index": s.index ?? null});
    g.append(svg("path", {d, "fill-rule": "evenodd", "vector-effect": "non-scaling-stroke"}));
    const ring = s.rings[0].map(xy);
    const cx = ring.reduce((a, p) => a + p[0], 0) / ring.length, cy = ring.reduce((a, p) => a + p[1], 0) / ring.length;
    const bottom = Math.max(...s.rings.flat().map((p) => xy(p)[1]));
    if (s.label) g.append(svg("text", {x: cx, y: cy, "font-size": unit * 1.4, class: "label"}, s.label));
    // The faults go just under the feature, on a white halo, so they read over the map.
    (s.faults ?? []).forEach((words, i) =>
      g.append(svg("text", {x: cx, y: bottom + unit * 1.5 * (i + 1), "font-size": unit, class: "fault-text"}, `✖ ${words}`)));
    map.append(g);
  }
  result.append(map);
}
