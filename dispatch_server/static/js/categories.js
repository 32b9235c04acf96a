// What an alarm is about, told by colour and a drawn symbol: the one table the queue card,
// the panel heading and the map marker all draw from, so a fire looks like a fire everywhere.
//
// Symbols are plain SVG paths in a 24×24 box, white on the category's colour: no icon font,
// no emoji (a duty PC may have no colour-emoji font), nothing from the internet.

const SVG = "http://www.w3.org/2000/svg";

// `fill` parts are filled (even-odd, so holes can be cut); `stroke` parts are drawn as lines.
export const CATEGORIES = {
  fire: {colour: "#d9480f", fill: [
    "M12 2.2c.9 3.4 5.8 5.9 5.8 11.3a5.8 5.8 0 0 1-11.6 0c0-2.9 1.5-4.7 2.9-6.1.2 2 .9 3.2 2 3.9C10.8 8.7 10.9 5.4 12 2.2z",
  ]},
  medical: {colour: "#1c64d1", fill: ["M9.4 3.5h5.2v5.9h5.9v5.2h-5.9v5.9H9.4v-5.9H3.5V9.4h5.9z"]},
  violence: {colour: "#7b2cbf", fill: ["M14 1.8 4.6 13.6h5.8L8.9 22.2l10.5-12.6h-6z"]},
  theft: {colour: "#8d5a00", fill: [
    "M8 8.2V6.8a4 4 0 0 1 8 0v1.4h3.3l1.2 12.6h-17l1.2-12.6zm2.2 0h3.6V6.8a1.8 1.8 0 0 0-3.6 0z",
  ]},
  dispute: {colour: "#c2185b", fill: [
    "M2.2 3.2h11.6v8.2H7.4l-3.2 3.1v-3.1h-2z",
    "M15.6 7.6h6.2v8.4h-2v3.1l-3.1-3.1h-6.1v-2.9h5z",
  ]},
  disorder: {colour: "#b7791f", fill: ["M2.8 9h4.4l9.8-5.6v17.2L7.2 15H2.8z", "M7.6 16.2h3l1.6 5.2H9.1z",
    "M18.6 8.2h2.6v7.6h-2.6z"]},
  suspicious: {colour: "#3f5163", fill: [
    "M12 5C6.2 5 2 12 2 12s4.2 7 10 7 10-7 10-7-4.2-7-10-7zm0 2.6a4.4 4.4 0 1 1 0 8.8 4.4 4.4 0 0 1 0-8.8zm0 2.2a2.2 2.2 0 1 0 0 4.4 2.2 2.2 0 0 0 0-4.4z",
  ]},
  other: {colour: "#6b7280", fill: [
    "M5.5 9.6a2.4 2.4 0 1 0 0 4.8 2.4 2.4 0 0 0 0-4.8zm6.5 0a2.4 2.4 0 1 0 0 4.8 2.4 2.4 0 0 0 0-4.8zm6.5 0a2.4 2.4 0 1 0 0 4.8 2.4 2.4 0 0 0 0-4.8z",
  ]},
  unknown: {colour: "#2b2f36", stroke: ["M8.6 9.2a3.5 3.5 0 1 1 5.1 3.1c-1.1.6-1.7 1.3-1.7 2.6v.8"],
    fill: ["M12 17.6a1.7 1.7 0 1 0 0 3.4 1.7 1.7 0 0 0 0-3.4z"]},
};

/** The category's entry; anything the table does not know is drawn as `unknown`. */
export function category(key) {
  return CATEGORIES[key] ?? CATEGORIES.unknown;
}

export function categoryColour(key) {
  return category(key).colour;
}

function glyphParts(key, parent) {
  const c = category(key);
  for (const d of c.fill ?? []) {
    const p = document.createElementNS(SVG, "path");
    p.setAttribute("d", d);
    p.setAttribute("fill", "#fff");
    p.setAttribute("fill-rule", "evenodd");
    parent.append(p);
  }
  for (const d of c.stroke ?? []) {
    const p = document.createElementNS(SVG, "path");
    p.setAttribute("d", d);
    p.setAttribute("fill", "none");
    p.setAttribute("stroke", "#fff");
    p.setAttribute("stroke-width", "2.8");
    p.setAttribute("stroke-linecap", "round");
    parent.append(p);
  }
  return parent;
}

/** For HTML (queue card, panel heading): a round badge in the category's colour. */
export function categoryIcon(key) {
  const badge = document.createElement("span");
  badge.className = "cat-icon";
  badge.dataset.category = CATEGORIES[key] ? key : "unknown";
  badge.style.backgroundColor = categoryColour(key);
  badge.setAttribute("aria-hidden", "true");
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  badge.append(glyphParts(key, svg));
  return badge;
}

/** For the map: the symbol alone, `size` px square, centred on (x, y). */
export function categoryGlyph(key, x, y, size) {
  const g = document.createElementNS(SVG, "g");
  const k = size / 24;
  g.setAttribute("transform", `translate(${(x - size / 2).toFixed(1)},${(y - size / 2).toFixed(1)}) scale(${k.toFixed(3)})`);
  g.setAttribute("class", "cat-glyph");
  return glyphParts(key, g);
}
