"""A province on Dask: monthly KPIs + reliability + line loss, serial loop vs dask.distributed workers.

Builds K counties of Jiangxi × M customers (the province demo, one GeoPackage
each) and, for one month, runs the three county verbs' functions
(``kpi``, ``reliability``, ``lineloss`` — :func:`gridservice.province.tasks.county_task`)
for every county:

* **serial** — one process, a plain loop over counties and verbs (the baseline);
* **dask** — the same tasks on a local dask.distributed cluster of W single-threaded
  worker processes, all submitted at once, collected with ``as_completed``.

Each phase runs in its own process so that its peak RSS is its own. Printed:
per-county and per-verb times, per-worker busy time and peak RSS, the client's
peak RSS, the speedup, and an extrapolation to a real province (100 counties ×
300,000 customers) on k workers from the measured per-customer cost.

    python benchmarks/province.py [--counties 4] [--customers 20000] [--workers 2] [--dir DIR]
    python benchmarks/province.py --counties 20 --customers 100000          # the issue's size

The counties are built into ``--dir`` (default: a folder under the temp dir named by the size) when missing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERBS = ("kpi", "reliability", "lineloss")
PERIOD = "2026-10"
AS_OF = "2026-11-30T18:00:00+08:00"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def build(folder: Path, counties: int, customers: int) -> dict:
    from gridservice.demo import build_demo, province_counties
    from gridservice.io import GeoPackageStore

    folder.mkdir(parents=True, exist_ok=True)
    seconds = {}
    for county in province_counties(counties):
        path = folder / f"{county.slug}.gpkg"
        if path.exists():
            continue
        t = time.perf_counter()
        frames = build_demo(customers=customers, seed=county.seed, as_of=AS_OF, county=county)
        GeoPackageStore(path).write(frames, create=True)
        seconds[county.slug] = time.perf_counter() - t
    return {"build_seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def serial(folder: Path) -> dict:
    from gridservice.province import county_stores
    from gridservice.province.tasks import county_task

    rows = []
    t0 = time.perf_counter()
    for county, url in county_stores(folder).items():
        for verb in VERBS:
            r = county_task(verb, url, period=PERIOD, by="grid")
            rows.append({"county": county, "verb": verb, "seconds": r.seconds, "cpu_seconds": r.cpu_seconds})
    return {"wall": time.perf_counter() - t0, "cpu": time.process_time(), "rows": rows, "peak_rss_mb": peak_rss_mb()}


def dask(folder: Path, workers: int) -> dict:
    from distributed import as_completed

    from gridservice.province import cluster, county_stores
    from gridservice.province.tasks import county_task

    stores = county_stores(folder)
    t0 = time.perf_counter()
    with cluster(workers=workers) as client:
        started = time.perf_counter()
        idle_rss = client.run(peak_rss_mb)  # a worker before its first county
        futures = {client.submit(county_task, verb, url, period=PERIOD, by="grid", key=f"{verb}-{county}",
                                 pure=False): (county, verb)
                   for county, url in stores.items() for verb in VERBS}
        rows = []
        for future in as_completed(futures):
            county, verb = futures[future]
            r = future.result()
            rows.append({"county": county, "verb": verb, "seconds": r.seconds, "cpu_seconds": r.cpu_seconds,
                         "pid": r.pid, "peak_rss_mb": r.peak_rss_mb})
            future.release()
        compute = time.perf_counter() - started
        pids = client.run(lambda: __import__("os").getpid())
    return {"wall": time.perf_counter() - t0, "compute": compute, "rows": rows, "peak_rss_mb": peak_rss_mb(),
            "idle_worker_rss_mb": max(idle_rss.values()), "workers": {str(v): k for k, v in pids.items()}}


def phase(name: str, *args: str) -> dict:
    """Run one phase in a fresh process (its own peak RSS) and read its JSON."""
    out = subprocess.run([sys.executable, __file__, "--phase", name, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(args: argparse.Namespace, built: dict, ser: dict, dsk: dict) -> None:
    import pandas as pd

    k, m, w = args.counties, args.customers, args.workers
    s = pd.DataFrame(ser["rows"])
    d = pd.DataFrame(dsk["rows"])
    per_county = (s.pivot_table(index="county", columns="verb", values="seconds", aggfunc="sum")[list(VERBS)]
                  .assign(total=lambda f: f.sum(axis=1)))
    print(f"\nprovince benchmark: {k} counties × {m:,} customers, period {PERIOD}, {w} Dask workers")
    if built["build_seconds"]:
        b = built["build_seconds"]
        print(f"build: {len(b)} counties in {sum(b.values()):.1f} s ({sum(b.values()) / len(b):.1f} s each, "
              f"peak RSS {built['peak_rss_mb']:.0f} MB)")
    print("\nserial, wall seconds per county and verb (open + compute):")
    print(per_county.round(2).to_string())
    cpu_ratio = d["cpu_seconds"].sum() / s["cpu_seconds"].sum()
    print(f"CPU seconds of the tasks: serial {s['cpu_seconds'].sum():.1f}, on the workers {d['cpu_seconds'].sum():.1f} "
          f"(×{cpu_ratio:.2f}); wall seconds of the tasks: serial {s['seconds'].sum():.1f}, on the workers "
          f"{d['seconds'].sum():.1f} (×{d['seconds'].sum() / s['seconds'].sum():.2f}: the rest is waiting for a CPU)")
    print("\nper worker (dask):")
    d["worker"] = d["pid"].astype(str).map(dsk["workers"])
    per_worker = d.groupby("worker").agg(tasks=("seconds", "size"), busy_s=("seconds", "sum"),
                                         cpu_s=("cpu_seconds", "sum"), peak_rss_mb=("peak_rss_mb", "max"))
    print(per_worker.round(1).to_string())
    speed = ser["wall"] / dsk["compute"]
    print(f"\n{'':34}{'wall s':>9}{'peak RSS MB':>13}")
    print(f"{'serial loop (1 process)':34}{ser['wall']:9.1f}{ser['peak_rss_mb']:13.0f}")
    print(f"{f'dask, {w} workers (tasks only)':34}{dsk['compute']:9.1f}{per_worker['peak_rss_mb'].max():13.0f}"
          "  (largest worker)")
    print(f"{f'dask, {w} workers (with start-up)':34}{dsk['wall']:9.1f}{dsk['peak_rss_mb']:13.0f}  (client)")
    print(f"speedup (tasks only): {speed:.2f}x on {w} workers (goal ≥ 1.7x on 2); "
          f"with cluster start-up: {ser['wall'] / dsk['wall']:.2f}x")

    # Extrapolation: a county's cost and memory grow with its customers (its tables are linear in its size);
    # counties are independent tasks, so k workers share the work (ideal) at the efficiency measured here.
    per_customer_s = s["cpu_seconds"].sum() / (k * m)  # CPU time: what the work costs on an idle core
    efficiency = speed / w
    big_m, big_k = 300_000, 100
    base = dsk["idle_worker_rss_mb"]
    rss_big = base + (per_worker["peak_rss_mb"].max() - base) * big_m / m
    work_h = per_customer_s * big_k * big_m / 3600
    print(f"\nextrapolation to {big_k} counties × {big_m:,} customers (30M), linear in customers from "
          f"{per_customer_s * 1e6:.0f} CPU-µs per customer (serial, measured here; a county's fixed cost counted as "
          f"per-customer, so an upper bound):")
    print(f"  one county: {per_customer_s * big_m:.0f} s of work; the province: {work_h:.1f} h of work in one "
          f"process; a worker needs about {rss_big / 1024:.1f} GB (idle {base:.0f} MB + the largest county)")
    print(f"{'workers':>9}{'ideal h':>9}{f'at {efficiency:.0%} h':>10}  cluster (1 thread and {rss_big / 1024:.1f} GB "
          "per worker)")
    for kw in (2, 8, 32, 100):
        ideal = work_h / kw
        print(f"{kw:>9}{ideal:9.2f}{ideal / max(efficiency, 1e-9):10.2f}  {-(-kw // 8)} machine(s) of 8 cores and "
              f"{8 * rss_big / 1024:.0f} GB")
    print("  (beyond 100 workers a province gets no faster: a county is one task)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counties", type=int, default=4)
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--dir", type=Path, default=None)
    p.add_argument("--phase", choices=["build", "serial", "dask"], help=argparse.SUPPRESS)
    args = p.parse_args()
    folder = args.dir or Path(tempfile.gettempdir()) / f"gridservice-province-{args.counties}x{args.customers}"
    if args.phase == "build":
        print(json.dumps(build(folder, args.counties, args.customers)))
        return
    if args.phase == "serial":
        print(json.dumps(serial(folder)))
        return
    if args.phase == "dask":
        print(json.dumps(dask(folder, args.workers)))
        return
    common = ["--counties", str(args.counties), "--customers", str(args.customers), "--dir", str(folder)]
    built = phase("build", *common)
    ser = phase("serial", *common)
    dsk = phase("dask", *common, "--workers", str(args.workers))
    report(args, built, ser, dsk)


if __name__ == "__main__":
    main()
