"""Simplified grid outlines for editing: few vertex handles, shared with the neighbours.

A drawn grid border follows roads and rivers with a vertex every few metres
(a demo grid has about 150); dragging one of them at a time is no way to
redraw a border. :func:`simplified_outlines` simplifies the whole plan as a
coverage (:func:`shapely.coverage_simplify`, in the area's metric CRS): a
border two grids share is simplified once, so both keep the *same* vertices
and moving one moves the common border, and simplification opens no gap
or overlap between them.

Every vertex kept is one of the grid's own vertices, with its exact WGS-84
coordinates (the metric projection only chooses which to keep), and
``vertex_index`` says where it sits in the full ring. An editor can then put
the full detail back wherever the planner left the simplified outline alone:
between two kept vertices that are still neighbours and did not move, the
full ring's vertices in between are restored. The ring may start at
another vertex than the full one. A grid whose simplification
would change its number of rings or parts is returned unsimplified.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.errors import DataError


def _rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per coordinate of ``geoms`` (in :func:`shapely.get_coordinates` order): its geometry, ring and position."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords_ring = shapely.get_coordinates(rings, return_index=True)[1]
    ring_geom = part_of[ring_of]
    # position of each coordinate within its ring: a running count restarting at each ring
    starts = np.r_[0, np.flatnonzero(np.diff(coords_ring)) + 1]
    sizes = np.diff(np.r_[starts, len(coords_ring)])
    position = np.arange(len(coords_ring)) - np.repeat(starts, sizes)
    return ring_geom[coords_ring], coords_ring, position


def simplified_outlines(grids: gpd.GeoDataFrame, *, metric_crs: str, tolerance_m: float) -> gpd.GeoDataFrame:
    """The grids' outlines simplified together, keeping shared borders shared.

    Parameters
    ----------
    grids
        The grids layer (EPSG:4326, index ``grid_id``).
    metric_crs
        A metric CRS for the tolerance (``area.metric_crs``).
    tolerance_m
        Visvalingam-Whyatt's tolerance (metres): a vertex goes when the
        triangle it makes with its neighbours is smaller than tolerance²;
        for a bump in a border, roughly how far the simplified border may
        stray from the drawn one.

    Returns
    -------
    GeoDataFrame
        Index ``grid_id``; ``geometry`` (EPSG:4326, a subset of each grid's
        vertices with their exact coordinates), ``vertices`` (before) and
        ``handles`` (after, closing vertices not counted), and
        ``vertex_index``: per polygon part, per ring, the position of each
        kept vertex in the full ring (closing vertex included).

    Examples
    --------
    >>> out = simplified_outlines(area.grids, metric_crs=area.metric_crs, tolerance_m=20)  # doctest: +SKIP
    """
    if not tolerance_m >= 0:
        msg = f"tolerance_m: {tolerance_m} is not a distance in metres (give 0 or more)"
        raise DataError(msg)
    out = gpd.GeoDataFrame(index=grids.index.copy(), geometry=grids.geometry.to_numpy(), crs=grids.crs)
    full = grids.geometry.to_numpy()
    polygonal = np.isin(shapely.get_type_id(full), (3, 6)) & ~shapely.is_empty(full)
    simple = full.copy()
    if polygonal.any():
        metric = grids.geometry[polygonal].to_crs(metric_crs).to_numpy()
        done = shapely.coverage_simplify(metric, tolerance_m, simplify_boundary=True)
        # same parts and rings, or the grid keeps its full outline
        same = ((shapely.get_num_geometries(done) == shapely.get_num_geometries(metric))
                & (_ring_counts(done) == _ring_counts(metric)) & shapely.is_valid(done))
        simple_idx = np.flatnonzero(polygonal)[same]
        kept = _with_original_coordinates(full[simple_idx], metric[same], done[same])
        simple[simple_idx] = kept
    out["geometry"] = gpd.GeoSeries(simple, index=out.index, crs=grids.crs)
    out["vertices"] = _handle_count(full)
    out["handles"] = _handle_count(simple)
    out["vertex_index"] = _vertex_index(full, simple)
    return out


def _ring_counts(geoms: np.ndarray) -> np.ndarray:
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings = shapely.get_num_interior_rings(parts) + 1
    return np.bincount(part_of, weights=rings, minlength=len(geoms)).astype(np.int64)


def _keys(geoms: np.ndarray, xy: np.ndarray) -> pd.DataFrame:
    geom, ring, position = _rings(geoms)
    return pd.DataFrame({"geom": geom, "ring": ring, "x": xy[:, 0], "y": xy[:, 1], "position": position})


def _positions(full: np.ndarray, full_xy: np.ndarray, simple: np.ndarray, simple_xy: np.ndarray) -> pd.DataFrame:
    """Each coordinate of ``simple`` with the position of the same coordinate in the same ring of ``full``."""
    big = _keys(full, full_xy).drop_duplicates(["ring", "x", "y"])  # a ring's closing vertex is its first
    small = _keys(simple, simple_xy)
    found = small.merge(big[["ring", "x", "y", "position"]], on=["ring", "x", "y"], how="left",
                        suffixes=("", "_full"))
    return found


def _with_original_coordinates(full_ll: np.ndarray, full_m: np.ndarray, simple_m: np.ndarray) -> np.ndarray:
    """``simple_m`` (a vertex subset of ``full_m``) with the exact coordinates ``full_ll`` has for those vertices."""
    found = _positions(full_m, shapely.get_coordinates(full_m), simple_m, shapely.get_coordinates(simple_m))
    if found["position_full"].isna().any():  # a vertex the simplifier made up: keep the full outlines
        return full_ll
    ll = pd.DataFrame(_keys(full_ll, shapely.get_coordinates(full_ll))[["ring", "position", "x", "y"]])
    where = found[["ring", "position_full"]].rename(columns={"position_full": "position"}).astype("int64")
    xy = where.merge(ll, on=["ring", "position"], how="left")[["x", "y"]].to_numpy()
    return shapely.set_coordinates(simple_m.copy(), xy)


def _handle_count(geoms: np.ndarray) -> np.ndarray:
    """Vertices an editor shows: every ring's vertices less its closing one."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings = shapely.get_num_interior_rings(parts) + 1
    per_geom_rings = np.bincount(part_of, weights=rings, minlength=len(geoms))
    return (shapely.get_num_coordinates(geoms) - per_geom_rings).astype(np.int64)


def _vertex_index(full: np.ndarray, simple: np.ndarray) -> list[list[list[list[int]]]]:
    """Per geometry, per part, per ring: positions of ``simple``'s vertices in ``full``'s ring."""
    found = _positions(full, shapely.get_coordinates(full), simple, shapely.get_coordinates(simple))
    parts, part_of = shapely.get_parts(simple, return_index=True)
    ring_part = shapely.get_rings(parts, return_index=True)[1]
    positions = found.groupby("ring", sort=True)["position_full"].agg(lambda s: [int(v) for v in s]).to_list()
    out: list[list[list[list[int]]]] = [[] for _ in range(len(simple))]
    last_part = -1
    for ring_no, part_no in enumerate(ring_part):  # one entry per ring (a few per grid), not per vertex
        if part_no != last_part:
            out[part_of[part_no]].append([])
            last_part = part_no
        out[part_of[part_no]][-1].append(positions[ring_no])
    return out
