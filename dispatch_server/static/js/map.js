// The grid map: the grids from their GeoJSON, members on shift and incidents, drawn as SVG in
// Web Mercator (zoom-18 pixel units) so that an optional tile server's tiles line up under them.

import {t, name, lang} from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const Z = 18;
const WORLD = 256 * 2 ** Z;

function project(lon, lat) {
  const s = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * WORLD, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * WORLD];
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


export function memberState(m) {
  if (m.offline) return "offline";
  if (!m.fix) return "nofix";
  return m.fix.fresh ? "fresh" : "stale";
}

export class GridMap {
  constructor(svg, {grids, tileUrl, onSelect}) {
    this.svg = svg;
    this.grids = grids;
    this.tileUrl = tileUrl;
    this.onSelect = onSelect;
    this.members = [];
    this.incidents = [];
    this.selected = null;
    const xs = [], ys = [];
    for (const f of grids.features) {
      for (const ring of rings(f.geometry)) {
        for (const [lon, lat] of ring) { const [x, y] = project(lon, lat); xs.push(x); ys.push(y); }
      }
    }
    const pad = 0.04 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
    // Drawn relative to the top-left corner: zoom-18 world pixels (~5e7) lose precision in the
    // browser's single-precision SVG maths, and marks vanish.
    this.origin = [Math.min(...xs) - pad, Math.min(...ys) - pad];
    this.box = [0, 0, Math.max(...xs) - Math.min(...xs) + 2 * pad, Math.max(...ys) - Math.min(...ys) + 2 * pad];
    svg.setAttribute("viewBox", this.box.map((v) => v.toFixed(1)).join(" "));
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    new ResizeObserver(() => this.draw()).observe(svg);
  }

  /** (lon, lat) to this map's user units. */
  xy(lon, lat) {
    const [x, y] = project(lon, lat);
    return [x - this.origin[0], y - this.origin[1]];
  }

  pathData(geometry) {
    return rings(geometry)
      .map((ring) => "M" + ring.map(([lon, lat]) => this.xy(lon, lat).map((v) => v.toFixed(1)).join(",")).join("L") + "Z")
      .join("");
  }

  update({members, incidents, selected}) {
    if (members) this.members = members;
    if (incidents) this.incidents = incidents;
    if (selected !== undefined) this.selected = selected;
    this.draw();
  }

  /** User units per CSS pixel at the page's type size, so marks and labels grow with the
   * text on a wall screen and stay readable on a laptop. */
  unit() {
    const rect = this.svg.getBoundingClientRect();
    if (!rect.width || !rect.height) return 1;
    const type = parseFloat(getComputedStyle(document.documentElement).fontSize) / 18;
    return type * Math.max(this.box[2] / rect.width, this.box[3] / rect.height);
  }

  draw() {
    const u = this.unit();
    const svg = this.svg;
    // Tiles are drawn once and kept, so a redraw never asks the tile server again.
    if (this.tileUrl && !this.tiles) this.tiles = this.drawTiles();
    svg.replaceChildren(...(this.tiles ? [this.tiles] : []));
    const hot = new Set(this.incidents.filter((i) => i.status !== "resolved").map((i) => i.grid_id));
    const labels = el("g", {class: "labels"});
    for (const f of this.grids.features) {
      const cls = "grid" + (hot.has(f.id) ? " hot" : "");
      const path = el("path", {d: this.pathData(f.geometry), class: cls, "data-grid": f.id,
        "stroke-width": (2 * u).toFixed(1)}, svg);
      el("title", {}, path).textContent = `${f.id} ${f.properties.name_zh} / ${f.properties.name_en}`;
      const [x, y] = this.xy(...f.properties.label_point);
      const label = el("text", {x, y, class: "grid-label", "font-size": (15 * u).toFixed(1)}, labels);
      // A narrow map (the incident panel is open) has room for the grid ids only.
      const full = this.svg.getBoundingClientRect().width > 640;
      label.textContent = full ? `${f.id} ${lang() === "zh" ? f.properties.name_zh : f.properties.name_en}` : f.id;
    }
    svg.append(labels);
    this.drawMembers(u);
    this.drawIncidents(u);
  }

  drawTiles() {
    const [, , w, h] = this.box;
    const [x0, y0] = this.origin;
    const z = Math.max(1, Math.min(19, Math.round(Z - Math.log2(w / 1024))));
    const size = 256 * 2 ** (Z - z);
    const g = el("g", {class: "tiles"});
    for (let tx = Math.floor(x0 / size); tx * size < x0 + w; tx++) {
      for (let ty = Math.floor(y0 / size); ty * size < y0 + h; ty++) {
        const href = this.tileUrl.replace("{z}", z).replace("{x}", tx).replace("{y}", ty);
        const tile = el("image", {href, x: tx * size - x0, y: ty * size - y0, width: size, height: size}, g);
        // A tile server that is down must not litter the map with broken-image marks.
        tile.addEventListener("error", () => tile.setAttribute("visibility", "hidden"));
      }
    }
    return g;
  }

  drawMembers(u) {
    const g = el("g", {class: "members"}, this.svg);
    const waiting = {};
    for (const m of this.members) {
      if (!m.on_shift) continue;
      const state = memberState(m);
      let x, y;
      if (m.fix && state !== "nofix") {
        [x, y] = this.xy(m.fix.lon, m.fix.lat);
      } else {
        // No position to show: line them up under their grid's name.
        const f = this.grids.features.find((g) => g.id === m.grid_id);
        if (!f) continue;
        const n = (waiting[m.grid_id] = (waiting[m.grid_id] ?? 0) + 1);
        [x, y] = this.xy(...f.properties.label_point);
        x += (n - 2) * 16 * u;
        y += 16 * u;
      }
      const dot = el("circle", {cx: x, cy: y, r: (7 * u).toFixed(1), class: `member ${state}`,
        "stroke-width": (2.5 * u).toFixed(1), "data-member": m.member_id}, g);
      const age = m.fix ? Math.round((Date.now() - Date.parse(m.fix.at)) / 1000) : null;
      const where = age === null ? t("legend_nofix") : t("located_fix", {age});
      el("title", {}, dot).textContent = `${m.name} (${m.grid_id}) · ${where}`;
      if (state === "offline") {
        const d = 5 * u;
        el("path", {d: `M${x - d},${y - d}L${x + d},${y + d}M${x - d},${y + d}L${x + d},${y - d}`,
          class: "offline-cross", "stroke-width": (2.5 * u).toFixed(1)}, g);
      }
    }
  }

  drawIncidents(u) {
    const g = el("g", {class: "incidents"}, this.svg);
    for (const inc of this.incidents) {
      if (inc.status === "resolved" || inc.lon === null || inc.lat === null) continue;
      const [x, y] = this.xy(inc.lon, inc.lat);
      const open = inc.status === "open";
      const mark = el("g", {class: "incident" + (open ? " unacked" : "") +
        (inc.incident_id === this.selected ? " selected" : ""), "data-incident": inc.incident_id}, g);
      if (open) el("circle", {cx: x, cy: y, r: (16 * u).toFixed(1), class: "pulse-ring"}, mark);
      el("circle", {cx: x, cy: y, r: (13 * u).toFixed(1), class: "dot", "stroke-width": (3 * u).toFixed(1)}, mark);
      const bang = el("text", {x, y: y + 5.5 * u, "font-size": (17 * u).toFixed(1), class: "bang"}, mark);
      bang.textContent = "!";
      el("title", {}, mark).textContent = `#${inc.incident_id} ${name("category", inc.category)} · ${name("status", inc.status)}`;
      mark.addEventListener("click", () => this.onSelect(inc.incident_id));
    }
  }
}
