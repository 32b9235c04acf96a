// A small map with no tiles (a phone in the street may have no map server): the incident,
// the member's own position and, when it is the member's own grid, its outline, drawn to
// scale in SVG with north up and a scale bar.

const SVG = "http://www.w3.org/2000/svg";
const W = 320;
const H = 200;
const PAD = 24;
const M_PER_DEG = 111_320;

function el(name, attrs) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Metres east and north of `origin` (fine over a few kilometres). */
function local(origin, lon, lat) {
  const x = (lon - origin.lon) * M_PER_DEG * Math.cos((origin.lat * Math.PI) / 180);
  const y = (lat - origin.lat) * M_PER_DEG;
  return [x, y];
}

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates[0]];
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((p) => p[0]);
  return [];
}

function niceScale(metres) {
  for (const step of [10, 20, 50, 100, 200, 500, 1000, 2000, 5000]) if (step >= metres) return step;
  return 10_000;
}

/** Draw into `svg`: `incident` {lon, lat}, `me` {lon, lat} or null, `grid` GeoJSON or null. */
export function drawMinimap(svg, {incident, me, grid}) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const origin = incident;
  const points = [[0, 0]];
  if (me) points.push(local(origin, me.lon, me.lat));
  const outline = rings(grid).map((ring) => ring.map(([lon, lat]) => local(origin, lon, lat)));
  for (const ring of outline) points.push(...ring);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 100);
  const scale = Math.min((W - 2 * PAD) / span, (H - 2 * PAD) / span);
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2;
  const cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  const at = ([x, y]) => [W / 2 + (x - cx) * scale, H / 2 - (y - cy) * scale];

  svg.append(el("rect", {x: 0, y: 0, width: W, height: H, fill: "#eef2f5"}));
  for (const ring of outline) {
    const d = ring.map((p, i) => `${i ? "L" : "M"}${at(p).map((v) => v.toFixed(1)).join(" ")}`).join("") + "Z";
    svg.append(el("path", {d, fill: "#dbe7f3", stroke: "#52708f", "stroke-width": 2}));
  }
  if (me) {
    const [mx, my] = at(local(origin, me.lon, me.lat));
    const [ix, iy] = at([0, 0]);
    svg.append(el("line", {x1: mx, y1: my, x2: ix, y2: iy, stroke: "#1c64d1", "stroke-width": 2, "stroke-dasharray": "6 5"}));
    svg.append(el("circle", {cx: mx, cy: my, r: 9, fill: "#1c64d1", stroke: "#fff", "stroke-width": 3, "data-what": "me"}));
  }
  const [ix, iy] = at([0, 0]);
  svg.append(el("circle", {cx: ix, cy: iy, r: 12, fill: "#d00000", stroke: "#fff", "stroke-width": 3, "data-what": "incident"}));
  const bar = niceScale(span / 4);
  const px = bar * scale;
  svg.append(el("path", {d: `M10 ${H - 12}h${px.toFixed(1)}`, stroke: "#222", "stroke-width": 3}));
  const label = el("text", {x: 10, y: H - 18, "font-size": 14, fill: "#222"});
  label.textContent = bar >= 1000 ? `${bar / 1000} km` : `${bar} m`;
  svg.append(label);
  const north = el("text", {x: W - 8, y: 22, "font-size": 16, "font-weight": 700, fill: "#222", "text-anchor": "end"});
  north.textContent = "N↑";
  svg.append(north);
}

/** Metres between two points (haversine). */
export function distanceM(a, b) {
  const r = 6_371_000;
  const rad = (d) => (d * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(h));
}
