// WGS-84 ↔ GCJ-02. Map tiles served in mainland China are drawn in GCJ-02, the official
// obfuscated datum: against WGS-84 (the grids' GeoJSON and the handhelds' fixes) they are
// offset by a few hundred metres. The forward formula is the widely published one; the
// inverse has no closed form and is found by fixed-point iteration (a few steps to 1e-9°).
// Outside China's rough box there is no offset, as tile servers there have none.

const A = 6378245.0;  // the Krasovsky 1940 ellipsoid the formula is defined on
const EE = 0.00669342162296594323;

export function outOfChina(lon, lat) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function waveLat(x, y) {
  const s = Math.sin, p = Math.PI;
  return -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
    + ((20 * s(6 * x * p) + 20 * s(2 * x * p)) * 2) / 3
    + ((20 * s(y * p) + 40 * s((y / 3) * p)) * 2) / 3
    + ((160 * s((y / 12) * p) + 320 * s((y * p) / 30)) * 2) / 3;
}

function waveLon(x, y) {
  const s = Math.sin, p = Math.PI;
  return 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
    + ((20 * s(6 * x * p) + 20 * s(2 * x * p)) * 2) / 3
    + ((20 * s(x * p) + 40 * s((x / 3) * p)) * 2) / 3
    + ((150 * s((x / 12) * p) + 300 * s((x / 30) * p)) * 2) / 3;
}

/** GCJ-02 minus WGS-84, in degrees, at a WGS-84 point. */
function offset(lon, lat) {
  const rad = (lat * Math.PI) / 180;
  const m = 1 - EE * Math.sin(rad) ** 2;
  const dLat = (waveLat(lon - 105, lat - 35) * 180) / (((A * (1 - EE)) / (m * Math.sqrt(m))) * Math.PI);
  const dLon = (waveLon(lon - 105, lat - 35) * 180) / ((A / Math.sqrt(m)) * Math.cos(rad) * Math.PI);
  return [dLon, dLat];
}

/** [lon, lat] in WGS-84 to [lon, lat] in GCJ-02. */
export function wgsToGcj(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  const [dLon, dLat] = offset(lon, lat);
  return [lon + dLon, lat + dLat];
}

/** [lon, lat] in GCJ-02 back to WGS-84, within 1e-9° (about 0.1 mm). */
export function gcjToWgs(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  let w = [lon, lat];
  for (let i = 0; i < 20; i++) {
    const g = wgsToGcj(w[0], w[1]);
    const e = [g[0] - lon, g[1] - lat];
    w = [w[0] - e[0], w[1] - e[1]];
    if (Math.abs(e[0]) < 1e-10 && Math.abs(e[1]) < 1e-10) break;
  }
  return w;
}
