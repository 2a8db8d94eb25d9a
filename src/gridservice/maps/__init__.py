"""Folium maps of a service area that open with no internet.

Three composed maps (:func:`build_coverage_map`, :func:`build_operations_map`,
:func:`build_lineloss_map`) stacked from pure layer builders (data in, map
out), rendered by :func:`map_html` with every asset local (:mod:`.assets`).

Examples
--------
>>> from gridservice.workspace import open_area  # doctest: +SKIP
>>> m = build_coverage_map(open_area("nanfeng.gpkg"), metric="saidi_min", lang="en")  # doctest: +SKIP
>>> write_map(m, "coverage.html")  # doctest: +SKIP
"""

from __future__ import annotations

from gridservice.maps.assets import ASSET_URL_PREFIX, asset_dir, asset_files, offline_html
from gridservice.maps.base import BASEMAPS, GridMap, base_map, resolve_basemap
from gridservice.maps.compose import (
    MAP_KINDS,
    build_coverage_map,
    build_lineloss_map,
    build_map,
    build_operations_map,
    map_html,
    write_map,
)
from gridservice.maps.customers import customer_bins, pack_points, unpack_points
from gridservice.maps.data import outage_areas, plan_problems
from gridservice.maps.layers import (
    add_layer_control,
    customer_layer,
    feeder_layer,
    findings_layer,
    grid_layer,
    heat_layer,
    outage_layer,
    staff_layer,
    transformer_layer,
)
from gridservice.maps.legend import METRICS, classify

__all__ = [
    "ASSET_URL_PREFIX",
    "BASEMAPS",
    "MAP_KINDS",
    "METRICS",
    "GridMap",
    "add_layer_control",
    "asset_dir",
    "asset_files",
    "base_map",
    "build_coverage_map",
    "build_lineloss_map",
    "build_map",
    "build_operations_map",
    "classify",
    "customer_bins",
    "customer_layer",
    "feeder_layer",
    "findings_layer",
    "grid_layer",
    "heat_layer",
    "map_html",
    "offline_html",
    "outage_areas",
    "outage_layer",
    "pack_points",
    "plan_problems",
    "resolve_basemap",
    "staff_layer",
    "transformer_layer",
    "unpack_points",
    "write_map",
]
