"""What each browser view loads at start, against sending every customer, on a big area.

Runs the real server (uvicorn) on a demo area and replays, view by view, the
requests the browser app makes when it opens (the same paths and parameters
as ``web/app/*.js``), twice: cold (the server computes and caches) and warm.
The baseline, measured in the same run, is what a naive app would do instead:
fetch every customer as GeoJSON (the OGC API, 10,000 a page). Printed: bytes
and seconds per view and their ratio to the baseline.

    python benchmarks/web.py [--customers 1000000] [--path /tmp/gridservice-web-bench-1m.gpkg]

The GeoPackage is generated with the demo generator when it is missing, with
the demo users added.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def views(month: str) -> dict[str, tuple[str, list[tuple[str, str, dict | None]]]]:
    """Per view: the role that opens it and its start-up requests (method, path, JSON body)."""
    return {
        "planner": ("planner", [
            ("GET", "/api/v1/plans", None),
            ("GET", "/api/v1/grids?limit=10000", None),
            ("CHECK", "/api/v1/plans/check", None),  # the baseline check of one unchanged grid
        ]),
        "dispatcher": ("dispatcher", [
            ("GET", "/api/v1/grids?limit=10000", None),
            ("GET", "/api/v1/work-orders?open=true&limit=100", None),
            ("GET", "/api/v1/customers/search?q=zs&limit=10", None),
        ]),
        "supervisor": ("supervisor", [
            ("GET", "/api/v1/grids?limit=10000", None),
            ("GET", f"/api/v1/kpis?period={month}&by=grid", None),
            ("GET", f"/api/v1/kpis?period={month}&by=area", None),
            ("GET", f"/api/v1/line-loss?period={month}&class=high&class=negative&limit=300", None),
            ("GET", "/api/v1/audit/rules", None),
            ("GET", "/api/v1/audit?limit=3000", None),
        ]),
    }


def ensure_area(path: Path, customers: int) -> None:
    if path.exists():
        return
    sys.path.insert(0, str(ROOT / "src"))
    from gridservice.auth import demo_users
    from gridservice.demo import build_demo
    from gridservice.io import GeoPackageStore

    print(f"generating a {customers:,}-customer demo at {path} …", flush=True)
    frames = build_demo(customers=customers, seed=0)
    frames["users"] = demo_users()[0]
    GeoPackageStore(path).write(frames, create=True)


def start_server(path: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRIDSERVICE_BASEMAP": "none",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    code = ("import sys, uvicorn\nfrom gridservice.api import create_app\n"
            "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(f"{url}/web-config.json", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the server exited") from None
            time.sleep(0.5)
    print(f"server up in {time.perf_counter() - started:.1f} s", flush=True)
    return proc, url


def login(client: httpx.Client, role: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/login", json={"username": role, "password": f"{role}-demo"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def replay(client: httpx.Client, headers: dict[str, str], requests: list, first_grid: dict,
           timings: list[tuple[float, str]]) -> tuple[int, float]:
    """Bytes and seconds for one view's start-up requests, one after the other."""
    total, started = 0, time.perf_counter()
    for method, path, _ in requests:
        t0 = time.perf_counter()
        if method == "CHECK":
            body = {"grids": {"type": "FeatureCollection", "features": [first_grid]}}
            r = client.post(path, json=body, headers=headers)
        else:
            r = client.get(path, headers=headers)
        r.raise_for_status()
        total += len(r.content)
        timings.append((time.perf_counter() - t0, f"{method if method != 'CHECK' else 'POST'} {path}"))
    return total, time.perf_counter() - started


def every_customer(client: httpx.Client, headers: dict[str, str]) -> tuple[int, float, int]:
    """The naive baseline: every customer as GeoJSON, 10,000 a page."""
    total, count, offset, started = 0, 0, 0, time.perf_counter()
    while True:
        r = client.get(f"/ogc/collections/customers/items?limit=10000&offset={offset}", headers=headers)
        r.raise_for_status()
        total += len(r.content)
        returned = r.json()["numberReturned"]
        count += returned
        offset += returned
        if returned < 10000:
            return total, time.perf_counter() - started, count


def served_demo(description: str) -> tuple[subprocess.Popen, str]:
    """The server on the demo the command line names (``--customers``, ``--path``), made if missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=None)
    args = parser.parse_args()
    path = args.path or Path(f"/tmp/gridservice-web-bench-{args.customers // 1000}k.gpkg")
    ensure_area(path, args.customers)
    return start_server(path)


def main() -> None:
    proc, url = served_demo(__doc__.splitlines()[0])
    try:
        with httpx.Client(base_url=url, timeout=600) as client:
            config = client.get("/web-config.json").json()
            month = config["default_month"]
            sup = login(client, "supervisor")
            grids = client.get("/api/v1/grids?limit=10000", headers=sup).json()
            first = grids["features"][0]
            first_grid = {"type": "Feature", "properties": {"grid_id": first["properties"]["grid_id"]},
                          "geometry": first["geometry"]}
            base_bytes, base_s, n = every_customer(client, sup)
            print(f"\nbaseline: every customer as GeoJSON: {n:,} customers, {base_bytes / 1e6:,.1f} MB, "
                  f"{base_s:.1f} s\n")
            print(f"{'view':<11} {'requests':>8} {'MB':>8} {'cold s':>8} {'warm s':>8} {'bytes/baseline':>15} "
                  f"{'warm s/baseline':>16}")
            cold_timings: list[tuple[float, str]] = []
            for name, (role, requests) in views(month).items():
                headers = login(client, role)
                size, cold = replay(client, headers, requests, first_grid, cold_timings)
                _, warm = replay(client, headers, requests, first_grid, [])
                print(f"{name:<11} {len(requests):>8} {size / 1e6:>8.2f} {cold:>8.2f} {warm:>8.2f} "
                      f"{size / base_bytes:>15.4f} {warm / base_s:>16.4f}")
            print("\nslowest cold requests:")
            for seconds, what in sorted(cold_timings, reverse=True)[:5]:
                print(f"  {seconds:8.2f} s  {what}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
