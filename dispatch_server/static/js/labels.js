// Placing the map's words so that none covers another: boxes in screen pixels, a greedy
// placer that tries positions around each anchor in turn, and text measured once per size.

const canvas = document.createElement("canvas").getContext("2d");
const measured = new Map();

/** Width and the font's ascent/descent of `text` at `px` pixels, as the SVG will draw it. */
export function measure(text, px, weight, family) {
  const key = `${weight}|${px}|${family}|${text}`;
  let m = measured.get(key);
  if (!m) {
    canvas.font = `${weight} ${px}px ${family}`;
    const tm = canvas.measureText(text);
    const asc = tm.fontBoundingBoxAscent ?? px * 0.95;
    const desc = tm.fontBoundingBoxDescent ?? px * 0.3;
    m = {w: tm.width, asc, desc, h: asc + desc};
    if (measured.size > 5000) measured.clear();
    measured.set(key, m);
  }
  return m;
}

export function box(x, y, w, h) {
  return {x, y, w, h};
}

export function overlap(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** The boxes taken so far. `fits` also keeps a box inside the visible map. */
export class Taken {
  constructor(width, height) {
    this.width = width;
    this.height = height;
    this.boxes = [];
  }

  inView(b) {
    return b.x >= 0 && b.y >= 0 && b.x + b.w <= this.width && b.y + b.h <= this.height;
  }

  free(b, except = null) {
    return !this.boxes.some((o) => o !== except && overlap(o, b));
  }

  fits(b, except = null) {
    return this.inView(b) && this.free(b, except);
  }

  /** How much of `b` the boxes taken so far cover, in square pixels. */
  covered(b) {
    let sum = 0;
    for (const o of this.boxes) {
      const w = Math.min(o.x + o.w, b.x + b.w) - Math.max(o.x, b.x);
      const h = Math.min(o.y + o.h, b.y + b.h) - Math.max(o.y, b.y);
      if (w > 0 && h > 0) sum += w * h;
    }
    return sum;
  }

  add(b) {
    this.boxes.push(b);
    return b;
  }

  remove(b) {
    const i = this.boxes.indexOf(b);
    if (i >= 0) this.boxes.splice(i, 1);
  }
}

/** Even-odd point in polygon over every ring (holes and MultiPolygon parts alike). */
export function inside([x, y], rings) {
  let hit = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
    }
  }
  return hit;
}

/** Boxes of size w×h centred near (ax, ay): the anchor first, then outwards. */
export function *around(ax, ay, w, h, rings = 3) {
  yield box(ax - w / 2, ay - h / 2, w, h);
  for (let k = 1; k <= rings; k++) {
    const dx = k * Math.max(w * 0.3, h * 0.6), dy = k * h * 0.6;
    for (const [sx, sy] of [[0, -1], [0, 1], [-1, 0], [1, 0], [-1, -1], [1, -1], [-1, 1], [1, 1]]) {
      yield box(ax + sx * dx - w / 2, ay + sy * dy - h / 2, w, h);
    }
  }
}

/** Boxes of size w×h beside a mark of radius r at (x, y): right, left, above, below, corners. */
export function *beside(x, y, r, w, h, gap = 3) {
  const d = r + gap;
  yield box(x + d, y - h / 2, w, h);
  yield box(x - d - w, y - h / 2, w, h);
  yield box(x - w / 2, y - d - h, w, h);
  yield box(x - w / 2, y + d, w, h);
  yield box(x + d * 0.7, y - d * 0.7 - h, w, h);
  yield box(x + d * 0.7, y + d * 0.7, w, h);
  yield box(x - d * 0.7 - w, y - d * 0.7 - h, w, h);
  yield box(x - d * 0.7 - w, y + d * 0.7, w, h);
}
