// The grid map: the grids from their GeoJSON, members on shift and incidents, drawn as SVG in
// Web Mercator so that an optional tile server's tiles line up under them.
//
// Everything is drawn in screen pixels from a view (a centre in zoom-18 world pixels and a
// scale), so marks and words keep their size at any zoom and can be placed so that none
// covers another (labels.js). Zoom with the big buttons, the wheel or a double click; drag to
// move; "fit all" goes back to the whole area, which is also what a resize keeps while the
// volunteer has not zoomed.

import {t, name, lang} from "./i18n.js";
import {categoryColour, categoryGlyph, categoryIcon} from "./categories.js";
import {gcjToWgs, wgsToGcj} from "./gcj02.js";
import {Taken, around, beside, box, inside, measure, overlap} from "./labels.js";

const SVG = "http://www.w3.org/2000/svg";
const Z = 18;
const WORLD = 256 * 2 ** Z;
const STEP = 1.6;  // one press of + or −
const MAX_SCALE = 4;  // zoom 20: a house fills the screen
const MAX_TILES = 120;

export function project(lon, lat) {
  const s = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * WORLD, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * WORLD];
}

export function unproject(x, y) {
  const n = Math.PI * (1 - (2 * y) / WORLD);
  return [(x / WORLD) * 360 - 180, (Math.atan(Math.sinh(n)) * 180) / Math.PI];
}

/** Great-circle metres between two WGS-84 points. */
export function metres(lon1, lat1, lon2, lat2) {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2
    + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
}

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

function rings(geometry) {
  if (geometry.type === "Polygon") return geometry.coordinates;
  if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
  return [];
}

const f1 = (v) => v.toFixed(1);

/** A name in `n` lines of about even length: at spaces where it has them (English), anywhere
 * between characters where it has none (Chinese). Null when it cannot be broken that far. */
export function breakName(words, n) {
  if (n === 1) return [words];
  const tokens = /\s/.test(words.trim()) ? words.trim().split(/\s+/) : [...words];
  if (tokens.length < n) return null;
  if (!/\s/.test(words.trim())) {
    if (words.length < 3 * n) return null;  // 桂花/苑 helps nobody
    // A Chinese place name mostly ends in what kind of place it is: 锦江酒店/街区.
    const kind = words.match(/(片区|街区|小区|社区|市场|公园|中心|花园|新村|大厦|广场)$/)?.[0];
    if (kind && words.length - kind.length >= 2) {
      const head = breakName(words.slice(0, -kind.length), n - 1);
      if (head) return [...head, kind];
    }
  }
  const joiner = /\s/.test(words.trim()) ? " " : "";
  const target = words.length / n;
  const lines = [];
  let line = [];
  for (const [i, tok] of tokens.entries()) {
    const left = tokens.length - i;  // tokens still to place, this one included
    if (line.length && (lines.length < n - 1) && ((line.join(joiner).length + tok.length / 2 > target) || left <= n - 1 - lines.length)) {
      lines.push(line.join(joiner));
      line = [];
    }
    line.push(tok);
  }
  lines.push(line.join(joiner));
  return lines.length === n ? lines : null;
}

export function memberState(m) {
  if (m.offline) return "offline";
  if (!m.fix) return "nofix";
  return m.fix.fresh ? "fresh" : "stale";
}

export class GridMap {
  constructor(svg, {grids, tileUrl, tileDatum = "wgs84", onSelect}) {
    this.svg = svg;
    this.grids = grids;
    this.tileUrl = tileUrl;
    this.tileDatum = tileDatum;
    this.onSelect = onSelect;
    this.members = [];
    this.incidents = [];
    this.selected = null;
    this.detail = null;
    this.view = null;
    this.fitted = true;  // follow the map's size with "fit all" until the volunteer zooms
    this.tileCache = new Map();
    this.draws = 0;
    this.setGrids(grids, false);
    this.tools = svg.parentElement?.querySelector(".map-tools") ?? null;
    this.listen();
    new ResizeObserver(() => this.schedule()).observe(svg);
  }

  /** The grids to draw: at start, and again when an administrator applies a new grid file
   * (the console socket's `grids_changed`). The view stays where the volunteer put it. */
  setGrids(grids, redraw = true) {
    this.grids = grids;
    this.shapes = grids.features.map((f) => {
      const world = rings(f.geometry).map((ring) => ring.map(([lon, lat]) => project(lon, lat)));
      const xs = world.flat().map((p) => p[0]), ys = world.flat().map((p) => p[1]);
      const bbox = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
      const lp = f.properties.label_point;
      const label = lp ? project(lp[0], lp[1]) : [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2];
      return {f, id: f.id, world, bbox, label};
    });
    const b = this.shapes.map((s) => s.bbox);
    this.bounds = [Math.min(...b.map((v) => v[0])), Math.min(...b.map((v) => v[1])),
      Math.max(...b.map((v) => v[2])), Math.max(...b.map((v) => v[3]))];
    if (redraw) this.schedule();
  }

  // ---- the view ------------------------------------------------------------------------------

  toScreen([x, y]) {
    const v = this.view;
    return [(x - v.cx) * v.s + this.size[0] / 2, (y - v.cy) * v.s + this.size[1] / 2];
  }

  toWorld([x, y]) {
    const v = this.view;
    return [(x - this.size[0] / 2) / v.s + v.cx, (y - this.size[1] / 2) / v.s + v.cy];
  }

  lonlat(lon, lat) {
    return this.toScreen(project(lon, lat));
  }

  /** The whole area (every grid, and any live incident outside them), with a margin. */
  fitView(w, h) {
    let [x0, y0, x1, y1] = this.bounds;
    for (const i of this.live()) {
      const [x, y] = project(i.lon, i.lat);
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
    const pad = 18 * this.type();
    // The zoom buttons stand along the right edge: the area is fitted beside them.
    const right = this.tools ? this.tools.getBoundingClientRect().width + 12 : pad;
    const s = Math.min((w - pad - right) / Math.max(x1 - x0, 1), (h - 2 * pad) / Math.max(y1 - y0, 1));
    const cx = (x0 + x1) / 2 + (right - pad) / 2 / Math.max(s, 1e-6);
    return {cx, cy: (y0 + y1) / 2, s: Math.max(s, 1e-6)};
  }

  scaleLimits() {
    const fit = this.fitView(...this.size).s;
    return [fit / 2, Math.max(MAX_SCALE, fit)];
  }

  zoomAt(factor, px, py) {
    if (!this.view) return;
    const [wx, wy] = this.toWorld([px, py]);
    const [lo, hi] = this.scaleLimits();
    const s = Math.min(hi, Math.max(lo, this.view.s * factor));
    this.view = {s, cx: wx - (px - this.size[0] / 2) / s, cy: wy - (py - this.size[1] / 2) / s};
    this.fitted = false;
    this.schedule();
  }

  fitAll() {
    this.fitted = true;
    this.schedule();
  }

  listen() {
    const svg = this.svg;
    const tool = (id, f) => this.tools?.querySelector(id)?.addEventListener("click", f);
    tool(".zoom-in", () => this.zoomAt(STEP, this.size[0] / 2, this.size[1] / 2));
    tool(".zoom-out", () => this.zoomAt(1 / STEP, this.size[0] / 2, this.size[1] / 2));
    tool(".zoom-fit", () => this.fitAll());
    const local = (e) => {
      const r = svg.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [x, y] = local(e);
      this.zoomAt(Math.exp(-Math.max(-300, Math.min(300, e.deltaY)) * 0.0025), x, y);
    }, {passive: false});
    svg.addEventListener("dblclick", (e) => {
      e.preventDefault();
      this.zoomAt(STEP, ...local(e));
    });
    svg.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || !this.view) return;
      this.drag = {x: e.clientX, y: e.clientY, cx: this.view.cx, cy: this.view.cy, id: e.pointerId, moved: false};
    });
    svg.addEventListener("pointermove", (e) => {
      const d = this.drag;
      if (!d || d.id !== e.pointerId) return;
      const dx = e.clientX - d.x, dy = e.clientY - d.y;
      if (!d.moved && Math.hypot(dx, dy) < 6) return;  // a click on a mark stays a click
      if (!d.moved) svg.setPointerCapture(e.pointerId);
      d.moved = true;
      this.view = {...this.view, cx: d.cx - dx / this.view.s, cy: d.cy - dy / this.view.s};
      this.fitted = false;
      svg.classList.add("dragging");
      this.schedule();
    });
    const end = (e) => {
      if (!this.drag || this.drag.id !== e.pointerId) return;
      if (this.drag.moved) {
        this.justDragged = true;
        setTimeout(() => { this.justDragged = false; }, 0);
      }
      this.drag = null;
      svg.classList.remove("dragging");
    };
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
  }

  schedule() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => { this.queued = false; this.draw(); });
  }

  update({members, incidents, selected, detail}) {
    if (members) this.members = members;
    if (incidents) this.incidents = incidents;
    if (detail !== undefined) this.detail = detail;
    if (selected !== undefined && selected !== this.selected) {
      this.selected = selected;
      this.reveal(selected);
    }
    this.draw();
  }

  /** A newly opened incident that is off the screen is brought to its middle. */
  reveal(id) {
    const inc = this.incidents.find((i) => i.incident_id === id);
    if (!inc || inc.lon === null || inc.lat === null || !this.view || this.fitted) return;
    const [x, y] = this.lonlat(inc.lon, inc.lat);
    if (x < 0 || y < 0 || x > this.size[0] || y > this.size[1]) {
      [this.view.cx, this.view.cy] = project(inc.lon, inc.lat);
    }
  }

  live() {
    return this.incidents.filter((i) => i.status !== "resolved" && i.lon !== null && i.lat !== null
      && i.lon !== undefined && i.lat !== undefined);
  }

  type() {
    return parseFloat(getComputedStyle(document.documentElement).fontSize) / 18;
  }

  // ---- drawing -------------------------------------------------------------------------------

  draw() {
    const w = this.svg.clientWidth, h = this.svg.clientHeight;
    if (!w || !h) return;
    this.size = [w, h];
    if (this.fitted || !this.view) this.view = this.fitView(w, h);
    const u = this.type();
    const family = getComputedStyle(this.svg).fontFamily;
    const svg = this.svg;
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const taken = new Taken(w, h);
    this.tools?.querySelectorAll("[data-t-title]").forEach((b) => {
      b.title = t(b.dataset.tTitle);
      b.setAttribute("aria-label", b.title);
    });
    // The zoom buttons float over the map's corner: nothing is written under them.
    let under = null;
    if (this.tools) {
      const r = this.tools.getBoundingClientRect(), me = svg.getBoundingClientRect();
      under = taken.add(box(r.left - me.left - 4, r.top - me.top - 4, r.width + 8, r.height + 8));
    }
    const text = (words, px, weight) => measure(words, px, weight, family);
    const layers = {};
    const root = [];
    for (const k of ["tiles", "grids", "links", "members", "labels", "incidents"]) {
      layers[k] = el("g", {class: k});
      root.push(layers[k]);
    }
    if (this.tileUrl) this.drawTiles(layers.tiles, w, h);
    const screen = this.drawGrids(layers.grids, u);

    // 1. Fixed marks first: the incidents (spread apart when they share a spot) and the
    //    members with a position. Words are then placed around them, never over them.
    const marks = this.placeIncidents(u, taken);
    const R = 8 * u;  // member dot
    const dots = new Map();
    for (const m of this.members) {
      if (!m.on_shift) continue;
      const state = memberState(m);
      if (state === "nofix") continue;
      const [x, y] = this.lonlat(m.fix.lon, m.fix.lat);
      dots.set(m.member_id, {m, state, x, y});
      taken.add(box(x - R - 2, y - R - 2, 2 * R + 4, 2 * R + 4));
    }
    // Members on shift with no position yet: a row just under their grid's label point.
    const waiting = new Map();
    for (const m of this.members) {
      if (m.on_shift && memberState(m) === "nofix") waiting.set(m.grid_id, [...(waiting.get(m.grid_id) ?? []), m]);
    }
    for (const [gridId, row] of waiting) {
      const sh = this.shapes.find((s) => s.id === gridId);
      if (!sh) continue;
      const [ax, ay] = this.toScreen(sh.label);
      row.forEach((m, i) => {
        const x = ax + (i - (row.length - 1) / 2) * 2.6 * R, y = ay + R + 8 * u;
        dots.set(m.member_id, {m, state: "nofix", x, y});
        taken.add(box(x - R - 2, y - R - 2, 2 * R + 4, 2 * R + 4));
      });
    }

    // 2. Each incident's number beside it: always shown.
    const tags = [];
    const tagPx = 16 * u;
    for (const mk of marks) {
      const words = `#${mk.inc.incident_id}`;
      const m = text(words, tagPx, 800);
      const [bw, bh] = [m.w + 12 * u, m.h + 2 * u];
      let spot = null;
      for (const b of beside(mk.x, mk.y, mk.r + 2 * u, bw, bh, 2)) {
        if (taken.fits(b)) { spot = b; break; }
      }
      // No free place: the one that covers least, never under the zoom buttons.
      spot ??= [...beside(mk.x, mk.y, mk.r + 2 * u, bw, bh, 2)]
        .filter((b) => taken.inView(b) && !(under && overlap(b, under)))
        .sort((a, b) => taken.covered(a) - taken.covered(b))[0]
        ?? box(mk.x + mk.r, mk.y - bh / 2, bw, bh);
      tags.push({mk, words, m, b: taken.add(spot)});
    }

    // 3. The open incident's suggested and dispatched responders: ringed, joined to it by a
    //    line, named with the distance beside the dot (or along the line when crowded there).
    const links = this.responderLinks(marks, dots);

    const names = [];
    const px = 15 * u;
    const label = (d, parts, spots) => {
      const ms = parts.map((p) => text(p.text, px, p.weight));
      const gap = parts.length > 1 ? text(" ", px, 600).w : 0;
      const bw = ms.reduce((sum, m) => sum + m.w, 0) + gap * (parts.length - 1) + 6 * u;
      const bh = Math.max(...ms.map((m) => m.h)) + 2;
      const b = spots(bw, bh).find((c) => taken.fits(c));
      if (b) names.push({d, parts, b: taken.add(b)});
    };
    const near = (d, ring) => (bw, bh) => [...beside(d.x, d.y, ring, bw, bh, 1)];
    const linked = new Set();
    for (const l of links) {
      const d = dots.get(l.memberId);
      linked.add(l.memberId);
      const parts = [{text: d.m.name, weight: 600, cls: "who"}];
      if (l.metres !== null) parts.push({text: t("meters", {m: Math.round(l.metres)}), weight: 800, cls: `distance ${l.kind}`});
      const along = (bw, bh) => [0.5, 0.65, 0.35, 0.8, 0.2]
        .map((at) => box(l.x1 + (l.x2 - l.x1) * at - bw / 2, l.y1 + (l.y2 - l.y1) * at - bh / 2, bw, bh));
      label(d, parts, (bw, bh) => [...near(d, R + 5 * u)(bw, bh), ...near(d, R + 5 * u + bh)(bw, bh), ...along(bw, bh)]);
    }

    // 4. Every grid's id, most important first; a grid whose id fits nowhere goes unlabelled
    //    at this zoom (its outline's tooltip still names it).
    const hot = new Set(this.live().map((i) => i.grid_id));
    // Size on screen is the world bounding box's, scaled: the same order at every zoom.
    const area = (sh) => (sh.bbox[2] - sh.bbox[0]) * (sh.bbox[3] - sh.bbox[1]);
    const order = [...this.shapes].sort((a, b) => (hot.has(b.id) - hot.has(a.id)) || area(b) - area(a));
    const idPx = 17 * u;
    const gridLabels = new Map();
    for (const sh of order) {
      const [ax, ay] = this.toScreen(sh.label);
      const m = text(sh.id, idPx, 700);
      const rs = screen.get(sh.id);
      for (const b of around(ax, ay, m.w + 6 * u, m.h + 2, 3)) {
        if (inside([b.x + b.w / 2, b.y + b.h / 2], rs) && taken.fits(b)) {
          gridLabels.set(sh.id, {sh, lines: [sh.id], px: idPx, b: taken.add(b)});
          break;
        }
      }
    }

    // 5. The grids' full names where there is room, then everyone else's name. What does not
    //    fit waits for a closer zoom.
    this.fullNames(order, gridLabels, screen, taken, text, idPx, u);
    for (const d of dots.values()) {
      if (!linked.has(d.m.member_id)) label(d, [{text: d.m.name, weight: 600, cls: "who"}], near(d, R + 1));
    }

    // Now draw, bottom to top.
    this.drawLinks(layers.links, links, u);
    this.drawMembers(layers.members, dots, links, R, u);
    this.drawWords(layers.labels, gridLabels, names, text);
    this.drawIncidents(layers.incidents, marks, tags, u);
    svg.replaceChildren(...root);
    this.drawLegend();
    this.draws += 1;
  }

  drawGrids(g, u) {
    const hot = new Set(this.live().map((i) => i.grid_id));
    const screen = new Map();
    for (const sh of this.shapes) {
      const rs = sh.world.map((ring) => ring.map((p) => this.toScreen(p)));
      screen.set(sh.id, rs);
      const d = rs.map((r) => "M" + r.map(([x, y]) => `${f1(x)},${f1(y)}`).join("L") + "Z").join("");
      const path = el("path", {d, class: "grid" + (hot.has(sh.id) ? " hot" : ""), "data-grid": sh.id,
        "stroke-width": f1(2 * u), "fill-rule": "evenodd"}, g);
      const p = sh.f.properties;
      el("title", {}, path).textContent = [sh.id, p.name_zh, p.name_en].filter(Boolean).join(" · ");
    }
    return screen;
  }

  /** The grid's own name beside its id, on one line or two, where it fits inside the grid. */
  fullNames(order, gridLabels, screen, taken, text, idPx, u) {
    const namePx = 16 * u;
    for (const sh of order) {
      const lab = gridLabels.get(sh.id);
      const p = sh.f.properties;
      const full = lang() === "zh" ? p.name_zh || p.name_en : p.name_en || p.name_zh;
      if (!lab || !full || full === sh.id) continue;
      const rs = screen.get(sh.id);
      const idM = text(sh.id, idPx, 700), nameM = text(full, namePx, 600), space = text(" ", namePx, 600);
      const variants = [{lines: [sh.id, full], w: idM.w + space.w + nameM.w, h: Math.max(idM.h, nameM.h), one: true}];
      // Then the id over the name, the name itself broken over up to three lines.
      for (let n = 1; n <= 3; n++) {
        const parts = breakName(full, n);
        if (!parts) break;
        const ms = parts.map((p) => text(p, namePx, 600));
        variants.push({lines: [sh.id, ...parts], w: Math.max(idM.w, ...ms.map((m) => m.w)),
          h: idM.h + ms.reduce((sum, m) => sum + m.h, 0), one: false});
      }
      const [ax, ay] = this.toScreen(sh.label);
      placing: for (const v of variants) {
        for (const b of around(ax, ay, v.w + 6 * u, v.h + 2, 3)) {
          const inset = (fx, fy) => [b.x + b.w * fx, b.y + b.h * fy];
          const within = [[0.5, 0.5], [0.04, 0.1], [0.96, 0.1], [0.04, 0.9], [0.96, 0.9], [0.5, 0.05], [0.5, 0.95]]
            .every(([fx, fy]) => inside(inset(fx, fy), rs));
          if (within && taken.fits(b, lab.b)) {
            taken.remove(lab.b);
            lab.b = taken.add(b);
            lab.lines = v.lines;
            lab.one = v.one;
            lab.namePx = namePx;
            break placing;
          }
        }
      }
    }
  }

  placeIncidents(u, taken) {
    const R = 15 * u;
    const rank = (i) => (i.incident_id === this.selected ? 0 : i.status === "open" ? 1 : 2);
    const live = this.live().sort((a, b) => rank(a) - rank(b) || a.incident_id - b.incident_id);
    const marks = [];
    const clear = (x, y) => marks.every((m) => Math.hypot(m.x - x, m.y - y) >= 2 * R + 4 * u);
    for (const inc of live) {
      const [px, py] = this.lonlat(inc.lon, inc.lat);
      if (px < -R || py < -R || px > this.size[0] + R || py > this.size[1] + R) continue;  // off the screen
      let [x, y] = [px, py];
      // Several alarms from one spot (one member pressing again) are fanned out around it,
      // each with a thin line back to where it was raised.
      search: for (let k = 1; !clear(x, y) && k <= 4; k++) {
        for (let a = 0; a < 8 * k; a++) {
          const angle = -Math.PI / 2 + (a * 2 * Math.PI) / (8 * k);
          const [qx, qy] = [px + Math.cos(angle) * k * 2.3 * R, py + Math.sin(angle) * k * 2.3 * R];
          if (clear(qx, qy)) { [x, y] = [qx, qy]; break search; }
        }
      }
      marks.push({inc, x, y, px, py, r: R});
      taken.add(box(x - R - 3 * u, y - R - 3 * u, 2 * R + 6 * u, 2 * R + 6 * u));
    }
    return marks;
  }

  responderLinks(marks, dots) {
    const d = this.detail;
    if (!d || d.incident_id !== this.selected || d.status === "resolved") return [];
    const mk = marks.find((m) => m.inc.incident_id === d.incident_id);
    if (!mk) return [];
    const ranked = d.suggested ?? d.responders ?? [];
    const called = new Map((d.assignments ?? []).map((a) => [a.member_id, a]));
    const ids = [...called.keys(), ...ranked.map((r) => r.member_id).filter((id) => !called.has(id))];
    const links = [];
    for (const id of ids) {
      const dot = dots.get(id);
      if (!dot) continue;
      const r = ranked.find((x) => x.member_id === id);
      const a = called.get(id);
      let far = r ? r.distance_m : null;
      if (far === null && dot.m.fix) far = metres(d.lon, d.lat, dot.m.fix.lon, dot.m.fix.lat);
      links.push({memberId: id, kind: a ? `dispatched reply-${a.reply}` : "suggested",
        x1: mk.x, y1: mk.y, x2: dot.x, y2: dot.y, metres: far});
    }
    return links;
  }

  drawLinks(g, links, u) {
    for (const l of links) {
      el("line", {x1: f1(l.x1), y1: f1(l.y1), x2: f1(l.x2), y2: f1(l.y2), class: `link ${l.kind}`,
        "data-member": l.memberId, "stroke-width": f1(3.5 * u),
        ...(l.kind === "suggested" ? {"stroke-dasharray": `${f1(9 * u)} ${f1(6 * u)}`} : {})}, g);
    }
  }

  drawMembers(g, dots, links, R, u) {
    const kinds = new Map(links.map((l) => [l.memberId, l.kind]));
    for (const {m, state, x, y} of dots.values()) {
      const kind = kinds.get(m.member_id);
      if (kind) {
        el("circle", {cx: f1(x), cy: f1(y), r: f1(R + 5 * u), class: `halo ${kind}`, "data-member": m.member_id,
          "stroke-width": f1(4 * u)}, g);
      }
      const dot = el("circle", {cx: f1(x), cy: f1(y), r: f1(R), class: `member ${state}`,
        "stroke-width": f1(2.5 * u), "data-member": m.member_id}, g);
      const age = m.fix ? Math.round((Date.now() - Date.parse(m.fix.at)) / 1000) : null;
      const where = age === null ? t("legend_nofix") : t("located_fix", {age});
      el("title", {}, dot).textContent = `${m.name} (${m.grid_id}) · ${where}`;
      if (state === "offline") {
        const d = 5 * u;
        el("path", {d: `M${f1(x - d)},${f1(y - d)}L${f1(x + d)},${f1(y + d)}M${f1(x - d)},${f1(y + d)}L${f1(x + d)},${f1(y - d)}`,
          class: "offline-cross", "stroke-width": f1(2.5 * u)}, g);
      }
    }
  }

  drawWords(g, gridLabels, names, text) {
    // parts: [{text, px, weight, cls}], on one line (`one`) or one under another.
    const write = (b, cls, parts, one, attrs = {}) => {
      const node = el("text", {class: cls, ...attrs}, g);
      const ms = parts.map((p) => text(p.text, p.px, p.weight));
      if (one) {
        const gap = parts.length > 1 ? text(" ", parts[1].px, parts[1].weight).w : 0;
        const width = ms.reduce((sum, m) => sum + m.w, 0) + gap * (parts.length - 1);
        node.setAttribute("x", f1(b.x + (b.w - width) / 2));
        node.setAttribute("y", f1(b.y + 1 + Math.max(...ms.map((m) => m.asc))));
        parts.forEach((p, i) => {
          const span = el("tspan", {"font-size": f1(p.px), "font-weight": p.weight, class: p.cls}, node);
          span.textContent = i ? ` ${p.text}` : p.text;
        });
        return node;
      }
      let y = b.y + 1;
      parts.forEach((p, i) => {
        y += ms[i].asc;
        const span = el("tspan", {x: f1(b.x + (b.w - ms[i].w) / 2), y: f1(y), "font-size": f1(p.px),
          "font-weight": p.weight, class: p.cls}, node);
        span.textContent = p.text;
        y += ms[i].desc;
      });
      return node;
    };
    for (const lab of gridLabels.values()) {
      const full = lab.lines.length > 1;
      const parts = lab.lines.map((line, i) => (i ? {text: line, px: lab.namePx, weight: 600, cls: "name"}
        : {text: line, px: lab.px, weight: 700, cls: "id"}));
      write(lab.b, "grid-label" + (full ? " full" : " short"), parts, !full || lab.one, {"data-grid": lab.sh.id});
    }
    const px = 15 * this.type();
    for (const n of names) {
      write(n.b, "member-name", n.parts.map((p) => ({...p, px})), true, {"data-member": n.d.m.member_id});
    }
  }

  drawIncidents(g, marks, tags, u) {
    const tagOf = new Map(tags.map((tg) => [tg.mk, tg]));
    for (const mk of marks) {
      const {inc, x, y, px, py, r} = mk;
      const open = inc.status === "open";
      const mark = el("g", {class: "incident" + (open ? " unacked" : "") + (inc.incident_id === this.selected ? " selected" : ""),
        "data-incident": inc.incident_id, "data-category": inc.category ?? "unknown", "data-status": inc.status}, g);
      if (x !== px || y !== py) {
        el("line", {x1: f1(px), y1: f1(py), x2: f1(x), y2: f1(y), class: "leader", "stroke-width": f1(2 * u)}, mark);
        el("circle", {cx: f1(px), cy: f1(py), r: f1(3.5 * u), class: "spot"}, mark);
      }
      if (open) el("circle", {cx: f1(x), cy: f1(y), r: f1(r + 2 * u), class: "pulse-ring"}, mark);
      if (inc.incident_id === this.selected) {
        el("circle", {cx: f1(x), cy: f1(y), r: f1(r + 5 * u), class: "ring", "stroke-width": f1(4 * u)}, mark);
      }
      el("circle", {cx: f1(x), cy: f1(y), r: f1(r), class: "dot", "stroke-width": f1(3 * u),
        style: `fill: ${categoryColour(inc.category)}`}, mark);
      mark.append(categoryGlyph(inc.category, x, y, r * 1.35));
      const tg = tagOf.get(mk);
      if (tg) {
        const tag = el("g", {class: "inc-tag"}, mark);
        el("rect", {x: f1(tg.b.x), y: f1(tg.b.y), width: f1(tg.b.w), height: f1(tg.b.h), rx: f1(5 * u)}, tag);
        const words = el("text", {x: f1(tg.b.x + tg.b.w / 2), y: f1(tg.b.y + 1 * u + tg.m.asc), "font-size": f1(16 * u)}, tag);
        words.textContent = tg.words;
      }
      el("title", {}, mark).textContent = `#${inc.incident_id} ${name("category", inc.category)} · ${name("status", inc.status)}`;
      mark.addEventListener("click", () => { if (!this.justDragged) this.onSelect(inc.incident_id); });
    }
  }

  drawTiles(g, w, h) {
    const z = Math.max(1, Math.min(19, Math.round(Z + Math.log2(this.view.s))));
    const size = 256 * 2 ** (Z - z);  // one tile, in zoom-18 world pixels
    const gcj = this.tileDatum === "gcj02";
    // Tiles in GCJ-02 show a place where its GCJ-02 coordinates fall: each tile's corners are
    // taken back to WGS-84, where the grids and fixes are drawn.
    const toTiles = (lon, lat) => (gcj ? wgsToGcj(lon, lat) : [lon, lat]);
    const fromTiles = (lon, lat) => (gcj ? gcjToWgs(lon, lat) : [lon, lat]);
    const corners = [[0, 0], [w, 0], [0, h], [w, h]].map((p) => project(...toTiles(...unproject(...this.toWorld(p)))));
    const tx0 = Math.floor(Math.min(...corners.map((c) => c[0])) / size);
    const tx1 = Math.floor(Math.max(...corners.map((c) => c[0])) / size);
    const ty0 = Math.floor(Math.min(...corners.map((c) => c[1])) / size);
    const ty1 = Math.floor(Math.max(...corners.map((c) => c[1])) / size);
    const at = (tx, ty) => this.toScreen(project(...fromTiles(...unproject(tx * size, ty * size))));
    let n = 0;
    const keep = new Map();
    for (let tx = tx0; tx <= tx1; tx++) {
      for (let ty = ty0; ty <= ty1 && n < MAX_TILES; ty++, n++) {
        const href = this.tileUrl.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
        const [x0, y0] = at(tx, ty), [x1, y1] = at(tx + 1, ty + 1);
        // Kept between redraws, so moving the map never asks the tile server twice.
        let tile = this.tileCache.get(href);
        if (!tile) {
          tile = el("image", {href, preserveAspectRatio: "none"});
          // A tile server that is down must not litter the map with broken-image marks.
          tile.addEventListener("error", () => tile.setAttribute("visibility", "hidden"));
        }
        tile.setAttribute("x", f1(x0));
        tile.setAttribute("y", f1(y0));
        tile.setAttribute("width", f1(x1 - x0 + 0.5));
        tile.setAttribute("height", f1(y1 - y0 + 0.5));
        tile.dataset.tile = `${z}/${tx}/${ty}`;
        keep.set(href, tile);
        g.append(tile);
      }
    }
    for (const [href, tile] of this.tileCache) if (keep.size < 400 && !keep.has(href)) keep.set(href, tile);
    this.tileCache = keep;
  }

  /** The categories now on the map, with their colour and symbol, under the map. */
  drawLegend() {
    const box = document.getElementById("legend-cats");
    if (!box) return;
    const cats = [...new Set(this.live().map((i) => i.category ?? "unknown"))].sort();
    const key = cats.join(",") + lang();
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren(...cats.map((c) => {
      const li = document.createElement("li");
      li.append(categoryIcon(c), document.createTextNode(name("category", c)));
      return li;
    }));
    box.hidden = cats.length === 0;
  }
}
