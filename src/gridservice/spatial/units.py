"""Transformer areas (台区) as the indivisible units of a grid plan.

A grid plan must never split a transformer area between grids, so automatic
proposals (:mod:`gridservice.spatial.propose`) build grids from whole
transformer areas. A transformer area is the union of the Voronoi cells of the
customers the transformer supplies, clipped to the territory: every customer
lies inside its own transformer's area, and the areas tile the territory
without gaps or overlaps.

How the edge cases are handled (and reported in :attr:`UnitSet.messages`):

- A customer is linked to its transformer through ``customers.meter_id`` →
  ``meters.transformer_id``, or ``meters.access_point_id`` →
  ``access_points.transformer_id`` when the meter names no transformer.
- Customers with no such link (no meter, or a meter with no transformer) do
  not shape the areas; each belongs to the area that contains it.
- Customers at the very same spot but on different transformers cannot be
  separated by any line: the spot goes to the transformer with most customers
  there (ties: the smaller id) and the others are reported.
- A transformer with no customers gets the Voronoi cell of its own location
  (a small cell among its neighbours' customers); if it stands exactly where a
  customer is, it has no area of its own and lies inside that customer's unit.
- Customers outside the territory (or outside ``within``) are left out and
  counted.

Everything is computed in the service area's metric CRS; the unit polygons
are returned in that CRS with their area, perimeter, centroid, households and
last year's work orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.errors import DataError
from gridservice.model import ServiceArea
from gridservice.schema import CRS

#: Shared boundaries shorter than this (metres) do not make two units neighbours.
MIN_SHARED_M = 0.01
#: Customer locations closer than this (metres) count as one spot.
SAME_SPOT_M = 0.01


@dataclass
class UnitSet:
    """Transformer areas ready for partitioning.

    Attributes
    ----------
    units
        GeoDataFrame in the metric CRS indexed by ``unit_id`` (the
        transformer id) with ``households``, ``work_orders``, ``area_km2``,
        ``perimeter_m``, ``grid_id`` (the current grid it overlaps most),
        ``station_id`` and ``parts`` (number of polygon parts).
    customer_unit
        Customer id → unit id for every customer inside the tiled area.
    messages
        Plain-language notes on unlinked, co-located and outside customers.
    """

    units: gpd.GeoDataFrame
    customer_unit: pd.Series
    messages: list[str] = field(default_factory=list)


def customer_transformers(area: ServiceArea) -> pd.Series:
    """Each customer's transformer id (missing where no link leads to a known transformer).

    Examples
    --------
    >>> customer_transformers(area).loc["C0000001"]  # doctest: +SKIP
    'T0001'
    """
    customers, meters, aps = area.customers, area.meters, area.access_points
    out = pd.Series(pd.NA, index=customers.index, dtype="str", name="transformer_id")
    if not len(customers) or "meter_id" not in customers.columns or not len(meters):
        return out
    via_meter = meters["transformer_id"] if "transformer_id" in meters.columns else pd.Series(dtype="str")
    if len(aps) and "access_point_id" in meters.columns:
        via_ap = meters["access_point_id"].map(aps["transformer_id"])
        via_meter = via_meter.reindex(meters.index).fillna(via_ap)
    tid = customers["meter_id"].map(via_meter)
    tid = tid.where(tid.isin(area.transformers.index))
    return tid.astype("str").rename("transformer_id")


def last_year_work_orders(area: ServiceArea) -> pd.DataFrame:
    """Work orders received in the 365 days up to the latest one in the data.

    The data's own latest timestamp, not the clock, ends the year, so the
    same data always gives the same workload.
    """
    wo = area.work_orders
    if not len(wo):
        return wo
    end = wo["received_at"].max()
    return wo[wo["received_at"] > end - pd.Timedelta(days=365)]


def transformer_areas(area: ServiceArea, *, within: shapely.Geometry | None = None) -> UnitSet:
    """Tile the territory (or ``within``) with transformer areas.

    Parameters
    ----------
    area
        The service area.
    within
        Polygon (EPSG:4326) to tile instead of the whole territory, such as
        the territory less the locked grids. Customers outside it are left out.

    Returns
    -------
    UnitSet
        The units in ``area.metric_crs`` and the customer → unit map.

    Raises
    ------
    DataError
        When there is no territory, or no customer or transformer inside it.
    """
    region = area.territory if within is None else within
    if region is None or region.is_empty:
        msg = "cannot build transformer areas: the service area has no territory (service_area or grids layer)"
        raise DataError(msg)
    region = shapely.make_valid(region)
    metric = area.metric_crs
    messages: list[str] = []
    region_m = gpd.GeoSeries([region], crs=CRS).to_crs(metric).iloc[0]
    shapely.prepare(region)

    customers = area.customers
    cust_xy = _metric_xy(customers, metric)
    inside = _inside(region, customers)
    tid = customer_transformers(area)
    linked = tid.notna().to_numpy() & inside
    unlinked = ~tid.notna().to_numpy() & inside
    outside = int((~inside).sum())
    if outside:
        where = "the territory" if within is None else "the area to tile (in a locked grid or off the territory)"
        messages.append(f"{outside:,} customer(s) lie outside {where} and belong to no transformer area")

    spots, winners, clash_note = _spots(customers, cust_xy, tid, linked)
    messages.extend(clash_note)
    gen, gen_unit, idle_note = _generators(area, region, metric, tid, winners)
    messages.extend(idle_note)
    units, atom = _unit_polygons(gen, gen_unit, region, region_m, metric)
    cu, unlinked_note = _customer_units(spots, customers.index[unlinked], cust_xy[unlinked], units)
    messages.extend(unlinked_note)
    messages.extend(_add_unit_columns(area, units, cu, atom))
    return UnitSet(units=units, customer_unit=cu, messages=messages)


def _spots(customers: gpd.GeoDataFrame, cust_xy: np.ndarray, tid: pd.Series,
           linked: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Linked customers with the unit of their spot (``unit``), and the spots, each won by the
    transformer with most customers there (``x``, ``y`` in SAME_SPOT_M steps, ``t``)."""
    spots = pd.DataFrame({
        "x": np.round(cust_xy[linked, 0] / SAME_SPOT_M), "y": np.round(cust_xy[linked, 1] / SAME_SPOT_M),
        "t": tid.to_numpy()[linked], "customer_id": customers.index.to_numpy()[linked],
    })
    counts = spots.groupby(["x", "y", "t"], sort=True).size().rename("n").reset_index()
    counts = counts.sort_values(["x", "y", "n", "t"], ascending=[True, True, False, True], kind="stable")
    winners = counts.drop_duplicates(["x", "y"], keep="first")
    spots = spots.merge(winners[["x", "y", "t"]].rename(columns={"t": "unit"}), on=["x", "y"], how="left")
    clash = spots["unit"] != spots["t"]
    messages: list[str] = []
    if clash.any():
        messages.append(
            f"{int(clash.sum()):,} customer(s) share their exact location with customers of another transformer; "
            "they are counted in the transformer area drawn there (the one with more customers at the spot)"
        )
    return spots, winners, messages


def _generators(area: ServiceArea, region: shapely.Geometry, metric: str, tid: pd.Series,
                winners: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The Voronoi generators (metric xy) and their unit ids: the customers' spots, plus the
    location of each transformer inside ``region`` that supplies no customer."""
    gen = winners[["x", "y"]].to_numpy() * SAME_SPOT_M
    gen_unit = winners["t"].to_numpy()
    messages: list[str] = []
    trs = area.transformers
    served = pd.Index(pd.unique(tid.dropna()))
    empty = trs[~trs.index.isin(served) & _inside(region, trs)]
    if len(empty):
        exy = _metric_xy(empty, metric)
        key = pd.MultiIndex.from_arrays([np.round(exy[:, 0] / SAME_SPOT_M), np.round(exy[:, 1] / SAME_SPOT_M)])
        taken = key.isin(pd.MultiIndex.from_frame(winners[["x", "y"]]))
        fresh = ~taken & ~key.duplicated()
        gen = np.vstack([gen, exy[fresh]])
        gen_unit = np.concatenate([gen_unit, empty.index.to_numpy()[fresh]])
        messages.append(
            f"{len(empty):,} transformer(s) inside the area supply no customer: each gets the small cell around "
            "its location"
            + (f" ({int((~fresh).sum())} stand on another unit's spot and join it)" if (~fresh).any() else "")
        )
    if len(gen) == 0:
        msg = ("cannot build transformer areas: no customer is linked to a transformer and no transformer lies "
               "inside the area")
        raise DataError(msg)
    return gen, gen_unit, messages


def _unit_polygons(gen: np.ndarray, gen_unit: np.ndarray, region: shapely.Geometry, region_m: shapely.Geometry,
                   metric: str) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """The units (metric CRS, index ``unit_id``): Voronoi cells dissolved per unit, clipped to the
    region, tidied (:func:`_tidy_pieces`); and each unit's atom."""
    cells = _voronoi(gen, region_m)
    units_m = gpd.GeoDataFrame({"unit_id": gen_unit}, geometry=cells, crs=metric)
    units_m = units_m.dissolve(by="unit_id", method="coverage")
    # Clip in EPSG:4326 so the outer edges are exactly the territory's own vertices.
    units_ll = units_m.to_crs(CRS)
    clipped = _polygonal(shapely.intersection(units_ll.geometry.to_numpy(), region))
    keep = ~shapely.is_empty(clipped)
    units = gpd.GeoDataFrame(index=units_ll.index[keep], geometry=clipped[keep], crs=CRS).to_crs(metric)
    units.index.name = "unit_id"
    return _tidy_pieces(units, gen, gen_unit)


def _customer_units(spots: pd.DataFrame, unlinked: pd.Index, unlinked_xy: np.ndarray,
                    units: gpd.GeoDataFrame) -> tuple[pd.Series, list[str]]:
    """Customer → unit: linked customers by their spot, unlinked ones by the polygon that holds them."""
    cu = pd.Series(spots["unit"].to_numpy(), index=pd.Index(spots["customer_id"].to_numpy(), name="customer_id"))
    messages: list[str] = []
    if len(unlinked):
        pts = shapely.points(unlinked_xy)
        hit = first_hit(units.geometry.to_numpy(), pts)
        ids = np.where(hit >= 0, units.index.to_numpy()[np.maximum(hit, 0)], None)
        cu = pd.concat([cu, pd.Series(ids, index=unlinked)])
        messages.append(
            f"{len(unlinked):,} customer(s) have no meter→transformer link; each is counted in the "
            "transformer area that contains it"
        )
    cu = cu.dropna().astype("str").rename("unit_id")
    return cu[cu.isin(units.index)], messages


def _add_unit_columns(area: ServiceArea, units: gpd.GeoDataFrame, cu: pd.Series, atom: pd.Series) -> list[str]:
    """Add the columns of :attr:`UnitSet.units` in place; say which units come in several pieces."""
    units["households"] = cu.value_counts().reindex(units.index, fill_value=0).astype("int64")
    units["work_orders"] = _work_orders_per_unit(area, cu, units).astype("int64")
    units["area_km2"] = shapely.area(units.geometry.to_numpy()) / 1e6
    units["perimeter_m"] = shapely.length(units.geometry.to_numpy())
    units["parts"] = shapely.get_num_geometries(units.geometry.to_numpy())
    units["atom"] = atom.reindex(units.index).astype("str")
    current = _current_grid(area, units)
    units["grid_id"] = current
    station = area.grids["station_id"] if len(area.grids) else pd.Series(dtype="str")
    units["station_id"] = current.map(station).astype("str")
    multi = int((units["parts"] > 1).sum())
    if not multi:
        return []
    joined = int(units["atom"].duplicated(keep=False).sum())
    return [
        f"{multi:,} transformer area(s) come in several pieces (their customers are interleaved with "
        f"another transformer's); {joined:,} interleaved transformer areas are kept together in one grid so "
        "that no grid has an exclave"
    ]


def unit_adjacency(units: gpd.GeoDataFrame | gpd.GeoSeries, *, min_length_m: float = MIN_SHARED_M) -> pd.DataFrame:
    """Pairs of units that share a boundary, with the shared length.

    Parameters
    ----------
    units
        Polygons in a projected CRS (metres).
    min_length_m
        Shorter shared boundaries (a corner touch) do not count.

    Returns
    -------
    pandas.DataFrame
        Columns ``a``, ``b`` (unit ids, each pair once) and ``length_m``.
    """
    geoms = units.geometry.to_numpy() if isinstance(units, gpd.GeoDataFrame) else units.to_numpy()
    ids = units.index.to_numpy()
    if len(geoms) < 2:
        return pd.DataFrame({"a": ids[:0], "b": ids[:0], "length_m": np.zeros(0)})
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    length = shapely.length(shapely.intersection(geoms[i], geoms[j]))
    ok = length > min_length_m
    return pd.DataFrame({"a": ids[i[ok]], "b": ids[j[ok]], "length_m": length[ok]})


def _tidy_pieces(units: gpd.GeoDataFrame, gen: np.ndarray, gen_unit: np.ndarray) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Give customer-less pieces to a neighbour, and group transformer areas that interleave.

    A Voronoi union can leave a transformer area in several pieces. A piece
    holding none of its customers (territory clipping, an empty transformer's
    cut cell) goes to the neighbouring area it shares most boundary with. A
    piece that holds customers stays, and the areas on the shortest path (in
    shared boundaries) from it to the area's main piece form one *atom* with
    it: grids made of whole atoms have no exclaves.

    Returns the units with tidied polygons and unit id → atom id.
    """
    ids = units.index.to_numpy()
    parts, owner = shapely.get_parts(units.geometry.to_numpy(), return_index=True)
    atom = pd.Series(ids, index=units.index, name="atom")
    if len(parts) == len(units):
        return units, atom
    pts = shapely.points(gen)
    pi, gi = shapely.STRtree(parts).query(pts, predicate="intersects")
    same = gen_unit[pi] == ids[owner[gi]]
    held = np.bincount(gi[same], minlength=len(parts))
    # Pieces without a customer: to the neighbour with the longest shared boundary.
    a, b = shapely.STRtree(parts).query(parts, predicate="intersects")
    ok = owner[a] != owner[b]
    a, b = a[ok], b[ok]
    ln = shapely.length(shapely.intersection(parts[a], parts[b]))
    edges = pd.DataFrame({"a": a, "b": b, "l": ln})
    edges = edges[edges["l"] > MIN_SHARED_M]
    multi = np.bincount(owner, minlength=len(units))[owner] > 1
    empty = multi & (held == 0)
    # keep at least one piece per unit (the largest) even when none holds a customer
    area = shapely.area(parts)
    biggest = pd.Series(area).groupby(owner).idxmax().to_numpy()
    empty[biggest] = False
    new_owner = owner.copy()
    if empty.any():
        cand = edges[empty[edges["a"].to_numpy()]].sort_values(["a", "l", "b"], ascending=[True, False, True])
        cand = cand.drop_duplicates("a")
        new_owner[cand["a"].to_numpy()] = owner[cand["b"].to_numpy()]
    if (new_owner != owner).any():
        geoms = [shapely.union_all(parts[new_owner == i]) for i in range(len(units))]
        units = units.set_geometry(gpd.GeoSeries(geoms, index=units.index, crs=units.crs))
    # Pieces with customers away from their main piece: join the areas in between.
    counts = np.bincount(new_owner, minlength=len(units))
    if (counts > 1).any():
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(range(len(parts)))
        graph.add_edges_from(zip(edges["a"].tolist(), edges["b"].tolist(), strict=True))
        order = np.lexsort((-held, new_owner))
        main = pd.Series(order).groupby(new_owner[order]).first()
        parent = list(range(len(units)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for u in np.flatnonzero(counts > 1).tolist():
            mp = int(main[u])
            for piece in np.flatnonzero(new_owner == u).tolist():
                if piece == mp:
                    continue
                try:
                    path = nx.shortest_path(graph, piece, mp)
                except nx.NetworkXNoPath:
                    continue
                for q in path:
                    parent[find(int(new_owner[q]))] = find(u)
        roots = np.array([find(i) for i in range(len(units))])
        atom = pd.Series(ids[roots], index=units.index, name="atom")
    return units, atom


def atoms(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Transformer areas grouped into the atoms a grid plan is made of (see :func:`transformer_areas`).

    Sums ``households``, ``work_orders`` and ``area_km2``; ``station_id`` is
    that of the atom's member with most households. Indexed by atom id.
    """
    if "atom" not in units.columns or not units["atom"].duplicated().any():
        out = units.copy()
        out.index = units["atom"].to_numpy() if "atom" in units.columns else units.index
        out.index.name = "atom"
        return out
    frame = units.sort_values(["atom", "households"], ascending=[True, False], kind="stable")
    sums = frame.groupby("atom", sort=True)[["households", "work_orders", "area_km2"]].sum()
    first = frame.groupby("atom", sort=True)[["station_id", "grid_id"]].first()
    geoms = frame.geometry.groupby(frame["atom"], sort=True).agg(lambda g: shapely.union_all(g.to_numpy()))
    out = gpd.GeoDataFrame(pd.concat([sums, first], axis=1), geometry=geoms.reindex(sums.index).to_numpy(),
                           crs=units.crs)
    out["perimeter_m"] = shapely.length(out.geometry.to_numpy())
    out["parts"] = shapely.get_num_geometries(out.geometry.to_numpy())
    out.index.name = "atom"
    return out


def _metric_xy(frame: gpd.GeoDataFrame, metric: str) -> np.ndarray:
    if not len(frame):
        return np.zeros((0, 2))
    return shapely.get_coordinates(frame.geometry.to_crs(metric).to_numpy())


def _inside(region: shapely.Geometry, frame: gpd.GeoDataFrame) -> np.ndarray:
    if not len(frame):
        return np.zeros(0, dtype=bool)
    geoms = frame.geometry.to_numpy()
    xy = shapely.get_coordinates(geoms)
    if len(xy) != len(geoms):  # missing geometries
        ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        out = np.zeros(len(geoms), dtype=bool)
        out[ok] = shapely.intersects(region, geoms[ok])
        return out
    return shapely.intersects_xy(region, xy[:, 0], xy[:, 1])


def _voronoi(points: np.ndarray, region: shapely.Geometry) -> np.ndarray:
    """The Voronoi cell of each point (same order), covering ``region``'s envelope."""
    if len(points) == 1:
        return np.array([shapely.box(*region.buffer(1.0).bounds)])
    # GEOS takes the diagram's extent from the envelope of extend_to; pad it so no cell is cut short.
    pad = max(region.bounds[2] - region.bounds[0], region.bounds[3] - region.bounds[1]) * 0.05 + 1.0
    extent = shapely.box(*region.bounds).buffer(pad)
    coll = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=extent, ordered=True)
    cells = np.asarray(shapely.get_parts(coll))
    if len(cells) != len(points):  # pragma: no cover - GEOS dropped a site
        msg = f"Voronoi diagram returned {len(cells)} cells for {len(points)} points"
        raise DataError(msg)
    return cells


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Drop the line and point bits an intersection can leave."""
    out = geoms.copy()
    odd = ~np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    for i in np.flatnonzero(odd):
        parts = [p for p in shapely.get_parts(geoms[i]) if shapely.get_type_id(p) in (3, 6)]
        out[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    return out


def first_hit(polygons: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index of the first polygon holding each point (-1 for none or a missing point)."""
    hit = np.full(len(points), -1, dtype=np.int64)
    ok = ~shapely.is_missing(points)
    if not ok.any() or not len(polygons):
        return hit
    idx = np.flatnonzero(ok)
    pi, gi = shapely.STRtree(polygons).query(points[idx], predicate="intersects")
    if not len(pi):
        return hit
    order = np.lexsort((gi, pi))
    pi, gi = pi[order], gi[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    hit[idx[pi[first]]] = gi[first]
    return hit


def _work_orders_per_unit(area: ServiceArea, cu: pd.Series, units: gpd.GeoDataFrame) -> pd.Series:
    wo = last_year_work_orders(area)
    if not len(wo):
        return pd.Series(0, index=units.index)
    unit = wo["customer_id"].map(cu) if "customer_id" in wo.columns else pd.Series(pd.NA, index=wo.index)
    loose = unit.isna().to_numpy()
    if loose.any() and isinstance(wo, gpd.GeoDataFrame):
        geoms = wo.geometry.to_numpy()[loose]
        has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        if has.any():
            pts = gpd.GeoSeries(geoms[has], crs=wo.crs).to_crs(units.crs).to_numpy()
            hit = first_hit(units.geometry.to_numpy(), pts)
            ids = np.where(hit >= 0, units.index.to_numpy()[np.maximum(hit, 0)], None)
            fill = unit.to_numpy(dtype=object)
            idx = np.flatnonzero(loose)[has]
            fill[idx] = ids
            unit = pd.Series(fill, index=wo.index)
    return unit.dropna().value_counts().reindex(units.index, fill_value=0)


def _current_grid(area: ServiceArea, units: gpd.GeoDataFrame) -> pd.Series:
    """The current grid each unit overlaps most (nearest grid when it overlaps none)."""
    grids = area.grids
    out = pd.Series(pd.NA, index=units.index, dtype="str", name="grid_id")
    if not len(grids):
        return out
    gm = grids.geometry.to_crs(units.crs).to_numpy()
    ug = units.geometry.to_numpy()
    ui, gi = shapely.STRtree(gm).query(ug, predicate="intersects")
    if len(ui):
        ov = shapely.area(shapely.intersection(ug[ui], gm[gi]))
        best = pd.DataFrame({"u": ui, "g": gi, "ov": ov}).sort_values(["u", "ov", "g"], ascending=[True, False, True])
        best = best[best["ov"] > 0].drop_duplicates("u")
        vals = out.to_numpy(dtype=object)
        vals[best["u"].to_numpy()] = grids.index.to_numpy()[best["g"].to_numpy()]
        out = pd.Series(vals, index=units.index, name="grid_id")
    missing = np.flatnonzero(out.isna().to_numpy())
    if len(missing):
        ni, gi2 = shapely.STRtree(gm).query_nearest(ug[missing], all_matches=False)
        vals = out.to_numpy(dtype=object)
        vals[missing[ni]] = grids.index.to_numpy()[gi2]
        out = pd.Series(vals, index=units.index, name="grid_id")
    return out.astype("str")


__all__ = ["UnitSet", "atoms", "customer_transformers", "last_year_work_orders", "transformer_areas", "unit_adjacency"]
