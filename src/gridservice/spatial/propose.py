"""Balanced, compact grid proposals built from whole transformer areas.

A planner asks for K grids (or for one grid member per N households) and gets
a draft plan: every grid a contiguous set of whole transformer areas
(:mod:`gridservice.spatial.units`), workloads as equal as the units allow,
shapes compact, locked grids untouched, station boundaries kept on request and
a households cap met whenever it can be. The draft goes through plan check,
preview and commit like a hand-drawn plan.

How it works
------------
1. **Units.** Transformer areas tile the territory less the locked grids;
   areas whose customers interleave are grouped into one *atom* so that no
   grid gets an exclave (:func:`~gridservice.spatial.units.transformer_areas`).
2. **Workload.** Each unit's workload is a weighted sum of its shares of the
   criteria (``households=1, work_orders=0.3, area=0.1`` by default): every
   criterion is first divided by its total, so weights compare like with like,
   and the workloads add up to 1.
3. **Pieces.** Units that cannot share a grid (different stations with
   ``within_stations``, or parts of the area that do not touch) form
   separate pieces. The K grids are shared out among pieces by the greedy
   rule that minimises Σ k·(W/k − T)² — at least one grid per piece and at
   least ⌈households / cap⌉ under a cap.
4. **Start.** Recursive bisection: the piece is cut by the straight line
   (among 12 directions, turned by the seed) that splits the workload
   k₁ : k₂ with the shortest shared boundary across it, and so on down to
   single grids; detached bits of a grid go to the neighbour they share most
   boundary with.
5. **Local search.** Each round scores, with numpy over all border units at
   once, moving a unit to a neighbouring grid and swapping two units across
   a border: the change in Σ ((L − T)/T)² + λ·Σ (1 − Polsby-Popper) +
   μ·Σ over-cap share (plus a steep penalty beyond a balance tolerance in the
   last phases). The best improving moves touching disjoint grids are
   applied, each only if its old grid stays connected (a breadth-first
   search on that grid). Grid perimeters are updated exactly from shared
   boundary lengths, so no geometry is touched in the loop, and after the
   first round only moves touching a changed grid are scored. λ falls over
   phases: shapes first, then balance.
6. **Kicks.** Iterated local search: a few random border moves, descend
   again, keep the plan if it is better (4 kicks per grid, at most 150).
   Pieces of more than 2,000 units are polished in blocks of neighbouring
   grids (bisection subtrees, then tiles across their borders).

Same seed, same plan: every random choice comes from ``numpy.random.default_rng(seed)``.

Scores (:func:`score_plan`, the same for the current plan and a proposal)
--------------------------------------------------------------------------
- ``balance``: 100 × (1 − CV) of grid workloads, clipped to 0–100; per grid,
  100 × (1 − |L/mean − 1|). CV is the population standard deviation over the
  mean.
- ``compactness``: 100 × mean Polsby-Popper (4πA/P²) of the grids; per grid,
  100 × its Polsby-Popper. A disc scores 100, a square 78.5.
- ``households_per_member``: households over the grid members
  (``grid_staff`` role ``grid_member``) of the grid, and of the plan.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridservice.errors import DataError, NotFoundError
from gridservice.model import ServiceArea
from gridservice.schema import CRS
from gridservice.spatial.units import (
    UnitSet,
    atoms,
    customer_transformers,
    first_hit,
    last_year_work_orders,
    transformer_areas,
    unit_adjacency,
)

#: Default workload weights (SPEC §1: balanced automatic proposals).
DEFAULT_WEIGHTS: dict[str, float] = {"households": 1.0, "work_orders": 0.3, "area": 0.1}
#: Weight names that are not a column name of their own.
WEIGHT_ALIASES = {"area": "area_km2"}
#: Local-search phases: (compactness weight λ, balance tolerance). Shapes first; then
#: deviations beyond the tolerance (a share of the target workload) cost TOL_PENALTY more.
SCHEDULE: tuple[tuple[float, float | None], ...] = ((0.1, None), (0.05, None), (0.03, 0.01), (0.028, 0.008))
TOL_PENALTY = 10.0
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
#: A transformer area (or interleaved group) above this multiple of the mean households per grid is reported.
OVERSIZED = 1.25
#: Weight of the over-cap share in the objective; large enough to dominate.
CAP_PENALTY = 50.0
#: Closing pass over a big piece, after its blocks were polished one by one: a tighter tolerance.
FINAL_PHASES: tuple[tuple[float, float | None], ...] = ((0.028, 0.006),)

Progress = Callable[[str, float], None]


# ----------------------------------------------------------------------------- workload

def parse_weights(text: str | Mapping[str, float] | None) -> dict[str, float]:
    """Workload weights from ``"households=1,work_orders=0.3,area=0.1"`` (or a mapping).

    Raises
    ------
    DataError
        On a malformed item or a negative weight, or when all weights are 0.

    Examples
    --------
    >>> parse_weights("households=1, area=0.5")
    {'households': 1.0, 'area': 0.5}
    """
    if text is None:
        return dict(DEFAULT_WEIGHTS)
    items: dict[str, object]
    if isinstance(text, Mapping):
        items = {str(k): v for k, v in text.items()}
    else:
        items = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                msg = f"weights: {part!r} is not name=value (e.g. households=1,work_orders=0.3,area=0.1)"
                raise DataError(msg)
            items[name.strip()] = value.strip()
    out: dict[str, float] = {}
    for key, given in items.items():
        try:
            w = float(given)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            msg = f"weights: {key}={given!r} is not a number"
            raise DataError(msg) from None
        if not math.isfinite(w) or w < 0:
            msg = f"weights: {key}={given} must be a number ≥ 0"
            raise DataError(msg)
        out[key] = w
    if not out or sum(out.values()) <= 0:
        msg = "weights: at least one weight must be above 0"
        raise DataError(msg)
    return out


def workload(frame: pd.DataFrame, weights: Mapping[str, float] | str | None = None) -> pd.Series:
    """Each row's weighted share of the criteria; the shares add up to 1.

    Each criterion column is divided by its total (a criterion whose total is
    0 is left out), then the shares are combined with the weights normalised
    to sum to 1. ``area`` reads the ``area_km2`` column. Without ``weights``
    the defaults apply to the criteria the frame has.

    Raises
    ------
    DataError
        When a weighted criterion is not a column of ``frame``.
    """
    if weights is None:  # the defaults, for the criteria the frame has
        weights = {k: v for k, v in DEFAULT_WEIGHTS.items() if WEIGHT_ALIASES.get(k, k) in frame.columns}
        weights = weights or {"households": 1.0}
    weights = parse_weights(weights)
    parts: list[tuple[float, np.ndarray]] = []
    for name, w in weights.items():
        if w == 0:
            continue
        col = WEIGHT_ALIASES.get(name, name)
        if col not in frame.columns:
            known = ", ".join(k for k in ("households", "work_orders", "area")
                              if WEIGHT_ALIASES.get(k, k) in frame.columns)
            msg = f"weights: no criterion {name!r} (known: {known})"
            raise DataError(msg)
        x = pd.to_numeric(frame[col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        total = x.sum()
        if total > 0:
            parts.append((w, x / total))
    if not parts:
        return pd.Series(np.full(len(frame), 1.0 / max(len(frame), 1)), index=frame.index, name="workload")
    wsum = sum(w for w, _ in parts)
    load = sum(w * x for w, x in parts) / wsum
    return pd.Series(load, index=frame.index, name="workload")


# ----------------------------------------------------------------------------- partition

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
    if not isinstance(k, int | np.integer) or k < 1:
        msg = f"number of grids must be a whole number ≥ 1, got {k!r}"
        raise DataError(msg)
    n = len(units)
    if n == 0:
        msg = "no units to partition"
        raise DataError(msg)
    if units.crs is not None and not units.crs.is_projected:
        msg = "partition_units needs units in a projected CRS (metres); reproject with area.to_metric()"
        raise DataError(msg)
    if units.index.has_duplicates:
        msg = f"unit ids must be unique; repeated: {units.index[units.index.duplicated()][:5].tolist()}"
        raise DataError(msg)
    frame = units
    geoms = units.geometry.to_numpy()
    if "area_km2" not in frame.columns:
        frame = frame.assign(area_km2=shapely.area(geoms) / 1e6)
    load = workload(frame, weights).to_numpy()
    households = (pd.to_numeric(frame["households"], errors="coerce").fillna(0).to_numpy(dtype=float)
                  if "households" in frame.columns else np.zeros(n))
    if max_households is not None and "households" not in frame.columns:
        msg = "max_households needs a households column on the units"
        raise DataError(msg)
    cap = float(max_households) if max_households is not None else math.inf
    if cap <= 0:
        msg = f"max_households must be above 0, got {max_households}"
        raise DataError(msg)

    src, dst, length = _edges(units.index, adjacency)
    stations = None
    if within_stations:
        if "station_id" not in frame.columns:
            msg = "within_stations needs a station_id column on the units"
            raise DataError(msg)
        stations = frame["station_id"].astype("str").fillna("").to_numpy()
        same = stations[src] == stations[dst]
        src, dst, length = src[same], dst[same], length[same]
    n_pieces, piece = connected_components(
        coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)), directed=False)

    messages: list[str] = []
    single = np.flatnonzero(households > cap)
    if len(single):
        ids = ", ".join(f"{units.index[i]} ({int(households[i]):,})" for i in single[:5])
        messages.append(
            f"cap not feasible: {len(single)} transformer area(s) alone hold more than {cap:,.0f} households "
            f"and cannot be split: {ids}")
    if math.isfinite(cap) and k * cap < households.sum():
        messages.append(
            f"cap not feasible: {k} grids × {cap:,.0f} households = {k * cap:,.0f} < {households.sum():,.0f} "
            f"households in total; ask for at least {math.ceil(households.sum() / cap)} grids")
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
        first = np.zeros(n_pieces, dtype=np.int64)
        first[piece[::-1]] = np.arange(n)[::-1]  # a member of each piece
        per_station = pd.Series(alloc).groupby(stations[first]).sum()
        messages.append("grids per station: " + ", ".join(f"{s_} {int(v)}" for s_, v in per_station.items()))

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
    engine = _Engine(
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


def _polish_block(engine: _Engine, labels: np.ndarray, grids: np.ndarray, rng: np.random.Generator,
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


def _tiles(engine: _Engine, labels: np.ndarray, size: int) -> list[np.ndarray]:
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


def _kick(engine: _Engine, best: np.ndarray, rng: np.random.Generator, kicks: int, compactness: float) -> np.ndarray:
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


class _Engine:
    """Recursive bisection, contiguity repair and vectorised boundary-move local search on one piece.

    Positions 0..m-1 index the units; ``s, d, ln`` are directed edges (both
    directions) with the shared boundary length in metres.
    """

    #: Cut directions tried at each bisection.
    ANGLES = 12

    def __init__(self, s: np.ndarray, d: np.ndarray, ln: np.ndarray, w: np.ndarray, h: np.ndarray,
                 area: np.ndarray, perim: np.ndarray, cx: np.ndarray, cy: np.ndarray, k: int, cap: float) -> None:
        order = np.lexsort((d, s))
        self.s, self.d, self.ln = s[order], d[order], ln[order]
        self.w, self.h, self.area, self.perim = w, h, area, perim
        self.xy = np.column_stack([cx, cy])
        self.k, self.cap = k, cap
        self.m = len(w)
        self.target = w.sum() / k
        self.tol: float | None = None
        self.tol_penalty = TOL_PENALTY
        indptr = np.zeros(self.m + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.s, minlength=self.m), out=indptr[1:])
        dl = self.d.tolist()
        self.nbrs = [dl[indptr[i]:indptr[i + 1]] for i in range(self.m)]
        self.edge_key = self.s * self.m + self.d  # sorted: s major, d minor

    def subset(self, members: np.ndarray, k: int) -> _Engine:
        """An engine on some of the units (the grids wholly inside them), aiming at this engine's target."""
        pos = np.full(self.m, -1, dtype=np.int64)
        pos[members] = np.arange(len(members))
        keep = (pos[self.s] >= 0) & (pos[self.d] >= 0)
        sub = _Engine(pos[self.s[keep]], pos[self.d[keep]], self.ln[keep], self.w[members], self.h[members],
                      self.area[members], self.perim[members], self.xy[members, 0], self.xy[members, 1], k, self.cap)
        sub.target = self.target
        return sub

    # -- start: recursive bisection ------------------------------------------------------------

    def bisect(self, rng: np.random.Generator) -> np.ndarray:
        """Cut the piece in two by the straight line (among :attr:`ANGLES` directions) with the
        shortest shared boundary across it that splits the workload k₁ : k₂, and recurse."""
        labels = np.zeros(self.m, dtype=np.int64)
        turn = rng.uniform(0, math.pi)
        stack = [(np.arange(self.m), self.k, 0)]
        inside = np.zeros(self.m, dtype=bool)
        side = np.zeros(self.m, dtype=bool)
        angles = turn + np.linspace(0, math.pi, self.ANGLES, endpoint=False)
        dirs = np.column_stack([np.cos(angles), np.sin(angles)])
        while stack:
            idx, kk, off = stack.pop()
            if kk == 1 or len(idx) == 1:
                labels[idx] = off
                continue
            k1 = kk // 2
            inside[:] = False
            inside[idx] = True
            e = inside[self.s] & inside[self.d]
            es, ed, el = self.s[e], self.d[e], self.ln[e]
            proj = self.xy[idx] @ dirs.T  # (len(idx), angles)
            wl = self.w[idx]
            want = wl.sum() * k1 / kk
            best_cut, best_left = math.inf, None
            for a in range(self.ANGLES):
                order = np.argsort(proj[:, a], kind="stable")
                cum = np.cumsum(wl[order])
                c = int(np.argmin(np.abs(cum - want)))
                c = min(max(c, k1 - 1), len(idx) - (kk - k1) - 1)  # leave at least one unit per grid
                left = np.zeros(len(idx), dtype=bool)
                left[order[:c + 1]] = True
                side[idx] = left
                cut = el[side[es] != side[ed]].sum()
                if cut < best_cut:
                    best_cut, best_left = cut, left
            assert best_left is not None
            stack.append((idx[~best_left], kk - k1, off + k1))
            stack.append((idx[best_left], k1, off))
        return labels

    # -- contiguity repair ---------------------------------------------------------------------

    def repair(self, labels: np.ndarray) -> np.ndarray:
        """Give every detached piece of a grid to the neighbouring grid it shares most boundary with."""
        lab = labels.copy()
        for _ in range(50):
            same = lab[self.s] == lab[self.d]
            n_comp, comp = connected_components(
                coo_matrix((np.ones(int(same.sum())), (self.s[same], self.d[same])), shape=(self.m, self.m)),
                directed=False)
            if n_comp == self.k:
                return lab
            cw = np.bincount(comp, weights=self.w + 1e-12, minlength=n_comp)
            cg = np.zeros(n_comp, dtype=np.int64)
            cg[comp] = lab
            frame = pd.DataFrame({"c": np.arange(n_comp), "g": cg, "w": cw}).sort_values(
                ["g", "w", "c"], ascending=[True, False, True])
            main = np.zeros(n_comp, dtype=bool)
            main[frame.drop_duplicates("g")["c"].to_numpy()] = True
            stray = ~main[comp]
            # boundary of stray components towards other grids
            e = stray[self.s] & ~same
            if not e.any():
                break
            tab = pd.DataFrame({"c": comp[self.s[e]], "g": lab[self.d[e]], "l": self.ln[e]})
            tab = tab.groupby(["c", "g"], sort=True)["l"].sum().reset_index()
            tab = tab.sort_values(["c", "l", "g"], ascending=[True, False, True]).drop_duplicates("c")
            target = np.full(n_comp, -1, dtype=np.int64)
            target[tab["c"].to_numpy()] = tab["g"].to_numpy()
            move = stray & (target[comp] >= 0)
            lab[move] = target[comp[move]]
        return lab  # pragma: no cover - repair converges within a few passes

    # -- local search --------------------------------------------------------------------------

    def _cost(self, ld: np.ndarray, ar: np.ndarray, pm: np.ndarray, hh: np.ndarray, lam: float) -> np.ndarray:
        tgt = self.target
        dev = (ld - tgt) / tgt
        c = dev ** 2
        if self.tol is not None:
            c = c + self.tol_penalty * np.maximum(np.abs(dev) - self.tol, 0.0) ** 2
        if lam:
            c = c + lam * (1.0 - 4.0 * np.pi * ar / np.maximum(pm, 1e-9) ** 2)
        if math.isfinite(self.cap):
            c = c + CAP_PENALTY * np.maximum(hh - self.cap, 0.0) / self.cap
        return c

    def _totals(self, lab: np.ndarray) -> tuple[np.ndarray, ...]:
        k, s, d, ln = self.k, self.s, self.d, self.ln
        ld = np.bincount(lab, weights=self.w, minlength=k)
        hh = np.bincount(lab, weights=self.h, minlength=k)
        ar = np.bincount(lab, weights=self.area, minlength=k)
        inner = lab[s] == lab[d]
        pm = np.bincount(lab, weights=self.perim, minlength=k) - np.bincount(
            lab[s[inner]], weights=ln[inner], minlength=k)
        return ld, hh, ar, pm, np.bincount(lab, minlength=k)

    def objective(self, labels: np.ndarray, lam: float) -> float:
        """Σ over grids of the local-search cost at compactness weight ``lam``."""
        ld, hh, ar, pm, _ = self._totals(labels)
        return float(self._cost(ld, ar, pm, hh, lam).sum())

    def _length_between(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        key = u * self.m + v
        i = np.searchsorted(self.edge_key, key)
        i = np.minimum(i, len(self.edge_key) - 1)
        hit = self.edge_key[i] == key if len(self.edge_key) else np.zeros(len(key), dtype=bool)
        return np.where(hit, self.ln[i] if len(self.ln) else 0.0, 0.0)

    def improve(self, labels: np.ndarray, *, compactness: float, max_rounds: int = 5000,
                phases: Sequence[tuple[float, float | None]] | None = None,
                active: np.ndarray | None = None) -> np.ndarray:
        """Single-unit moves and pairwise swaps across grid borders that lower
        imbalance + λ·(1 − PP) + μ·over-cap, each grid staying connected.

        A move's gain depends only on its two grids, so after the first round
        only moves touching a grid changed in the previous round are scored
        (``active``: the grids to score in the first round; default all).
        """
        k = self.k
        lab = labels.copy()
        lab_list = lab.tolist()
        s, d, ln = self.s, self.d, self.ln
        ld, hh, ar, pm, cnt = self._totals(lab)
        phases = SCHEDULE if phases is None else phases
        schedule = [(lam * compactness, tol) for lam, tol in phases] if compactness > 0 else [(0.0, None)]
        cost = self._cost
        for phase, (lam, tol) in enumerate(schedule):
            self.tol = tol
            self.tol_penalty = TOL_PENALTY
            act = active.copy() if (active is not None and phase == 0) else np.ones(k, dtype=bool)
            for _ in range(max_rounds):
                ga, gb = lab[s], lab[d]
                cross = ga != gb
                own = np.bincount(s[~cross], weights=ln[~cross], minlength=self.m)
                sel = cross & (act[ga] | act[gb])
                key = s[sel] * k + gb[sel]
                if not len(key):
                    break
                uk, inv = np.unique(key, return_inverse=True)
                shared = np.bincount(inv, weights=ln[sel])
                u = uk // k
                b = uk % k
                a = lab[u]
                wu, hu, au, pu = self.w[u], self.h[u], self.area[u], self.perim[u]
                ca, cb = cost(ld[a], ar[a], pm[a], hh[a], lam), cost(ld[b], ar[b], pm[b], hh[b], lam)
                delta = (cost(ld[a] - wu, ar[a] - au, pm[a] - pu + 2 * own[u], hh[a] - hu, lam)
                         + cost(ld[b] + wu, ar[b] + au, pm[b] + pu - 2 * shared, hh[b] + hu, lam)) - ca - cb
                movable = cnt[a] > 1
                # Swaps: u a→b with v b→a across the same border.
                cand_u = np.flatnonzero(movable)
                sw = self._swaps(u[cand_u], a[cand_u], b[cand_u], own, shared[cand_u], ld, ar, pm, hh, lam,
                                 ca[cand_u] + cb[cand_u])
                moves_i = np.flatnonzero(movable & (delta < -1e-12))
                m_delta = delta[moves_i]
                s_delta = sw[4] if sw is not None else np.zeros(0)
                keep_sw = np.flatnonzero(s_delta < -1e-12) if sw is not None else np.zeros(0, dtype=np.int64)
                allc = np.concatenate([m_delta, s_delta[keep_sw]])
                if not len(allc):
                    break
                order = np.argsort(allc, kind="stable").tolist()
                n_single = len(moves_i)
                mu, ma, mb = u[moves_i].tolist(), a[moves_i].tolist(), b[moves_i].tolist()
                msh = shared[moves_i].tolist()
                if sw is not None:
                    su, sv, sa, sb = (x[keep_sw].tolist() for x in sw[:4])
                    spa, spb = sw[5][keep_sw].tolist(), sw[6][keep_sw].tolist()
                used = [False] * k
                moved = 0
                own_l = own
                for j in order:
                    if j < n_single:
                        ga_, gb_ = ma[j], mb[j]
                        if used[ga_] or used[gb_]:
                            continue
                        uu = mu[j]
                        if not self._stays_connected(uu, ga_, lab_list):
                            continue
                        used[ga_] = used[gb_] = True
                        self._apply(uu, ga_, gb_, lab, lab_list, ld, hh, ar, cnt)
                        pm[ga_] += -self.perim[uu] + 2 * own_l[uu]
                        pm[gb_] += self.perim[uu] - 2 * msh[j]
                        moved += 1
                    else:
                        j -= n_single
                        ga_, gb_ = sa[j], sb[j]
                        if used[ga_] or used[gb_]:
                            continue
                        uu, vv = su[j], sv[j]
                        if not (self._stays_connected(uu, ga_, lab_list) and self._stays_connected(vv, gb_, lab_list)):
                            continue
                        used[ga_] = used[gb_] = True
                        self._apply(uu, ga_, gb_, lab, lab_list, ld, hh, ar, cnt)
                        self._apply(vv, gb_, ga_, lab, lab_list, ld, hh, ar, cnt)
                        pm[ga_] = spa[j]
                        pm[gb_] = spb[j]
                        moved += 1
                if not moved:
                    break
                act = np.asarray(used, dtype=bool)
        return lab

    def perturb(self, labels: np.ndarray, rng: np.random.Generator, share: float) -> tuple[np.ndarray, np.ndarray]:
        """Move a random ``share`` of the border units to a neighbouring grid (grids stay connected).

        Returns the new labels and which grids changed.
        """
        lab = labels.copy()
        lab_list = lab.tolist()
        cross = lab[self.s] != lab[self.d]
        cu, cg = self.s[cross], lab[self.d[cross]]
        touched_mask = np.zeros(self.k, dtype=bool)
        if not len(cu):
            return lab, touched_mask
        cnt = np.bincount(lab, minlength=self.k)
        touched: set[int] = set()
        for i in rng.permutation(len(cu))[: max(1, int(share * len(cu)))].tolist():
            u, b = int(cu[i]), int(cg[i])
            a = lab_list[u]
            if a == b or a in touched or b in touched or cnt[a] <= 1:
                continue
            if not self._stays_connected(u, a, lab_list):
                continue
            lab_list[u] = b
            lab[u] = b
            cnt[a] -= 1
            cnt[b] += 1
            touched.update((a, b))
        touched_mask[list(touched)] = True
        return lab, touched_mask

    def _apply(self, u: int, a: int, b: int, lab: np.ndarray, lab_list: list[int],
               ld: np.ndarray, hh: np.ndarray, ar: np.ndarray, cnt: np.ndarray) -> None:
        lab[u] = b
        lab_list[u] = b
        ld[a] -= self.w[u]
        ld[b] += self.w[u]
        hh[a] -= self.h[u]
        hh[b] += self.h[u]
        ar[a] -= self.area[u]
        ar[b] += self.area[u]
        cnt[a] -= 1
        cnt[b] += 1

    def _swaps(self, u: np.ndarray, a: np.ndarray, b: np.ndarray, own: np.ndarray, sh: np.ndarray,
               ld: np.ndarray, ar: np.ndarray, pm: np.ndarray, hh: np.ndarray, lam: float,
               before: np.ndarray) -> tuple[np.ndarray, ...] | None:
        """Best swap partners: u (a→b) with v (b→a); returns u, v, a, b, delta, new P_a, new P_b."""
        if not len(u):
            return None
        k = self.k
        # Pair every move a→b with every move b→a (a sorted join in numpy).
        back = b * k + a
        order = np.argsort(back, kind="stable")
        sorted_back = back[order]
        fwd = a * k + b
        lo = np.searchsorted(sorted_back, fwd, side="left")
        hi = np.searchsorted(sorted_back, fwd, side="right")
        n_pair = hi - lo
        if not n_pair.sum():
            return None
        i = np.repeat(np.arange(len(u)), n_pair)
        start = np.repeat(lo - np.r_[0, np.cumsum(n_pair)[:-1]], n_pair)
        j = order[start + np.arange(len(i))]
        uu, vv, ga, gb = u[i], u[j], a[i], b[i]
        luv = self._length_between(uu, vv)
        # v must still touch a without u, and u must still touch b without v.
        s_ub, s_va = sh[i], sh[j]
        ok = (s_ub - luv > 0) & (s_va - luv > 0)
        if not ok.any():
            return None
        i, j, uu, vv, ga, gb, luv, s_ub, s_va = (x[ok] for x in (i, j, uu, vv, ga, gb, luv, s_ub, s_va))
        dw, dh, da = self.w[uu] - self.w[vv], self.h[uu] - self.h[vv], self.area[uu] - self.area[vv]
        pa = pm[ga] - self.perim[uu] + 2 * own[uu] + self.perim[vv] - 2 * (s_va - luv)
        pb = pm[gb] - self.perim[vv] + 2 * own[vv] + self.perim[uu] - 2 * (s_ub - luv)
        after = (self._cost(ld[ga] - dw, ar[ga] - da, pa, hh[ga] - dh, lam)
                 + self._cost(ld[gb] + dw, ar[gb] + da, pb, hh[gb] + dh, lam))
        delta = after - before[i]
        return uu, vv, ga, gb, delta, pa, pb

    def _stays_connected(self, u: int, g: int, lab: list[int]) -> bool:
        """Whether grid ``g`` stays connected without unit ``u`` (BFS from one neighbour)."""
        nbrs = self.nbrs
        targets = [v for v in nbrs[u] if lab[v] == g]
        if len(targets) <= 1:
            return True
        need = set(targets[1:])
        seen = {u, targets[0]}
        stack = [targets[0]]
        while stack:
            x = stack.pop()
            for y in nbrs[x]:
                if y not in seen and lab[y] == g:
                    if y in need:
                        need.discard(y)
                        if not need:
                            return True
                    seen.add(y)
                    stack.append(y)
        return not need


# ----------------------------------------------------------------------------- scores

@dataclass
class PlanScores:
    """Scores of one plan, per grid and for the whole plan.

    Attributes
    ----------
    grids
        Per grid (index ``grid_id``): ``code``, ``households``,
        ``work_orders``, ``area_km2``, ``workload`` (share, sums to 1),
        ``polsby_popper``, ``parts``, ``members``, ``households_per_member``,
        ``balance`` and ``compactness`` (0–100).
    summary
        ``grids``, ``households``, ``households_cv``, ``workload_cv``,
        ``balance``, ``compactness``, ``mean_polsby_popper``, ``members``,
        ``households_per_member``, ``non_contiguous``, ``over_cap``.
    """

    grids: pd.DataFrame
    summary: dict[str, Any]


def score_plan(
    area: ServiceArea,
    grids: gpd.GeoDataFrame | None = None,
    *,
    weights: Mapping[str, float] | str | None = None,
    max_households: float | None = None,
) -> PlanScores:
    """Balance and compactness scores of a plan (the current one by default).

    Customers count in the grid that contains them, work orders (last year,
    see :func:`~gridservice.spatial.units.last_year_work_orders`) in their
    customer's grid or, without a customer, where they were reported.

    Parameters
    ----------
    area
        The service area (customers, work orders, grid staff).
    grids
        Grid polygons in EPSG:4326 indexed by ``grid_id`` (or with a
        ``grid_id`` column); default ``area.grids``.
    weights
        Workload weights (:func:`parse_weights`).
    max_households
        Count grids above this many households in ``summary["over_cap"]``.
    """
    grids = area.grids if grids is None else _grid_index(grids)
    if grids.crs is None:
        grids = grids.set_crs(CRS)
    ids = grids.index
    gl = grids.geometry.to_crs(CRS).to_numpy()
    frame = pd.DataFrame(index=ids)
    frame["code"] = grids["code"].astype("str") if "code" in grids.columns else ids.astype("str")
    customers = area.customers
    cust_grid = pd.Series(dtype="str")
    if len(customers) and len(grids):
        hit = first_hit(gl, customers.geometry.to_numpy())
        cust_grid = pd.Series(np.where(hit >= 0, ids.to_numpy()[np.maximum(hit, 0)], None), index=customers.index)
    frame["households"] = cust_grid.dropna().value_counts().reindex(ids, fill_value=0).astype("int64")
    wo = last_year_work_orders(area)
    wo_grid = pd.Series(dtype="str")
    if len(wo) and len(grids):
        wo_grid = wo["customer_id"].map(cust_grid) if "customer_id" in wo.columns else pd.Series(None, index=wo.index)
        loose = wo_grid.isna().to_numpy()
        if loose.any() and isinstance(wo, gpd.GeoDataFrame):
            hit = first_hit(gl, wo.geometry.to_numpy()[loose])
            vals = wo_grid.to_numpy(dtype=object)
            vals[np.flatnonzero(loose)] = np.where(hit >= 0, ids.to_numpy()[np.maximum(hit, 0)], None)
            wo_grid = pd.Series(vals, index=wo.index)
    frame["work_orders"] = wo_grid.dropna().value_counts().reindex(ids, fill_value=0).astype("int64")
    gm = gpd.GeoSeries(gl, crs=CRS).to_crs(area.metric_crs if not area.territory.is_empty else _utm(gl)).to_numpy()
    frame["area_km2"] = shapely.area(gm) / 1e6
    per = shapely.length(gm)
    frame["polsby_popper"] = np.where(per > 0, 4 * np.pi * shapely.area(gm) / np.maximum(per, 1e-9) ** 2, 0.0)
    frame["parts"] = shapely.get_num_geometries(gm)
    frame["workload"] = workload(frame, weights) if len(frame) else pd.Series(dtype=float)
    staff = area.grid_staff
    if len(staff):
        members = staff.loc[staff["role"] == "grid_member", "grid_id"].value_counts()
    else:
        members = pd.Series(dtype="int64")
    frame["members"] = members.reindex(ids, fill_value=0).astype("int64")
    frame["households_per_member"] = (frame["households"] / frame["members"].where(frame["members"] > 0)).astype(float)
    mean = frame["workload"].mean() if len(frame) else np.nan
    frame["balance"] = (100 * (1 - (frame["workload"] / mean - 1).abs())).clip(0, 100).round(1)
    frame["compactness"] = (100 * frame["polsby_popper"]).round(1)
    hh = frame["households"].to_numpy(dtype=float)
    wl = frame["workload"].to_numpy(dtype=float)
    members_total = int(frame["members"].sum())
    summary: dict[str, Any] = {
        "grids": len(frame),
        "households": int(hh.sum()),
        "households_cv": _cv(hh),
        "workload_cv": _cv(wl),
        "balance": round(float(np.clip(100 * (1 - _cv(wl)), 0, 100)), 1) if len(wl) else float("nan"),
        "compactness": round(float(100 * frame["polsby_popper"].mean()), 1) if len(frame) else float("nan"),
        "mean_polsby_popper": float(frame["polsby_popper"].mean()) if len(frame) else float("nan"),
        "members": members_total,
        "households_per_member": float(hh.sum() / members_total) if members_total else float("nan"),
        "non_contiguous": int((frame["parts"] > 1).sum()),
        "over_cap": int((frame["households"] > max_households).sum()) if max_households is not None else 0,
    }
    return PlanScores(grids=frame, summary=summary)


def _cv(x: np.ndarray) -> float:
    if not len(x) or x.mean() == 0:
        return float("nan")
    return float(x.std() / x.mean())


def _utm(geoms: np.ndarray) -> str:
    c = shapely.centroid(shapely.union_all(geoms))
    zone = int((c.x + 180) // 6) + 1
    return f"EPSG:{32600 + zone if c.y >= 0 else 32700 + zone}"


def _grid_index(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    grids = grids.set_index("grid_id") if "grid_id" in grids.columns else grids.copy()
    grids.index = grids.index.astype("str")
    grids.index.name = "grid_id"
    return grids


# ----------------------------------------------------------------------------- proposal

GRID_COLUMNS = ["code", "name", "station_id", "area_class"]


@dataclass
class Proposal:
    """A draft grid plan with its scores beside the current plan's.

    Attributes
    ----------
    grids
        The proposed grids layer (EPSG:4326, index ``grid_id``; columns
        ``code``, ``name``, ``station_id``, ``area_class``, ``geometry``):
        locked grids unchanged, matched grids keep their id and code, new
        grids get new ones.
    scores
        Scores of the proposal (:class:`PlanScores`).
    current
        Scores of the current plan, for side-by-side comparison.
    units
        The transformer areas (EPSG:4326) with the ``grid_id`` each went to.
    messages
        Plain notes: infeasible caps, unlinked customers, locked grids that
        split a transformer area, and so on.
    """

    grids: gpd.GeoDataFrame
    scores: PlanScores
    current: PlanScores
    units: gpd.GeoDataFrame
    messages: list[str] = field(default_factory=list)

    def to_geojson(self) -> dict[str, Any]:
        """The proposal as a GeoJSON FeatureCollection that plan check, preview and commit accept."""
        out = self.grids.reset_index()[["grid_id", *GRID_COLUMNS, "geometry"]]
        return out.to_geo_dict(drop_id=True)

    def comparison(self) -> pd.DataFrame:
        """Plan scores side by side: one row per score, columns ``current`` and ``proposal``."""
        keys = ["grids", "households", "households_per_member", "balance", "compactness", "households_cv",
                "workload_cv", "mean_polsby_popper", "non_contiguous", "over_cap"]
        return pd.DataFrame({
            "score": keys,
            "current": pd.Series([self.current.summary.get(k) for k in keys], dtype=object),
            "proposal": pd.Series([self.scores.summary.get(k) for k in keys], dtype=object),
        })


def members_per_grid(area: ServiceArea) -> int:
    """Grid members per grid in the current plan (rounded mean, at least 1)."""
    staff = area.grid_staff
    if not len(staff) or not len(area.grids):
        return 1
    per = staff.loc[staff["role"] == "grid_member"].groupby("grid_id").size().reindex(area.grids.index, fill_value=0)
    return max(1, round(float(per.mean())))


def propose_plan(
    area: ServiceArea,
    *,
    grids: int | None = None,
    households_per_member: float | None = None,
    lock: Sequence[str] = (),
    within_stations: bool = False,
    max_households: float | None = None,
    weights: Mapping[str, float] | str | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Proposal:
    """Propose a balanced, compact grid plan made of whole transformer areas.

    Parameters
    ----------
    area
        The service area (customers, meters, transformers, current grids).
    grids
        Number of grids in the proposal, the locked ones included.
    households_per_member
        Instead of ``grids``: households one grid member can serve. The
        unlocked grids number ⌈households in the unlocked area / (N × m)⌉,
        m being the current plan's grid members per grid (rounded mean, at
        least 1; :func:`members_per_grid`).
    lock
        Grid ids kept exactly as they are.
    within_stations
        Keep station boundaries: each station's transformer areas are split
        on their own, its number of grids in proportion to its workload.
    max_households
        Hard cap on households per grid; when it cannot be met the messages
        say why.
    weights
        Workload weights (default ``households=1,work_orders=0.3,area=0.1``).
    seed
        Same seed, same proposal.
    progress
        Optional ``progress(step, fraction)`` callback.

    Raises
    ------
    DataError
        Neither or both of ``grids`` and ``households_per_member``; fewer
        grids than locked ones plus the area's separate pieces; no units.
    NotFoundError
        A locked grid id that is not in the plan.

    Examples
    --------
    >>> prop = propose_plan(area, grids=12, seed=0)  # doctest: +SKIP
    >>> prop.comparison()  # doctest: +SKIP
    """
    report = progress or (lambda step, fraction: None)
    weights = parse_weights(weights)
    if (grids is None) == (households_per_member is None):
        msg = "give either a number of grids or households per grid member, not both or neither"
        raise DataError(msg)
    current = area.grids
    lock = list(dict.fromkeys(str(g) for g in lock))
    unknown = [g for g in lock if g not in current.index]
    if unknown:
        msg = f"cannot lock grid(s) {', '.join(unknown)}: not in the current plan"
        raise NotFoundError(msg)
    territory = area.territory
    if territory.is_empty:
        msg = "cannot propose grids: the service area has no territory (service_area or grids layer)"
        raise DataError(msg)
    messages: list[str] = []
    locked = current.loc[lock]
    within = None
    if lock:
        within = shapely.difference(shapely.make_valid(territory), shapely.union_all(locked.geometry.to_numpy()))
        within = _drop_slivers(within, area)
        if within.is_empty:
            msg = "the locked grids cover the whole territory: nothing left to propose"
            raise DataError(msg)
        messages.extend(_locked_splits(area, locked))

    report("transformer areas", 0.05)
    unitset = transformer_areas(area, within=within)
    messages.extend(unitset.messages)
    units = unitset.units
    report("adjacency", 0.35)
    atom_frame = atoms(units)
    adjacency = unit_adjacency(atom_frame)

    households_total = float(units["households"].sum())
    if grids is not None:
        if int(grids) != grids or grids < 1:
            msg = f"number of grids must be a whole number ≥ 1, got {grids}"
            raise DataError(msg)
        k = int(grids) - len(lock)
        if k < 1:
            msg = f"{grids} grid(s) asked for but {len(lock)} are locked: ask for more grids than locked ones"
            raise DataError(msg)
    else:
        if not households_per_member or households_per_member <= 0:
            msg = f"households per grid member must be above 0, got {households_per_member}"
            raise DataError(msg)
        m = members_per_grid(area)
        k = max(1, math.ceil(households_total / (float(households_per_member) * m)))
        messages.append(
            f"{households_total:,.0f} households ÷ ({households_per_member:,.0f} per member × {m} member(s) per grid)"
            f" → {k} grid(s)" + (f" besides the {len(lock)} locked" if lock else ""))
        k = min(k, len(atom_frame))

    messages.extend(_oversized_atoms(units, atom_frame, households_total / k))
    report("partitioning", 0.45)
    part = partition_units(atom_frame, adjacency, k, weights=weights, max_households=max_households,
                           within_stations=within_stations, seed=seed)
    messages.extend(part.messages)

    report("grid polygons", 0.8)
    unit_labels = units["atom"].map(part.labels).to_numpy(dtype=np.int64)
    units_ll = units.to_crs(CRS)
    geoms_ll = units_ll.geometry.to_numpy()
    polys = [shapely.union_all(geoms_ll[unit_labels == g]) for g in range(k)]
    proposed = gpd.GeoDataFrame({"label": np.arange(k)}, geometry=polys, crs=CRS)
    proposed["station_id"] = _majority(units["station_id"], pd.Series(unit_labels), units["households"], k)
    named = _name_grids(proposed, area, locked_ids=lock, within_stations=within_stations)
    out = pd.concat([named, locked[[*GRID_COLUMNS, "geometry"]]]) if lock else named
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=CRS)
    out.index.name = "grid_id"
    units_ll["grid_id"] = named.index.to_numpy()[unit_labels]

    report("scores", 0.9)
    scores = score_plan(area, out, weights=weights, max_households=max_households)
    cur = score_plan(area, weights=weights, max_households=max_households)
    if max_households is not None and lock:
        held = scores.grids.loc[lock, "households"]
        over = held[held > max_households]
        if len(over):
            messages.append("locked grid(s) above the cap, kept as they are: "
                            + ", ".join(f"{g} ({int(h):,})" for g, h in over.items()))
    split = _split_transformers(area, out)
    if split:
        messages.append(f"{split} transformer area(s) end up with customers in more than one grid "
                        "(customers at a shared spot or inside a locked grid)")
    report("done", 1.0)
    return Proposal(grids=out, scores=scores, current=cur, units=units_ll, messages=messages)


def _oversized_atoms(units: gpd.GeoDataFrame, atom_frame: gpd.GeoDataFrame, per_grid: float) -> list[str]:
    """Say which transformer areas (or interleaved groups of them) alone exceed a grid's share."""
    big = atom_frame.loc[atom_frame["households"] > OVERSIZED * per_grid, "households"]
    if not len(big):
        return []
    worst = big.idxmax()
    members = int((units["atom"] == worst).sum())
    what = "transformer area" if members == 1 else f"group of {members} interleaved transformer areas"
    return [f"{len(big)} transformer area(s) or interleaved group(s) alone hold more than {OVERSIZED:g} × the "
            f"{per_grid:,.0f} households per grid (largest: {worst}, a {what}, {int(big[worst]):,} households); "
            "the grids holding them cannot be brought down to the mean"]


def _drop_slivers(geom: shapely.Geometry, area: ServiceArea) -> shapely.Geometry:
    """The polygonal part of ``geom`` without zero-area crumbs left by a difference."""
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    if not parts:
        return shapely.Polygon()
    metric = gpd.GeoSeries(parts, crs=CRS).to_crs(area.metric_crs)
    keep = [p for p, a in zip(parts, metric.area.to_numpy(), strict=True) if a > 1.0]
    return shapely.union_all(keep) if keep else shapely.Polygon()


def _locked_splits(area: ServiceArea, locked: gpd.GeoDataFrame) -> list[str]:
    """Transformers with customers both inside and outside the locked grids."""
    tid = customer_transformers(area)
    if not len(tid) or tid.isna().all():
        return []
    inside = shapely.intersects(shapely.union_all(locked.geometry.to_numpy()), area.customers.geometry.to_numpy())
    df = pd.DataFrame({"t": tid.to_numpy(), "in": inside}).dropna(subset=["t"])
    mixed = df.groupby("t")["in"].agg(["any", "all"])
    mixed = mixed[mixed["any"] & ~mixed["all"]].index.tolist()
    if not mixed:
        return []
    return [f"{len(mixed)} transformer area(s) straddle a locked grid's boundary and stay split: "
            + ", ".join(mixed[:10]) + (" …" if len(mixed) > 10 else "")]


def _majority(values: pd.Series, labels: pd.Series, weight: pd.Series, k: int) -> list[str | None]:
    df = pd.DataFrame({"v": values.to_numpy(), "g": labels.to_numpy(), "w": weight.to_numpy(dtype=float) + 1e-9})
    df = df.dropna(subset=["v"])
    best = df.groupby(["g", "v"])["w"].sum().reset_index().sort_values(["g", "w", "v"], ascending=[True, False, True])
    best = best.drop_duplicates("g").set_index("g")["v"]
    return [best.get(g) for g in range(k)]


def _name_grids(proposed: gpd.GeoDataFrame, area: ServiceArea, *, locked_ids: list[str],
                within_stations: bool) -> gpd.GeoDataFrame:
    """Reuse ids and codes of the current grids each proposed grid overlaps most (Hungarian matching)."""
    current = area.grids.drop(index=locked_ids)
    metric = area.metric_crs
    pm = proposed.geometry.to_crs(metric).to_numpy()
    k = len(proposed)
    out = pd.DataFrame(index=range(k), columns=["grid_id", *GRID_COLUMNS], dtype=object)
    overlap_best_class: list[str | None] = [None] * k
    if len(current):
        cm = current.geometry.to_crs(metric).to_numpy()
        pi, ci = shapely.STRtree(cm).query(pm, predicate="intersects")
        ov = shapely.area(shapely.intersection(pm[pi], cm[ci])) if len(pi) else np.zeros(0)
        mat = np.zeros((k, len(current)))
        np.add.at(mat, (pi, ci), ov)
        rows, cols = linear_sum_assignment(mat, maximize=True)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if mat[r, c] <= 0:
                continue
            src = current.iloc[c]
            out.loc[r, "grid_id"] = str(current.index[c])
            for col in GRID_COLUMNS:
                out.loc[r, col] = src[col]
        for r in range(k):
            if mat[r].max() > 0:
                overlap_best_class[r] = current["area_class"].iloc[int(mat[r].argmax())]
    taken_ids = set(area.grids.index.astype(str))
    taken_codes = set(area.grids["code"].astype(str)) if len(area.grids) else set()
    if len(area.grid_history):
        taken_ids |= set(area.grid_history["grid_id"].astype(str))
        taken_codes |= set(area.grid_history["code"].astype(str))
    if within_stations:
        # The station is the one whose transformer areas make up the grid.
        have = proposed["station_id"].notna().to_numpy()
        out.loc[have, "station_id"] = proposed.loc[have, "station_id"].to_numpy()
    for r in [r for r in range(k) if pd.isna(out.loc[r, "grid_id"])]:
        station = proposed["station_id"].iloc[r]
        if pd.isna(station) and len(area.stations):
            station = str(area.stations.index[0])
        # New ids and codes follow the pattern of the station's own grids (NF-CQ-01 → NF-CQ-03).
        mine = area.grids[area.grids["station_id"] == station] if len(area.grids) else area.grids
        gid = _new_labels(taken_ids, set(mine.index.astype(str)), fallback=f"{station}-")
        code = _new_labels(taken_codes, set(mine["code"].astype(str)) if len(mine) else set(), fallback=f"{station}-")
        taken_ids.add(gid)
        taken_codes.add(code)
        out.loc[r, "grid_id"] = gid
        out.loc[r, "code"] = code
        out.loc[r, "name"] = f"新网格 {code}"
        out.loc[r, "area_class"] = overlap_best_class[r] or "rural"
        out.loc[r, "station_id"] = station
    if out["station_id"].isna().any() and len(area.stations):
        out["station_id"] = out["station_id"].fillna(str(area.stations.index[0]))
    frame = gpd.GeoDataFrame(out.astype("str"), geometry=proposed.geometry.to_numpy(), crs=CRS)
    frame = frame.set_index("grid_id")
    return frame


def _new_labels(taken: set[str], pattern: set[str], *, fallback: str) -> str:
    """A fresh label not in ``taken`` following ``pattern`` (prefix + zero-padded number), else ``fallback``."""
    prefix, width, top = fallback, 2, 0
    numbered = [(t.rstrip("0123456789"), t[len(t.rstrip("0123456789")):]) for t in pattern]
    numbered = [(p, d) for p, d in numbered if d]
    if numbered:
        counts = pd.Series([p for p, _ in numbered]).value_counts()
        prefix = str(counts.index[0])
        digits = [d for p, d in numbered if p == prefix]
        width = max(len(d) for d in digits)
        top = max(int(d) for d in digits)
    i = top
    while True:
        i += 1
        label = f"{prefix}{i:0{width}d}"
        if label not in taken:
            return label


def _split_transformers(area: ServiceArea, grids: gpd.GeoDataFrame) -> int:
    """How many transformers have customers in more than one of ``grids``."""
    tid = customer_transformers(area)
    if not len(tid) or not len(grids):
        return 0
    hit = first_hit(grids.geometry.to_numpy(), area.customers.geometry.to_numpy())
    df = pd.DataFrame({"t": tid.to_numpy(), "g": hit}).dropna(subset=["t"])
    df = df[df["g"] >= 0]
    return int((df.groupby("t")["g"].nunique() > 1).sum())


__all__ = [
    "DEFAULT_WEIGHTS",
    "Partition",
    "PlanScores",
    "Proposal",
    "UnitSet",
    "members_per_grid",
    "parse_weights",
    "partition_units",
    "propose_plan",
    "score_plan",
    "workload",
]
