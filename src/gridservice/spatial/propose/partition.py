"""Split units into K contiguous, balanced, compact grids (steps 3–6 of :mod:`gridservice.spatial.propose`)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridservice.errors import DataError
from gridservice.spatial.propose.engine import SCHEDULE, Engine
from gridservice.spatial.propose.workload import workload

#: Independent starts (bisections at different angles) for pieces up to 2,000 units, and
#: beyond; the best is kept.
STARTS = (1, 1)
#: Iterated-local-search kicks (at most 4 per grid) and the share of border units a kick moves.
KICKS = 150
#: Pieces above this many units are polished in blocks of at most BLOCK_GRIDS grids.
BIG_PIECE = 2000
BLOCK_GRIDS = 40
#: Passes over the blocks of a big piece.
BLOCK_PASSES = 2
#: Kicks per grid of a block.
BLOCK_KICKS_PER_GRID = 3
KICK_SHARE = 0.02
#: Closing pass over a big piece, after its blocks were polished one by one: a tighter tolerance.
FINAL_PHASES: tuple[tuple[float, float | None], ...] = ((0.028, 0.006),)


@dataclass
class Partition:
    """Result of :func:`partition_units`.

    Attributes
    ----------
    labels
        Unit id → grid number (0 … k−1).
    messages
        Plain-language notes: caps that cannot be met, pieces, and so on.
    over_cap
        Grid numbers whose households exceed the cap.
    """

    labels: pd.Series
    messages: list[str] = field(default_factory=list)
    over_cap: list[int] = field(default_factory=list)


def partition_units(
    units: gpd.GeoDataFrame,
    adjacency: pd.DataFrame,
    k: int,
    *,
    weights: Mapping[str, float] | str | None = None,
    max_households: float | None = None,
    within_stations: bool = False,
    seed: int = 0,
    compactness: float = 1.0,
) -> Partition:
    """Split units into ``k`` contiguous, balanced, compact grids.

    Parameters
    ----------
    units
        Polygons in a projected CRS (metres), indexed by unit id, with the
        weighted criteria as columns (``households``, ``work_orders``, and
        ``area_km2`` for ``area``; ``area_km2`` is computed when missing),
        and ``station_id`` when ``within_stations``.
    adjacency
        Shared boundaries from :func:`~gridservice.spatial.units.unit_adjacency`
        (columns ``a``, ``b``, ``length_m``).
    k
        Number of grids.
    weights
        Workload weights (:func:`parse_weights`).
    max_households
        Hard cap on households per grid, met whenever the units allow.
    within_stations
        Never put units of two stations in one grid.
    seed
        Random seed (turns the bisection directions, drives the kicks); same seed, same plan.
    compactness
        Multiplier of the compactness weight λ (0: balance only).

    Returns
    -------
    Partition

    Examples
    --------
    >>> part = partition_units(units, unit_adjacency(units), 4, weights={"households": 1})  # doctest: +SKIP
    >>> part.labels.value_counts()  # doctest: +SKIP
    """
    _check_units(units, k)
    n = len(units)
    frame = units
    geoms = units.geometry.to_numpy()
    if "area_km2" not in frame.columns:
        frame = frame.assign(area_km2=shapely.area(geoms) / 1e6)
    load = workload(frame, weights).to_numpy()
    households, cap = _households_and_cap(frame, max_households)

    src, dst, length = _edges(units.index, adjacency)
    stations = None
    if within_stations:
        stations = _stations(frame)
        same = stations[src] == stations[dst]
        src, dst, length = src[same], dst[same], length[same]
    n_pieces, piece = connected_components(
        coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)), directed=False)

    messages = _cap_not_feasible(units.index, households, cap, k)
    if n_pieces > k:
        what = "station parts and separate pieces" if within_stations else "separate pieces (islands)"
        msg = (f"the units form {n_pieces} {what} that no grid can join; "
               f"ask for at least {n_pieces} grids (got {k})")
        raise DataError(msg)
    if k > n:
        msg = f"cannot make {k} grids from {n} transformer areas; ask for at most {n}"
        raise DataError(msg)

    wp = np.bincount(piece, weights=load, minlength=n_pieces)
    hp = np.bincount(piece, weights=households, minlength=n_pieces)
    np_units = np.bincount(piece, minlength=n_pieces)
    alloc, short = _allocate(wp, hp, np_units, k, cap)
    if short and not any(m.startswith("cap not feasible") for m in messages):
        messages.append(
            f"cap not feasible: the pieces need {short} more grid(s) than the {k} asked for to stay under "
            f"{cap:,.0f} households each")
    if stations is not None:
        messages.append(_grids_per_station(piece, alloc, stations))

    labels = np.full(n, -1, dtype=np.int64)
    cx = shapely.get_x(shapely.centroid(geoms))
    cy = shapely.get_y(shapely.centroid(geoms))
    area_m2 = frame["area_km2"].to_numpy(dtype=float) * 1e6
    perim = shapely.length(geoms)
    offset = 0
    rng = np.random.default_rng(seed)
    order = np.argsort(-wp, kind="stable")  # big pieces first; fixed order keeps the seed stream stable
    for p in order:
        members = np.flatnonzero(piece == p)
        kp = int(alloc[p])
        local = _partition_piece(
            members, kp, src, dst, length, load, households, area_m2, perim, cx, cy,
            cap=cap, rng=rng, compactness=compactness)
        labels[members] = local + offset
        offset += kp

    over = np.bincount(labels, weights=households, minlength=k) > cap
    over_cap = np.flatnonzero(over).tolist()
    if over_cap:
        messages.append(
            f"cap not met: {len(over_cap)} grid(s) stay above {cap:,.0f} households"
            + ("" if any(m.startswith("cap not feasible") for m in messages) else
               "; no contiguous arrangement of whole transformer areas was found that keeps them under"))
    return Partition(labels=pd.Series(labels, index=units.index, name="grid"), messages=messages, over_cap=over_cap)


def _check_units(units: gpd.GeoDataFrame, k: int) -> None:
    """Refuse a number of grids that is not a whole number ≥ 1, and no, unprojected or repeated units."""
    if not isinstance(k, int | np.integer) or k < 1:
        msg = f"number of grids must be a whole number ≥ 1, got {k!r}"
        raise DataError(msg)
    if len(units) == 0:
        msg = "no units to partition"
        raise DataError(msg)
    if units.crs is not None and not units.crs.is_projected:
        msg = "partition_units needs units in a projected CRS (metres); reproject with area.to_metric()"
        raise DataError(msg)
    if units.index.has_duplicates:
        msg = f"unit ids must be unique; repeated: {units.index[units.index.duplicated()][:5].tolist()}"
        raise DataError(msg)


def _households_and_cap(frame: pd.DataFrame, max_households: float | None) -> tuple[np.ndarray, float]:
    """Households per unit (0 without the column) and the cap per grid (∞ without one)."""
    households = (pd.to_numeric(frame["households"], errors="coerce").fillna(0).to_numpy(dtype=float)
                  if "households" in frame.columns else np.zeros(len(frame)))
    if max_households is not None and "households" not in frame.columns:
        msg = "max_households needs a households column on the units"
        raise DataError(msg)
    cap = float(max_households) if max_households is not None else math.inf
    if cap <= 0:
        msg = f"max_households must be above 0, got {max_households}"
        raise DataError(msg)
    return households, cap


def _stations(frame: pd.DataFrame) -> np.ndarray:
    """Each unit's station id ("" where missing), for ``within_stations``."""
    if "station_id" not in frame.columns:
        msg = "within_stations needs a station_id column on the units"
        raise DataError(msg)
    return frame["station_id"].astype("str").fillna("").to_numpy()


def _cap_not_feasible(index: pd.Index, households: np.ndarray, cap: float, k: int) -> list[str]:
    """Why no plan can meet the cap: units that alone exceed it, or too few grids for all households."""
    messages: list[str] = []
    single = np.flatnonzero(households > cap)
    if len(single):
        ids = ", ".join(f"{index[i]} ({int(households[i]):,})" for i in single[:5])
        messages.append(
            f"cap not feasible: {len(single)} transformer area(s) alone hold more than {cap:,.0f} households "
            f"and cannot be split: {ids}")
    if math.isfinite(cap) and k * cap < households.sum():
        messages.append(
            f"cap not feasible: {k} grids × {cap:,.0f} households = {k * cap:,.0f} < {households.sum():,.0f} "
            f"households in total; ask for at least {math.ceil(households.sum() / cap)} grids")
    return messages


def _grids_per_station(piece: np.ndarray, alloc: np.ndarray, stations: np.ndarray) -> str:
    """How many grids each station got (a note for the planner)."""
    first = np.zeros(len(alloc), dtype=np.int64)
    first[piece[::-1]] = np.arange(len(piece))[::-1]  # a member of each piece
    per_station = pd.Series(alloc).groupby(stations[first]).sum()
    return "grids per station: " + ", ".join(f"{s_} {int(v)}" for s_, v in per_station.items())


def _edges(index: pd.Index, adjacency: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed edge arrays (both directions) in unit positions."""
    if not len(adjacency):
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0)
    a = index.get_indexer(adjacency["a"])
    b = index.get_indexer(adjacency["b"])
    if (a < 0).any() or (b < 0).any():
        bad = adjacency.loc[(a < 0) | (b < 0), ["a", "b"]].iloc[0].tolist()
        msg = f"adjacency names a unit that is not in the units: {bad}"
        raise DataError(msg)
    ln = adjacency["length_m"].to_numpy(dtype=float) if "length_m" in adjacency.columns else np.ones(len(a))
    keep = a != b
    a, b, ln = a[keep], b[keep], ln[keep]
    return np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([ln, ln])


def _allocate(w: np.ndarray, h: np.ndarray, size: np.ndarray, k: int, cap: float) -> tuple[np.ndarray, int]:
    """Grids per piece: ≥ 1 (and ≥ ⌈h/cap⌉), then greedily where W²/(k(k+1)) is largest."""
    need = np.ones(len(w), dtype=np.int64)
    if math.isfinite(cap):
        need = np.maximum(need, np.ceil(h / cap - 1e-9).astype(np.int64))
    need = np.minimum(need, size)
    short = 0
    if need.sum() > k:
        short = int(need.sum() - k)
        # Keep the cap where it matters most: trim the pieces with the lightest households per grid.
        while need.sum() > k:
            i = int(np.argmax(np.where(need > 1, -h / need, -np.inf)))
            need[i] -= 1
    alloc = need.copy()
    heap = [(-(w[i] ** 2) / (alloc[i] * (alloc[i] + 1)), i) for i in range(len(w)) if alloc[i] < size[i]]
    heapq.heapify(heap)
    for _ in range(k - int(alloc.sum())):
        if not heap:
            break
        _, i = heapq.heappop(heap)
        alloc[i] += 1
        if alloc[i] < size[i]:
            heapq.heappush(heap, (-(w[i] ** 2) / (alloc[i] * (alloc[i] + 1)), i))
    return alloc, short


def _partition_piece(
    members: np.ndarray, k: int, src: np.ndarray, dst: np.ndarray, length: np.ndarray,
    load: np.ndarray, households: np.ndarray, area_m2: np.ndarray, perim: np.ndarray,
    cx: np.ndarray, cy: np.ndarray, *, cap: float, rng: np.random.Generator, compactness: float,
    starts: int | None = None,
) -> np.ndarray:
    """Labels 0..k-1 for one connected piece (positions ``members``)."""
    m = len(members)
    if k == 1:
        return np.zeros(m, dtype=np.int64)
    pos = np.full(len(load), -1, dtype=np.int64)
    pos[members] = np.arange(m)
    keep = (pos[src] >= 0) & (pos[dst] >= 0)
    engine = Engine(
        pos[src[keep]], pos[dst[keep]], length[keep], load[members], households[members], area_m2[members],
        perim[members], cx[members], cy[members], k, cap)
    if starts is None:
        starts = STARTS[0] if m <= BIG_PIECE else STARTS[1]
    best, best_cost = None, math.inf
    for _ in range(max(1, starts)):
        labels = engine.improve(engine.repair(engine.bisect(rng)), compactness=compactness)
        cost = engine.objective(labels, SCHEDULE[-1][0] * compactness)
        if cost < best_cost - 1e-15:
            best, best_cost = labels, cost
    assert best is not None
    if compactness <= 0:
        return best
    if m <= BIG_PIECE:
        return _kick(engine, best, rng, min(KICKS, 4 * k), compactness)
    # A big piece: polish blocks of neighbouring grids (subtrees of the bisection) one at a time,
    # each against the piece's own target, then let the borders between blocks settle.
    blocks = [np.arange(off, off + kk) for off, kk in _blocks(k, BLOCK_GRIDS)]
    for _ in range(BLOCK_PASSES):
        for grids in blocks:
            best = _polish_block(engine, best, grids, rng, compactness)
        best = engine.improve(best, compactness=compactness, phases=SCHEDULE[-1:])
        blocks = _tiles(engine, best, BLOCK_GRIDS)  # the next pass straddles the last one's block borders
    return engine.improve(best, compactness=compactness, phases=FINAL_PHASES)


def _polish_block(engine: Engine, labels: np.ndarray, grids: np.ndarray, rng: np.random.Generator,
                  compactness: float) -> np.ndarray:
    """Iterated local search on the units of some grids only."""
    code = np.full(engine.k, -1, dtype=np.int64)
    code[grids] = np.arange(len(grids))
    inside = np.flatnonzero(code[labels] >= 0)
    sub = engine.subset(inside, len(grids))
    out = labels.copy()
    kicks = min(KICKS, BLOCK_KICKS_PER_GRID * len(grids))
    out[inside] = grids[_kick(sub, code[labels[inside]], rng, kicks, compactness)]
    return out


def _tiles(engine: Engine, labels: np.ndarray, size: int) -> list[np.ndarray]:
    """Grids in tiles of about ``size``: vertical strips of grid centroids, cut along y."""
    k = engine.k
    wsum = np.bincount(labels, weights=engine.area, minlength=k)
    gx = np.bincount(labels, weights=engine.area * engine.xy[:, 0], minlength=k) / np.maximum(wsum, 1e-9)
    gy = np.bincount(labels, weights=engine.area * engine.xy[:, 1], minlength=k) / np.maximum(wsum, 1e-9)
    n_tiles = max(1, round(k / size))
    strips = max(1, round(math.sqrt(n_tiles)))
    by_x = np.argsort(gx, kind="stable")
    out = []
    for strip in np.array_split(by_x, strips):
        strip = strip[np.argsort(gy[strip], kind="stable")]
        out.extend(np.array_split(strip, max(1, round(len(strip) / size))))
    return [t for t in out if len(t) > 1]


def _kick(engine: Engine, best: np.ndarray, rng: np.random.Generator, kicks: int, compactness: float) -> np.ndarray:
    """Iterated local search: kick the plan a little, descend again, keep what improves."""
    lam = SCHEDULE[-1][0] * compactness
    engine.tol = SCHEDULE[-1][1]
    best_cost = engine.objective(best, lam)
    for _ in range(kicks):
        kicked, touched = engine.perturb(best, rng, KICK_SHARE)
        labels = engine.improve(kicked, compactness=compactness, phases=SCHEDULE[-1:], active=touched)
        cost = engine.objective(labels, lam)
        if cost < best_cost - 1e-15:
            best, best_cost = labels, cost
    return best


def _blocks(k: int, size: int) -> list[tuple[int, int]]:
    """The label ranges (offset, count) of the bisection subtrees with at most ``size`` grids."""
    out, stack = [], [(0, k)]
    while stack:
        off, kk = stack.pop()
        if kk <= size:
            out.append((off, kk))
        else:
            k1 = kk // 2
            stack += [(off + k1, kk - k1), (off, k1)]
    return sorted(out)

