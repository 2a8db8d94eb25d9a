"""``propose_plan``: a draft grid plan for a service area, named and scored beside the current one."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from gridservice.errors import DataError, NotFoundError
from gridservice.model import ServiceArea
from gridservice.schema import CRS
from gridservice.spatial.propose.partition import partition_units
from gridservice.spatial.propose.scores import PlanScores, score_plan
from gridservice.spatial.propose.workload import parse_weights
from gridservice.spatial.units import atoms, customer_transformers, first_hit, transformer_areas, unit_adjacency

#: A transformer area (or interleaved group) above this multiple of the mean households per grid is reported.
OVERSIZED = 1.25

Progress = Callable[[str, float], None]

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
    lock = list(dict.fromkeys(str(g) for g in lock))
    locked, within, messages = _area_to_tile(area, lock)

    report("transformer areas", 0.05)
    unitset = transformer_areas(area, within=within)
    messages.extend(unitset.messages)
    units = unitset.units
    report("adjacency", 0.35)
    atom_frame = atoms(units)
    adjacency = unit_adjacency(atom_frame)

    households_total = float(units["households"].sum())
    if grids is not None:
        k = _unlocked_grids(grids, len(lock))
    else:
        k, note = _grids_for_members(area, households_per_member, households_total, len(lock))
        messages.append(note)
        k = min(k, len(atom_frame))

    messages.extend(_oversized_atoms(units, atom_frame, households_total / k))
    report("partitioning", 0.45)
    part = partition_units(atom_frame, adjacency, k, weights=weights, max_households=max_households,
                           within_stations=within_stations, seed=seed)
    messages.extend(part.messages)

    report("grid polygons", 0.8)
    out, units_ll = _grid_layer(area, units, part.labels, k, locked, within_stations=within_stations)

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


def _grid_layer(area: ServiceArea, units: gpd.GeoDataFrame, atom_labels: pd.Series, k: int,
                locked: gpd.GeoDataFrame, *, within_stations: bool) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The proposed grids layer (named grids and the locked ones) and the units (EPSG:4326) with their ``grid_id``."""
    lock = locked.index.tolist()
    unit_labels = units["atom"].map(atom_labels).to_numpy(dtype=np.int64)
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
    return out, units_ll


def _area_to_tile(area: ServiceArea, lock: list[str]) -> tuple[gpd.GeoDataFrame, shapely.Geometry | None, list[str]]:
    """The locked grids, the territory left to tile without them (``None``: all of it) and notes on
    transformer areas the locks split."""
    current = area.grids
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
    return locked, within, messages


def _unlocked_grids(grids: int, n_locked: int) -> int:
    """Grids to propose when ``grids`` are asked for in all and ``n_locked`` of them are locked."""
    if int(grids) != grids or grids < 1:
        msg = f"number of grids must be a whole number ≥ 1, got {grids}"
        raise DataError(msg)
    k = int(grids) - n_locked
    if k < 1:
        msg = f"{grids} grid(s) asked for but {n_locked} are locked: ask for more grids than locked ones"
        raise DataError(msg)
    return k


def _grids_for_members(area: ServiceArea, households_per_member: float | None, households: float,
                       n_locked: int) -> tuple[int, str]:
    """Grids to propose for ``households`` at ``households_per_member``, and the sum that says why."""
    if not households_per_member or households_per_member <= 0:
        msg = f"households per grid member must be above 0, got {households_per_member}"
        raise DataError(msg)
    m = members_per_grid(area)
    k = max(1, math.ceil(households / (float(households_per_member) * m)))
    note = (f"{households:,.0f} households ÷ ({households_per_member:,.0f} per member × {m} member(s) per grid)"
            f" → {k} grid(s)" + (f" besides the {n_locked} locked" if n_locked else ""))
    return k, note


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
