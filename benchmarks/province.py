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

Daily readings (``--part readings``): M meters × 30 days of a month over K counties, generated with a
seeded numpy generator (``--meters``, ~50 meters per transformer, each transformer's own daily supply
reading with its own loss) and written in the lake's layout (``energy_readings/county=…/month=…``,
:func:`gridservice.province.readings.write_readings`); then monthly transformer line loss:

* **pandas** — one process reads the whole month of the province and applies the county rule once;
* **dask** — :func:`gridservice.province.readings.line_loss`, one partition per county, on W workers.

Both results are checked equal. Printed: time and peak RSS side by side, and the extrapolation to
30M meters × 365 days.

    python benchmarks/province.py --part readings --counties 8 --meters 400000
    python benchmarks/province.py --part readings --counties 20 --meters 2000000   # the issue's size
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


READINGS_MONTH = "2026-10"
DAYS = 30  # the 30 days (October has 31: day 31 is left unread, as if read next month)
METERS_PER_TX = 50


def generate(lake: Path, counties: int, meters: int) -> dict:
    """A province's month of daily readings in the lake layout; deterministic (numpy seeded per county)."""
    import numpy as np
    import pandas as pd

    from gridservice.province.readings import LINKS, PART, write_readings

    if (lake / "_done").exists():
        return json.loads((lake / "_done").read_text())
    t0 = time.perf_counter()
    per = meters // counties
    days = np.array([f"{READINGS_MONTH}-{d:02d}" for d in range(1, DAYS + 1)], dtype=object)
    for c in range(counties):
        county = f"c{c:03d}"
        rng = np.random.default_rng(1000 + c)
        n_tx = max(per // METERS_PER_TX, 1)
        tx = pd.Index([f"{county}-T{i:06d}" for i in range(n_tx)], dtype="str")
        meter = pd.Index([f"{county}-M{i:07d}" for i in range(per)], dtype="str")
        meter_tx = rng.integers(0, n_tx, per)
        daily = np.round(rng.gamma(2.0, 2.5, (per, DAYS)), 2)  # kWh per meter and day
        read = rng.random((per, DAYS)) > 0.001  # a few missed days: those areas are not computable
        loss = rng.normal(0.05, 0.04, n_tx)  # some high, a few negative
        sales = np.zeros((n_tx, DAYS))
        np.add.at(sales, meter_tx, daily)
        supply = np.round(sales / (1 - loss[:, None]), 2)
        mi, di = np.nonzero(read)
        frame = pd.DataFrame({
            "device_id": pd.array(np.concatenate([meter.to_numpy()[mi], np.repeat(tx.to_numpy(), DAYS)]),
                                  dtype="str"),
            "period": pd.array(np.concatenate([days[di], np.tile(days, n_tx)]), dtype="str"),
            "kwh": np.concatenate([daily[mi, di], supply.ravel()]),
        })
        write_readings(lake, county, frame)
        for name, table in (("transformers", pd.DataFrame({"transformer_id": tx})),
                            (LINKS, pd.DataFrame({"meter_id": meter, "transformer_id": tx[meter_tx]}))):
            folder = lake / name / f"county={county}"
            folder.mkdir(parents=True, exist_ok=True)
            table.to_parquet(folder / PART, index=False)
    size = sum(f.stat().st_size for f in (lake / "energy_readings").rglob("*.parquet"))
    out = {"seconds": time.perf_counter() - t0, "bytes": size, "rows": int(meters // counties * counties * DAYS)}
    (lake / "_done").write_text(json.dumps(out))
    return out


def pandas_loss(lake: Path) -> dict:
    """One process: the whole month of the province in one frame, the county rule applied once."""
    import pandas as pd

    from gridservice.config import get_settings
    from gridservice.lookup import positions
    from gridservice.metrics.lineloss import period_loss, readings_history
    from gridservice.province.readings import LINKS

    t0 = time.perf_counter()
    readings = pd.read_parquet(lake / "energy_readings", columns=["device_id", "period", "kwh"],
                               filters=[("month", "==", READINGS_MONTH)])
    tx_ids = pd.Index(pd.read_parquet(lake / "transformers", columns=["transformer_id"])["transformer_id"])
    links = pd.read_parquet(lake / LINKS, columns=["meter_id", "transformer_id"])
    read_s = time.perf_counter() - t0
    history = readings_history(readings, tx_ids, pd.Index(links["meter_id"]),
                               positions(links["transformer_id"], tx_ids), until=READINGS_MONTH, months=1)
    table = period_loss(history, [READINGS_MONTH], rules=get_settings().rules)
    wall = time.perf_counter() - t0
    return {"wall": wall, "read": read_s, "rows": len(readings), "peak_rss_mb": peak_rss_mb(),
            "cpu": time.process_time(), "classes": table["class"].value_counts().to_dict(),
            "loss_kwh": float(table["loss_kwh"].sum())}


def dask_loss(lake: Path, workers: int) -> dict:
    from gridservice.province import cluster
    from gridservice.province.readings import line_loss

    t0 = time.perf_counter()
    with cluster(workers=workers) as client:
        idle = client.run(peak_rss_mb)
        cpu0 = client.run(time.process_time)
        started = time.perf_counter()
        table = line_loss(lake, READINGS_MONTH).compute()
        compute = time.perf_counter() - started
        rss = client.run(peak_rss_mb)
        cpu = sum(client.run(time.process_time).values()) - sum(cpu0.values())
    return {"wall": time.perf_counter() - t0, "compute": compute, "peak_rss_mb": peak_rss_mb(), "cpu": cpu,
            "load": __import__("os").getloadavg()[0],
            "idle_worker_rss_mb": max(idle.values()), "worker_rss_mb": sorted(rss.values()),
            "classes": table["class"].value_counts().to_dict(), "loss_kwh": float(table["loss_kwh"].sum())}


def readings_main(args: argparse.Namespace) -> None:
    k, m, w = args.counties, args.meters, args.workers
    lake = (args.dir or Path(tempfile.gettempdir()) / f"gridservice-readings-{k}x{m}") / "province.parquet"
    if args.phase == "generate":
        print(json.dumps(generate(lake, k, m)))
        return
    if args.phase == "pandas-loss":
        print(json.dumps(pandas_loss(lake)))
        return
    if args.phase == "dask-loss":
        print(json.dumps(dask_loss(lake, w)))
        return
    common = ["--counties", str(k), "--meters", str(m), "--workers", str(w)]
    if args.dir:
        common += ["--dir", str(args.dir)]
    gen = phase("generate", *common)
    pdl = phase("pandas-loss", *common)
    dkl = phase("dask-loss", *common)
    assert pdl["classes"] == dkl["classes"], (pdl["classes"], dkl["classes"])
    assert abs(pdl["loss_kwh"] - dkl["loss_kwh"]) <= 1e-6 * abs(pdl["loss_kwh"])
    rows = gen["rows"]
    per = m // k
    print(f"\ndaily readings: {k} counties × {per:,} meters = {per * k:,} meters × {DAYS} days "
          f"({rows:,} meter readings + {per * k // METERS_PER_TX * DAYS:,} transformer readings), month "
          f"{READINGS_MONTH}; {gen['bytes'] / 1e6:.0f} MB of Parquet ({gen['bytes'] / rows:.1f} B per reading: "
          f"kWh to 0.01 dictionary-encode well), generated in {gen['seconds']:.0f} s")
    print(f"monthly transformer line loss, same result both ways: {pdl['classes']}")
    print(f"\n{'':38}{'wall s':>9}{'peak RSS MB':>13}")
    print(f"{'pandas, one process (whole month)':38}{pdl['wall']:9.1f}{pdl['peak_rss_mb']:13.0f}"
          f"  (read {pdl['read']:.1f} s)")
    print(f"{f'dask.dataframe, {w} workers (compute)':38}{dkl['compute']:9.1f}{max(dkl['worker_rss_mb']):13.0f}"
          f"  (largest worker; idle {dkl['idle_worker_rss_mb']:.0f})")
    print(f"{f'dask.dataframe, {w} workers (+ start-up)':38}{dkl['wall']:9.1f}{dkl['peak_rss_mb']:13.0f}  (client)")
    print(f"speedup (compute): {pdl['wall'] / dkl['compute']:.2f}x; memory: one pandas process grows with the "
          f"province, a worker with one county-month")
    print(f"CPU seconds: pandas {pdl['cpu']:.1f}, the dask workers {dkl['cpu']:.1f} (their CPU over wall: "
          f"{dkl['cpu'] / dkl['compute']:.2f} of {w} cores; load average {dkl['load']:.1f} during the run)")

    # Extrapolation: time is linear in readings; a worker holds one county-month at a time.
    big_meters, big_days, big_counties = 30_000_000, 365, 100
    big_rows = big_meters * big_days
    s_per_row = dkl["cpu"] / rows  # CPU time of the workers: what the work costs on an idle core
    work_h = s_per_row * big_rows / 3600
    base = dkl["idle_worker_rss_mb"]
    county_month_rows = big_meters / big_counties * 31
    worker_gb = (base + (max(dkl["worker_rss_mb"]) - base) * county_month_rows / (rows / k)) / 1024
    pandas_gb = (base + (pdl["peak_rss_mb"] - base) * big_meters * 31 / rows) / 1024
    print(f"\nextrapolation to {big_meters / 1e6:.0f}M meters × {big_days} days ({big_rows / 1e9:.1f} billion "
          f"readings, {big_counties} counties × 12 months): {gen['bytes'] / rows * big_rows / 1e9:.0f} GB of "
          f"Parquet; {work_h:.1f} h of line loss on one core ({s_per_row * 1e9:.0f} CPU-ns per reading on the workers)")
    print(f"  one pandas process would need ~{pandas_gb:.0f} GB for one month of the province; "
          f"a dask worker ~{worker_gb:.1f} GB (one county-month of {county_month_rows / 1e6:.1f}M readings)")
    print(f"{'workers':>9}{'h (ideal)':>11}  cluster (1 thread and {worker_gb:.1f} GB per worker)")
    for kw in (2, 8, 32, 100):
        print(f"{kw:>9}{work_h / kw:11.2f}  {-(-kw // 8)} machine(s) of 8 cores and {8 * worker_gb:.0f} GB")
    print(f"  (a task is one county-month: up to {big_counties * 12} tasks for the year)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counties", type=int, default=4)
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--dir", type=Path, default=None)
    p.add_argument("--part", choices=["counties", "readings", "both"], default="both")
    p.add_argument("--meters", type=int, default=400_000, help="daily readings: meters in the province")
    p.add_argument("--phase", choices=["build", "serial", "dask", "generate", "pandas-loss", "dask-loss"],
                   help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.part == "readings" or args.phase in ("generate", "pandas-loss", "dask-loss"):
        readings_main(args)
        return
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
    if args.part == "both":
        readings_main(args)


if __name__ == "__main__":
    main()
