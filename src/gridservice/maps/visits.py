"""A member's visit list on a map: each day's route from the base, stops numbered, overdue ones red."""

from __future__ import annotations

import html

import folium
import numpy as np
import pandas as pd

from gridservice.errors import NotFoundError
from gridservice.maps.backdrop import backdrop_layer
from gridservice.maps.base import base_map, display_xy
from gridservice.metrics.visits import REASONS_ZH, route_lines
from gridservice.model import ServiceArea

#: Colours of the day routes, day by day (as in the browser's supervisor view).
ROUTE_COLOURS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037")


def build_visit_map(area: ServiceArea, table: pd.DataFrame, staff_id: str, *, basemap: str | None = None,
                    lang: str = "zh") -> folium.Map:
    """The routes and calls of ``staff_id`` in a :func:`~gridservice.metrics.visits.visit_list` table.

    Raises
    ------
    NotFoundError
        The member has nothing to visit in the table.
    """
    mine = table[(table["staff_id"] == staff_id).to_numpy()]
    if not len(mine):
        msg = f"staff member {staff_id!r} has no visits due in this list"
        raise NotFoundError(msg)
    routes = route_lines(area, mine)
    lon = np.r_[mine["lon"].to_numpy(dtype="float64"), [c[0] for r in routes["coords"] for c in r]]
    lat = np.r_[mine["lat"].to_numpy(dtype="float64"), [c[1] for r in routes["coords"] for c in r]]
    ok = np.isfinite(lon) & np.isfinite(lat)
    bounds = (lon[ok].min(), lat[ok].min(), lon[ok].max(), lat[ok].max()) if ok.any() else None
    name = mine["staff_name"].iloc[0]
    m = base_map(bounds, basemap=basemap, lang=lang, title=f"{name} ({staff_id}) 走访计划 {len(mine)} 项，"
                                                             f"逾期 {int(mine['overdue'].sum())} 项")
    if m.gs_local:
        backdrop_layer(area, m=m)
    days = sorted(mine["day"].dropna().unique())
    for _, r in routes.iterrows():
        xy = np.asarray(r["coords"], dtype="float64")
        x, y = display_xy(xy[:, 0], xy[:, 1], m)
        colour = ROUTE_COLOURS[days.index(r["day"]) % len(ROUTE_COLOURS)] if r["day"] in days else ROUTE_COLOURS[0]
        folium.PolyLine(list(zip(y, x, strict=True)), color=colour, weight=3, opacity=0.8,
                        tooltip=f"{r['day']}: {r['stops']} 户, {r['length_m'] / 1000:.1f} km").add_to(m)
        folium.CircleMarker([y[0], x[0]], radius=6, color="#fff", weight=2, fill=True, fill_color="#263238",
                            fill_opacity=1, tooltip="驻点").add_to(m)
    x, y = display_xy(mine["lon"].to_numpy(dtype="float64"), mine["lat"].to_numpy(dtype="float64"), m)
    for (_, r), px, py in zip(mine.iterrows(), x, y, strict=True):  # one member's few dozen visits
        if not (np.isfinite(px) and np.isfinite(py)):
            continue
        stop = "☎" if pd.isna(r["stop"]) else str(int(r["stop"]))
        colour = "#c62828" if r["overdue"] else "#1565c0"
        icon = folium.DivIcon(html=f'<div style="background:{colour};color:#fff;border:2px solid #fff;'
                                   f'border-radius:50%;width:18px;height:18px;font:600 11px/14px sans-serif;'
                                   f'text-align:center">{html.escape(stop)}</div>', icon_size=(18, 18),
                              icon_anchor=(9, 9))
        due = "从未达标" if pd.isna(r["due_at"]) else f"{r['due_at']:%Y-%m-%d}"
        tip = f"{r['day'] or '待排期'} {REASONS_ZH[r['reason']]} · {r['customer_id']} · 应访 {due}"
        folium.Marker([py, px], icon=icon, tooltip=html.escape(tip)).add_to(m)
    return m


__all__ = ["ROUTE_COLOURS", "build_visit_map"]
