"""Spatial work on grids: the locator, plan checks, the redraw workflow and automatic proposals.

* :mod:`gridservice.spatial.locate` — which grid holds a point (a raster
  index with exact tests near boundaries), for one point or a million;
* :mod:`gridservice.spatial.plan` — reading a plan file and checking a plan
  (invalid polygons, overlaps, gaps, slivers, split transformer areas,
  staffing);
* :mod:`gridservice.spatial.redraw` — preview what a plan moves, commit it as
  a new version, list and revert versions;
* :mod:`gridservice.spatial.units` — transformer areas (台区) as the
  indivisible units of a plan, and which of them share a boundary;
* :mod:`gridservice.spatial.propose` — balanced, compact draft plans made of
  whole transformer areas, scored beside the current plan.
"""

from __future__ import annotations
