"""Benchmark: automatic grid proposals against spopt's AZP and MaxP and METIS.

Needs the benchmark-only packages (not dependencies of gridservice)::

    pip install spopt pymetis

Run::

    PYTHONPATH=src python benchmarks/propose.py            # 800 → 40 and 8,000 → 400
    PYTHONPATH=src python benchmarks/propose.py --small    # 800 → 40 only

A synthetic county (60 km × 60 km; 75 % of the transformers clustered in
towns, the rest scattered) is cut into transformer areas (Voronoi cells of
the transformers). Every method gets the same units and adjacency and splits
them into K grids on households. For each the script prints the time, the
coefficient of variation (CV) of households per grid, the mean Polsby-Popper
compactness of the dissolved grids, grids over the cap (1.05 × the mean
households per grid) and grids that are not contiguous (checked with
networkx on the unit adjacency). Times are wall-clock and CPU seconds: on a
shared machine the CPU column is the steadier one. AZP and MaxP run in a child process with a
time limit and are skipped for the 8,000-unit county unless --all is given.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import sys
import time
import warnings
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from gridservice.spatial.propose import partition_units
from gridservice.spatial.propose.engine import Engine
from gridservice.spatial.units import unit_adjacency

CRS = "EPSG:32650"
SIDE_M = 60_000.0


def synthetic_county(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` transformer areas: 75 % in towns (Gaussian clusters), 25 % scattered; households per area."""
    rng = np.random.default_rng(seed)
    n_town = round(0.75 * n)
    towns = max(4, n // 100)
    centres = rng.uniform(0.12 * SIDE_M, 0.88 * SIDE_M, size=(towns, 2))
    size = rng.dirichlet(np.full(towns, 2.0))
    which = rng.choice(towns, size=n_town, p=size)
    spread = 600.0 + 2500.0 * np.sqrt(size[which])
    town_xy = centres[which] + rng.normal(size=(n_town, 2)) * spread[:, None]
    rural_xy = rng.uniform(0, SIDE_M, size=(n - n_town, 2))
    xy = np.clip(np.vstack([town_xy, rural_xy]), 1.0, SIDE_M - 1.0)
    square = shapely.box(0, 0, SIDE_M, SIDE_M)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=square, ordered=True))
    cells = shapely.intersection(cells, square)
    hh = np.r_[rng.lognormal(np.log(220), 0.45, n_town), rng.lognormal(np.log(90), 0.5, n - n_town)]
    units = gpd.GeoDataFrame(
        {"households": np.round(hh).astype(np.int64)},
        geometry=cells, crs=CRS, index=pd.Index([f"T{i:05d}" for i in range(n)], name="unit_id"))
    units["work_orders"] = rng.poisson(units["households"] * 0.05)
    return units


def evaluate(units: gpd.GeoDataFrame, adjacency: pd.DataFrame, labels: np.ndarray, k: int) -> dict[str, Any]:
    """Independent measures: CV, mean Polsby-Popper, over cap, non-contiguous (networkx)."""
    labels = np.asarray(labels)
    hh = units["households"].to_numpy(dtype=float)
    per = pd.Series(hh).groupby(labels).sum()
    cap = 1.05 * hh.sum() / k
    geoms = units.geometry.to_numpy()
    pp = []
    for g in np.unique(labels):
        poly = shapely.union_all(geoms[labels == g])
        pp.append(4 * math.pi * poly.area / poly.length ** 2)
    graph = nx.Graph()
    pos = {u: i for i, u in enumerate(units.index)}
    graph.add_nodes_from(range(len(units)))
    graph.add_edges_from((pos[a], pos[b]) for a, b in zip(adjacency["a"], adjacency["b"], strict=True))
    broken = 0
    for g in np.unique(labels):
        if not nx.is_connected(graph.subgraph(np.flatnonzero(labels == g).tolist())):
            broken += 1
    return {
        "grids": int(per.size), "cv": float(per.std(ddof=0) / per.mean()), "pp": float(np.mean(pp)),
        "over_cap": int((per > cap).sum()), "non_contiguous": broken,
    }


def run_ours(units: gpd.GeoDataFrame, adjacency: pd.DataFrame, k: int) -> np.ndarray:
    part = partition_units(units, adjacency, k, weights={"households": 1.0}, seed=0)
    return part.labels.to_numpy()


def csr(units: gpd.GeoDataFrame, adjacency: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos = units.index.get_indexer
    a, b = pos(adjacency["a"]), pos(adjacency["b"])
    ln = adjacency["length_m"].to_numpy()
    s, d, w = np.r_[a, b], np.r_[b, a], np.r_[ln, ln]
    order = np.lexsort((d, s))
    s, d, w = s[order], d[order], w[order]
    xadj = np.zeros(len(units) + 1, dtype=np.int64)
    np.cumsum(np.bincount(s, minlength=len(units)), out=xadj[1:])
    return xadj, d, w


def run_metis(units: gpd.GeoDataFrame, adjacency: pd.DataFrame, k: int) -> np.ndarray:
    import pymetis

    xadj, adjncy, w = csr(units, adjacency)
    opts = pymetis.Options(contig=1, seed=0)
    res = pymetis.part_graph(
        k, pymetis.CSRAdjacency(xadj.tolist(), adjncy.tolist()), vweights=units["households"].astype(int).tolist(),
        eweights=np.maximum(1, np.round(w)).astype(int).tolist(), options=opts)
    return np.asarray(res.membership if hasattr(res, "membership") else res[1])


def run_metis_refined(units: gpd.GeoDataFrame, adjacency: pd.DataFrame, k: int) -> np.ndarray:
    """METIS, then gridservice's boundary-move local search from that start."""
    labels = run_metis(units, adjacency, k)
    xadj, d, w = csr(units, adjacency)
    s = np.repeat(np.arange(len(units)), np.diff(xadj))
    geoms = units.geometry.to_numpy()
    cen = shapely.centroid(geoms)
    hh = units["households"].to_numpy(dtype=float)
    eng = Engine(s, d, w, hh / hh.sum(), hh, shapely.area(geoms), shapely.length(geoms),
                 shapely.get_x(cen), shapely.get_y(cen), k, math.inf)
    return eng.improve(labels, compactness=1.0)


def _spopt_worker(kind: str, units: gpd.GeoDataFrame, k: int, queue: Any) -> None:
    warnings.filterwarnings("ignore")
    from libpysal.weights import Rook
    from spopt.region import AZP, MaxPHeuristic

    w = Rook.from_dataframe(units, use_index=False, silence_warnings=True)
    gdf = units.reset_index(drop=True)
    t0 = time.perf_counter()
    if kind == "azp":
        model = AZP(gdf, w, ["households"], n_clusters=k, random_state=0)
    else:
        threshold = 0.8 * gdf["households"].sum() / k
        model = MaxPHeuristic(gdf, w, ["households"], "households", threshold, top_n=2)
    c0 = time.process_time()
    np.random.seed(0)
    model.solve()
    queue.put((time.perf_counter() - t0, np.asarray(model.labels_), time.process_time() - c0))


def run_spopt(kind: str, units: gpd.GeoDataFrame, k: int, timeout: float) -> tuple[float, np.ndarray, float] | None:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_spopt_worker, args=(kind, units, k, queue))
    proc.start()
    try:
        return queue.get(timeout=timeout)
    except Exception:  # queue.Empty on timeout
        return None
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()


def bench(n: int, k: int, *, spopt: bool, timeout: float) -> None:
    units = synthetic_county(n, seed=0)
    t0 = time.perf_counter()
    adjacency = unit_adjacency(units)
    t_adj = time.perf_counter() - t0
    print(f"\n== {n:,} transformer areas → {k} grids "
          f"({units['households'].sum():,} households; adjacency {len(adjacency):,} pairs in {t_adj:.2f} s) ==")
    print(f"{'method':<26}{'time s':>9}{'cpu s':>8}{'grids':>7}{'CV':>9}{'mean PP':>9}{'over cap':>10}"
          f"{'non-contig':>12}")
    rows: dict[str, tuple[float, dict[str, Any]]] = {}

    def show(name: str, seconds: float, labels: np.ndarray, cpu: float | None = None) -> None:
        m = evaluate(units, adjacency, labels, k)
        rows[name] = (seconds, m)
        cpu_text = f"{cpu:>8.2f}" if cpu is not None else f"{'':>8}"
        print(f"{name:<26}{seconds:>9.2f}{cpu_text}{m['grids']:>7}{m['cv']:>9.4f}{m['pp']:>9.3f}"
              f"{m['over_cap']:>10}{m['non_contiguous']:>12}", flush=True)

    def timed(fn: Any) -> tuple[float, np.ndarray, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        labels = fn(units, adjacency, k)
        return time.perf_counter() - t0, labels, time.process_time() - c0

    wall, labels, cpu = timed(run_ours)
    show("gridservice", wall, labels, cpu)
    try:
        import pymetis  # noqa: F401
    except ImportError:
        print(f"{'METIS':<26}  skipped: pip install pymetis")
    else:
        wall, labels, cpu = timed(run_metis)
        show("METIS (contig)", wall, labels, cpu)
        wall, labels, cpu = timed(run_metis_refined)
        show("METIS + our local search", wall, labels, cpu)
    for kind, name in (("azp", "spopt AZP"), ("maxp", "spopt MaxP")):
        if not spopt:
            print(f"{name:<26}  skipped for {n:,} units (use --all; AZP/MaxP take minutes even on 800)")
            continue
        try:
            import spopt as _  # noqa: F401
        except ImportError:
            print(f"{name:<26}  skipped: pip install spopt")
            continue
        got = run_spopt(kind, units, k, timeout)
        if got is None:
            print(f"{name:<26}  stopped after the {timeout:.0f} s limit")
            continue
        show(name, *got)
    ours_t, ours_m = rows["gridservice"]
    print("ratios against gridservice (time: their wall time / ours; CV: theirs / ours):")
    for name, (sec, m) in rows.items():
        if name == "gridservice":
            continue
        print(f"  {name:<24} time {sec / max(ours_t, 1e-9):6.2f}×   CV {m['cv'] / max(ours_m['cv'], 1e-9):5.1f}×   "
              f"mean PP {m['pp']:.3f} vs {ours_m['pp']:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="only 800 → 40")
    parser.add_argument("--all", action="store_true", help="run AZP/MaxP on 8,000 units too")
    parser.add_argument("--timeout", type=float, default=300.0, help="limit for each AZP/MaxP run (s)")
    args = parser.parse_args(argv)
    bench(800, 40, spopt=True, timeout=args.timeout)
    if not args.small:
        bench(8000, 400, spopt=args.all, timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
