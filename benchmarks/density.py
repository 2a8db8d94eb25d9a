"""Customers at every zoom on a big area, in a real browser, against sending the dots.

Starts the server (uvicorn) on the demo and opens the dispatcher's view in Debian's Chromium driven by
Playwright, as a user would. Printed:

* first paint: from pressing "sign in" to the customer density squares on the map;
* a tour of zooms and pans below zoom 15: for each move, the time until its squares are drawn (this
  includes the app's 250 ms wait for the map to settle), the squares drawn, and the longest task the
  browser's main thread ran meanwhile (a stall: the map cannot pan while it runs);
* the baseline, measured in the same run at the same views: the customers in view fetched as GeoJSON
  dots (the OGC API, 10,000 a page), what showing every customer would need without the server's
  counts, and its ratio to ours.

    python benchmarks/density.py [--customers 1000000] [--path /tmp/gridservice-web-bench-1m.gpkg]

The GeoPackage is made by the demo generator when it is missing (``web.py`` shares it). Goals (#20): first
paint < 3 s, no stall over 200 ms.
"""

from __future__ import annotations

import os
import time

import httpx
from playwright.sync_api import sync_playwright

from web import login, served_demo

CHROMIUM = os.environ.get("GRIDSERVICE_CHROMIUM", "/usr/bin/chromium")
#: Long main-thread tasks, as the browser reports them (PerformanceObserver "longtask", ≥ 50 ms).
LONG_TASKS = """window.__long = []; new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__long.push(e.duration); }).observe({entryTypes: ['longtask']});"""
MOVE = """([lon, lat, zoom]) => { const v = window.gridservice.dispatcher; window.__long = [];
  v.map.setView(v.view.toLatLng(lon, lat), zoom, {animate: false}); }"""
#: The squares drawn are those of the view the map shows (the app notes the view it drew).
DRAWN = """() => { const v = window.gridservice.dispatcher; const b = v.map.getBounds();
  const view = [...v.view.fromLatLng(b.getSouthWest()), ...v.view.fromLatLng(b.getNorthEast())];
  return v.map.getContainer().dataset.densityView === view.map((x) => x.toFixed(6)).join(','); }"""
#: The baseline fetches at most this many dots per view (a lower bound of its time beyond it, marked ">").
MAX_DOTS = 200_000
STATE = """() => { const v = window.gridservice.dispatcher; const b = v.map.getBounds();
  return {cells: Number(v.map.getContainer().dataset.densityCells), longest: Math.max(0, ...window.__long),
          bbox: [...v.view.fromLatLng(b.getSouthWest()), ...v.view.fromLatLng(b.getNorthEast())]}; }"""


def dots_in_view(client: httpx.Client, headers: dict[str, str], bbox: list[float]) -> tuple[int, int, float]:
    """The baseline: every customer in ``bbox`` (up to :data:`MAX_DOTS`) as GeoJSON, 10,000 a page:
    (customers, bytes, seconds)."""
    count, size, started = 0, 0, time.perf_counter()
    box = ",".join(f"{v:.6f}" for v in bbox)
    while True:
        r = client.get("/ogc/collections/customers/items",
                       params={"bbox": box, "limit": 10000, "offset": count}, headers=headers)
        r.raise_for_status()
        size += len(r.content)
        returned = r.json()["numberReturned"]
        count += returned
        if returned < 10000 or count >= MAX_DOTS:
            return count, size, time.perf_counter() - started


def tour(bounds: list[float]) -> list[tuple[str, float, float, float]]:
    """Moves a dispatcher makes below zoom 15: out to the county, in step by step, pans at zoom 13."""
    w, s, e, n = bounds
    cx, cy, dx, dy = (w + e) / 2, (s + n) / 2, (e - w) / 6, (n - s) / 6
    moves = [(f"zoom {z}", cx, cy, float(z)) for z in (10, 11, 12, 13, 14)]
    moves += [(f"pan {d}", cx + kx * dx, cy + ky * dy, 13.0)
              for d, kx, ky in (("east", 1, 0), ("north", 1, 1), ("west", -1, 1), ("south", -1, -1))]
    return [*moves, ("zoom 11", cx, cy, 11.0)]


def main() -> None:
    proc, url = served_demo(__doc__.splitlines()[0])
    try:
        with httpx.Client(base_url=url, timeout=600) as client, sync_playwright() as pw:
            headers = login(client, "dispatcher")
            county = client.get("/ogc/collections/customers", headers=headers).json()["extent"]["spatial"]["bbox"][0]
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.add_init_script(LONG_TASKS)
            page.set_default_timeout(600_000)
            page.goto(f"{url}/#/login")
            page.fill("#login-username", "dispatcher")
            page.fill("#login-password", "dispatcher-demo")
            started = time.perf_counter()
            page.click("#login-submit")
            page.wait_for_selector("#dispatcher-map .density-cell")
            first = time.perf_counter() - started
            print(f"\nfirst paint: sign in → density squares on the map: {first:.2f} s (goal < 3 s)\n")
            print(f"{'move':<12} {'zoom':>5} {'squares':>8} {'drawn s':>8} {'longest task ms':>16} "
                  f"{'dots':>10} {'dots MB':>8} {'dots s':>7} {'dots s/ours':>12}")
            worst = 0.0
            for name, lon, lat, zoom in tour(county):
                t = time.perf_counter()
                page.evaluate(MOVE, [lon, lat, zoom])
                page.wait_for_function(DRAWN)
                drawn = time.perf_counter() - t
                page.wait_for_timeout(200)  # long tasks are reported after they end
                state = page.evaluate(STATE)
                worst = max(worst, state["longest"])
                n, size, dots = dots_in_view(client, headers, state["bbox"])
                more = ">" if n >= MAX_DOTS else ""
                print(f"{name:<12} {zoom:>5.0f} {state['cells']:>8,} {drawn:>8.2f} {state['longest']:>16.0f} "
                      f"{more + f'{n:,}':>10} {more + f'{size / 1e6:.1f}':>8} {more + f'{dots:.2f}':>7} "
                      f"{more + f'{dots / drawn:.1f}':>12}")
            print(f"\nlongest main-thread task over the tour: {worst:.0f} ms (goal: no stall over 200 ms)")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
