"""Spatial work on grids: the locator, plan checks and the redraw workflow.

* :mod:`gridservice.spatial.locate` — which grid holds a point (a raster
  index with exact tests near boundaries), for one point or a million;
* :mod:`gridservice.spatial.plan` — reading a plan file and checking a plan
  (invalid polygons, overlaps, gaps, slivers, split transformer areas,
  staffing);
* :mod:`gridservice.spatial.redraw` — preview what a plan moves, commit it as
  a new version, list and revert versions.
"""

from __future__ import annotations
