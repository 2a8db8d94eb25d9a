// WGS-84 <-> GCJ-02, the same formulas as gridservice.coords (Python).
// Data are WGS-84; a GCJ-02 basemap (Amap) needs every layer shifted onto it,
// and edited geometry shifted back before it is sent to the server.

const A = 6378245.0; // Krasovsky 1940 semi-major axis (m), as GCJ-02 uses
const EE = 0.00669342162296594323;

function inChina(lon, lat) {
  return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

function gcjRaw(lon, lat) {
  const x = lon - 105.0;
  const y = lat - 35.0;
  const PI = Math.PI;
  const common = 20.0 * Math.sin(6.0 * PI * x) + 20.0 * Math.sin(2.0 * PI * x);
  const dlatM = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
    + ((common + 20.0 * Math.sin(PI * y) + 40.0 * Math.sin(PI * y / 3.0)
      + 160.0 * Math.sin(PI * y / 12.0) + 320.0 * Math.sin(PI * y / 30.0)) * 2.0) / 3.0;
  const dlonM = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
    + ((common + 20.0 * Math.sin(PI * x) + 40.0 * Math.sin(PI * x / 3.0)
      + 150.0 * Math.sin(PI * x / 12.0) + 300.0 * Math.sin(PI * x / 30.0)) * 2.0) / 3.0;
  const phi = (lat * PI) / 180;
  const magic = 1.0 - EE * Math.sin(phi) ** 2;
  const mPerDegLat = ((A * (1.0 - EE)) / magic ** 1.5) * (PI / 180);
  const mPerDegLon = ((A * Math.cos(phi)) / Math.sqrt(magic)) * (PI / 180);
  return [lon + dlonM / mPerDegLon, lat + dlatM / mPerDegLat];
}

/** WGS-84 -> GCJ-02 ([lon, lat] in degrees). */
export function wgsToGcj(lon, lat) {
  return inChina(lon, lat) ? gcjRaw(lon, lat) : [lon, lat];
}

/** GCJ-02 -> WGS-84, solved by fixed-point iteration to ~1e-9 degrees. */
export function gcjToWgs(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  let x = lon;
  let y = lat;
  for (let i = 0; i < 30; i += 1) {
    const [fx, fy] = gcjRaw(x, y);
    const ex = fx - lon;
    const ey = fy - lat;
    x -= ex;
    y -= ey;
    if (Math.abs(ex) < 1e-9 && Math.abs(ey) < 1e-9) break;
  }
  return [x, y];
}

/** Apply `fn([lon, lat]) -> [lon, lat]` to every position of a GeoJSON geometry (a copy). */
export function mapGeometry(geometry, fn) {
  if (!geometry) return geometry;
  const walk = (c) => (typeof c[0] === "number" ? [...fn(c[0], c[1]), ...c.slice(2)] : c.map(walk));
  if (geometry.type === "GeometryCollection") {
    return { ...geometry, geometries: geometry.geometries.map((g) => mapGeometry(g, fn)) };
  }
  return { ...geometry, coordinates: walk(geometry.coordinates) };
}
