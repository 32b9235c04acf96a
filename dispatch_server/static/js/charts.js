// The KPI tab's charts as SVG made here: no chart library, nothing fetched from elsewhere.
// Each function takes plain numbers and words and returns an <svg> that scales to its box
// (a viewBox), with text large enough to read from a chair: the duty volunteers are often
// elderly. Marks carry data-* attributes with the numbers they show, for the browser tests
// and for anyone inspecting the page.

const SVG = "http://www.w3.org/2000/svg";
const FONT = 20;

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

/** About how wide a text is drawn, in viewBox units: CJK characters are square, others narrow. */
function textWidth(text) {
  return [...text].reduce((sum, ch) => sum + (ch.codePointAt(0) >= 0x2e80 ? 1 : 0.6), 0) * FONT;
}

/**
 * The label cut to fit `width` with "…"; a closing "(G03)" or "（G03）" is kept whole, since
 * the grid's id is what tells two long names apart.
 */
export function fitLabel(text, width) {
  if (textWidth(text) <= width) return text;
  const [, head, tail] = /^(.*?)(\s*[(（][^()（）]*[)）])?$/u.exec(text);
  let cut = head;
  while (cut && textWidth(`${cut}…${tail ?? ""}`) > width) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…${tail ?? ""}`;
}

function frame(width, height, label) {
  return s("svg", {viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label,
    class: "kpi-chart", "font-size": FONT});
}

/**
 * One horizontal bar per group: `rows` are {key, label, share (0..1 or null), text}; green
 * when the share reaches `target`, red when not; a dashed line at the target across them.
 */
export function shareBars(rows, {target, targetText, label}) {
  const rowH = 42, labelW = 380, valueW = 190, width = 1100, top = 10, axis = 32;
  const plotW = width - labelW - valueW;
  const height = top + rows.length * rowH + axis;
  const svg = frame(width, height, label);
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelW + tick * plotW;
    svg.append(s("line", {x1: x, x2: x, y1: top, y2: height - axis, class: "kpi-grid-line"}),
      s("text", {x, y: height - 8, "text-anchor": "middle", class: "kpi-axis"}, `${tick * 100}%`));
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const met = r.share !== null && r.share >= target;
    svg.append(s("text", {x: labelW - 10, y: y + rowH / 2 + 6, "text-anchor": "end", class: "kpi-label"},
      fitLabel(r.label, labelW - 16), s("title", {}, r.label)));
    if (r.share !== null) {
      svg.append(s("rect", {x: labelW, y: y + 7, width: Math.max(2, r.share * plotW), height: rowH - 14,
        class: `kpi-bar ${met ? "met" : "missed"}`, "data-key": r.key ?? "", "data-share": r.share}));
    }
    svg.append(s("text", {x: labelW + plotW + 10, y: y + rowH / 2 + 6, class: "kpi-value-text"}, r.text));
  });
  const tx = labelW + target * plotW;
  svg.append(s("line", {x1: tx, x2: tx, y1: top - 6, y2: height - axis + 4, class: "kpi-target", "data-share": target}),
    s("title", {}, targetText));
  return svg;
}

/**
 * Answer times as columns: `buckets` are {label, count, good} (good: within the target time),
 * then one grey column for the alarms never answered; a dashed line after the last good
 * bucket, labelled with the target time.
 */
export function histogram(buckets, {never, neverLabel, lineText, label}) {
  const cols = [...buckets.map((b) => ({...b, kind: b.good ? "good" : "late"})),
    {label: neverLabel, count: never, kind: "never"}];
  const width = 760, height = 330, left = 50, bottom = 60, top = 34;
  const colW = (width - left - 10) / cols.length;
  const max = Math.max(1, ...cols.map((c) => c.count));
  const plotH = height - top - bottom;
  const svg = frame(width, height, label);
  svg.append(s("line", {x1: left, x2: width - 10, y1: height - bottom, y2: height - bottom, class: "kpi-axis-line"}));
  cols.forEach((c, i) => {
    const h = (c.count / max) * plotH;
    const x = left + i * colW;
    svg.append(
      s("rect", {x: x + 8, y: height - bottom - h, width: colW - 16, height: Math.max(h, c.count ? 2 : 0),
        class: `kpi-hist-bar ${c.kind}`, "data-count": c.count, "data-label": c.label}),
      s("text", {x: x + colW / 2, y: height - bottom - h - 8, "text-anchor": "middle", class: "kpi-value-text"}, String(c.count)),
      s("text", {x: x + colW / 2, y: height - bottom + 26, "text-anchor": "middle", class: "kpi-label"}, c.label));
  });
  const good = buckets.filter((b) => b.good).length;
  const lx = left + good * colW;
  svg.append(s("line", {x1: lx, x2: lx, y1: top - 14, y2: height - bottom + 6, class: "kpi-target kpi-hist-line"}),
    s("text", {x: lx + 6, y: top - 16 + FONT, class: "kpi-target-text"}, lineText));
  return svg;
}

/**
 * A line over the weeks: `points` are {key, label, share (or null: no alarms that week)};
 * dots green or red against the dashed target line.
 */
export function trend(points, {target, targetText, label}) {
  const width = 760, height = 320, left = 64, right = 36, top = 20, bottom = 56;
  const plotW = width - left - right, plotH = height - top - bottom;
  const svg = frame(width, height, label);
  const y = (share) => top + (1 - share) * plotH;
  for (const tick of [0, 0.5, 1]) {
    svg.append(s("line", {x1: left, x2: width - right, y1: y(tick), y2: y(tick), class: "kpi-grid-line"}),
      s("text", {x: left - 8, y: y(tick) + 6, "text-anchor": "end", class: "kpi-axis"}, `${tick * 100}%`));
  }
  svg.append(s("line", {x1: left, x2: width - right, y1: y(target), y2: y(target), class: "kpi-target", "data-share": target}),
    s("text", {x: width - right, y: y(target) - 8, "text-anchor": "end", class: "kpi-target-text"}, targetText));
  const step = points.length > 1 ? plotW / (points.length - 1) : 0;
  const x = (i) => (points.length > 1 ? left + i * step : left + plotW / 2);
  const known = points.map((p, i) => [p, i]).filter(([p]) => p.share !== null);
  if (known.length > 1) {
    svg.append(s("polyline", {points: known.map(([p, i]) => `${x(i)},${y(p.share)}`).join(" "), class: "kpi-trend-line"}));
  }
  const every = Math.max(1, Math.ceil(points.length / 8));  // at most eight labels under the axis
  points.forEach((p, i) => {
    if (p.share !== null) {
      svg.append(s("circle", {cx: x(i), cy: y(p.share), r: 7, class: `kpi-trend-point ${p.share >= target ? "met" : "missed"}`,
        "data-key": p.key, "data-share": p.share}, s("title", {}, p.title ?? p.label)));
    }
    if ((points.length - 1 - i) % every === 0) {  // counted from the last week, always labelled
      svg.append(s("text", {x: x(i), y: height - bottom + 28, "text-anchor": "middle", class: "kpi-label"}, p.label));
    }
  });
  return svg;
}
