"""The coverage map of a 1,000,000-customer service area vs a naive folium map of 10,000 markers.

Target (issue 6): the 1M-customer coverage map is one HTML file under 15 MB
that opens in a browser. The baseline, measured in the same run, is what a
plain folium map costs: one ``folium.CircleMarker`` per customer for 10,000
customers (a million of them would not open at all); its numbers are also
scaled to 1M linearly for comparison.

    python benchmarks/maps.py [--customers 1000000] [--grids 150] [--browser] [--out /tmp/coverage-1m.html]

The service area is synthetic (Voronoi grids over a 60 km × 50 km county
near Nanfeng, customers clustered in villages) so the benchmark does not
depend on the demo generator's speed; ``--demo`` uses ``build_demo`` instead.
With ``--browser`` the file is opened in headless Chromium (network blocked)
and the time until the map and the decoded customers are ready is printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.maps import build_coverage_map, map_html, write_map
from gridservice.model import ServiceArea

CATEGORIES = np.array(["residential", "commercial", "industrial", "agricultural"])


def synthetic_area(customers: int, grids: int, seed: int = 0) -> ServiceArea:
    """A county of ``grids`` Voronoi grids and ``customers`` customers in villages."""
    rng = np.random.default_rng(seed)
    x0, y0, w, h = 116.25, 26.95, 0.60, 0.45  # about 60 km × 50 km
    territory = shapely.box(x0, y0, x0 + w, y0 + h)
    seeds = shapely.points(rng.uniform(x0, x0 + w, grids), rng.uniform(y0, y0 + h, grids))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=territory))
    cells = shapely.intersection(cells, territory)
    grid_ids = np.array([f"G{i:04d}" for i in range(len(cells))])
    grid_frame = gpd.GeoDataFrame({
        "grid_id": grid_ids, "code": grid_ids, "name": [f"第{i + 1}网格" for i in range(len(cells))],
        "station_id": "S1", "area_class": "rural", "plan_version": 1}, geometry=cells, crs=4326)
    villages = 1500
    vx, vy = rng.uniform(x0, x0 + w, villages), rng.uniform(y0, y0 + h, villages)
    size = rng.pareto(1.2, villages) + 1
    which = rng.choice(villages, customers, p=size / size.sum())
    lon = np.clip(vx[which] + rng.normal(0, 0.004, customers), x0, x0 + w)
    lat = np.clip(vy[which] + rng.normal(0, 0.003, customers), y0, y0 + h)
    pts = shapely.points(lon, lat)
    tree = shapely.STRtree(cells)
    pt_idx, cell_idx = tree.query(pts, predicate="intersects")
    grid_of = np.full(customers, None, dtype=object)
    grid_of[pt_idx] = grid_ids[cell_idx]
    ids = np.char.add("C", np.char.zfill(np.arange(customers).astype(str), 7))
    cust = gpd.GeoDataFrame({
        "customer_id": ids, "name": "客户", "category": CATEGORIES[rng.integers(0, 4, customers)],
        "voltage": "low", "grid_id": grid_of}, geometry=pts, crs=4326)
    return ServiceArea({
        "service_area": gpd.GeoDataFrame({"service_area_id": ["B"], "name": ["基准县"]}, geometry=[territory],
                                         crs=4326),
        "stations": gpd.GeoDataFrame({"station_id": ["S1"], "name": ["基准供电所"]},
                                     geometry=[shapely.Point(x0 + w / 2, y0 + h / 2)], crs=4326),
        "grids": grid_frame,
        "customers": cust,
    })


def naive_map(customers: gpd.GeoDataFrame, n: int) -> tuple[float, int]:
    """Seconds and bytes of a plain folium map with one CircleMarker per customer."""
    t0 = time.perf_counter()
    sample = customers.iloc[:n]
    m = folium.Map(location=[27.2, 116.5], zoom_start=10, tiles=None)
    for y, x in zip(sample.geometry.y, sample.geometry.x, strict=True):
        folium.CircleMarker([y, x], radius=2, popup=None).add_to(m)
    html = m.get_root().render()
    return time.perf_counter() - t0, len(html.encode())


def open_in_browser(path: Path) -> dict[str, float]:
    """Load the page in headless Chromium with the network blocked; time the map and the points."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from headless import browser_page  # the tests' Chromium: same launch flags, network blocked

    with browser_page(width=1280, height=860) as run:
        page = run.page
        t0 = time.perf_counter()
        page.goto(path.resolve().as_uri(), wait_until="load", timeout=180_000)
        page.wait_for_selector(".gs-legend", timeout=180_000)
        t_map = time.perf_counter() - t0
        page.evaluate("async () => { const p = Object.values(window).find(v => v instanceof L.GsPoints);"
                      " await p.ready; window.__pts = p; window.__map = Object.values(window)"
                      ".find(v => v instanceof L.Map); }")
        t_points = time.perf_counter() - t0
        drawn = page.evaluate("""async () => {
            const b = __map.getBounds(), c = b.getCenter();
            const t = performance.now();
            __map.setView(c, 15, {animate: false});
            await new Promise(r => requestAnimationFrame(() => r()));
            return [__pts.drawn, performance.now() - t, __map.getContainer().querySelectorAll('path.gs-grid').length];
        }""")
    return {"map_s": t_map, "points_s": t_points, "drawn": drawn[0], "redraw_ms": drawn[1], "grid_paths": drawn[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=150)
    parser.add_argument("--naive", type=int, default=10_000, help="markers in the naive baseline map")
    parser.add_argument("--demo", action="store_true", help="use gridservice.demo.build_demo instead")
    parser.add_argument("--browser", action="store_true", help="open the result in headless Chromium")
    parser.add_argument("--out", type=Path, default=Path("/tmp/gridservice-coverage-1m.html"))
    args = parser.parse_args()

    t0 = time.perf_counter()
    if args.demo:
        from gridservice.demo import build_demo
        from gridservice.workspace import derive

        area = derive(ServiceArea(build_demo(customers=args.customers, seed=0)))
    else:
        area = synthetic_area(args.customers, args.grids)
    print(f"service area: {len(area.customers):,} customers, {len(area.grids)} grids "
          f"({time.perf_counter() - t0:.1f} s to make)")

    t0 = time.perf_counter()
    kpis = pd.DataFrame({"customers": area.customers["grid_id"].value_counts().reindex(area.grids.index, fill_value=0)})
    t_kpi = time.perf_counter() - t0

    t0 = time.perf_counter()
    m = build_coverage_map(area, metric="customers", kpis=kpis, basemap="none", heat=False, problems=False)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = map_html(m)
    t_render = time.perf_counter() - t0
    write_map(html, args.out)
    ours_bytes = len(html.encode())
    ours_s = t_build + t_render

    naive_s, naive_bytes = naive_map(area.customers, args.naive)
    scale = len(area.customers) / args.naive

    print(f"customers per grid (derived grid_id): {t_kpi:.2f} s (not counted below)")
    print(f"ours   {len(area.customers):>9,} customers: build {t_build:6.2f} s + render {t_render:5.2f} s"
          f" = {ours_s:6.2f} s, {ours_bytes / 1e6:6.2f} MB -> {args.out}")
    print(f"naive  {args.naive:>9,} markers:   {naive_s:6.2f} s, {naive_bytes / 1e6:6.2f} MB"
          f" (x{scale:.0f} for the same customers: ~{naive_s * scale:,.0f} s, ~{naive_bytes * scale / 1e6:,.0f} MB)")
    print(f"bytes per customer: ours {ours_bytes / len(area.customers):.2f}, naive {naive_bytes / args.naive:.1f}"
          f"  -> {naive_bytes / args.naive / (ours_bytes / len(area.customers)):.0f}x smaller")
    speedup = naive_s / args.naive / (ours_s / len(area.customers))
    print(f"time per customer:  ours {ours_s / len(area.customers) * 1e6:.2f} us, naive "
          f"{naive_s / args.naive * 1e6:.0f} us  -> {speedup:.0f}x faster")
    print(f"target: one file under 15 MB -> {'OK' if ours_bytes < 15e6 else 'MISSED'} ({ours_bytes / 1e6:.2f} MB)")
    if args.browser:
        r = open_in_browser(args.out)
        print(f"chromium: map drawn in {r['map_s']:.1f} s, {r['grid_paths']} grid paths; {len(area.customers):,}"
              f" customers decoded by {r['points_s']:.1f} s; zoom 15 redraw {r['redraw_ms']:.0f} ms"
              f" ({r['drawn']:,} customers in view)")


if __name__ == "__main__":
    main()
