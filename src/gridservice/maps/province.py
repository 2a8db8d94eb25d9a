"""The province map: counties coloured by a KPI, with stations and grids to drill down to.

It draws what :func:`gridservice.province.layers.province_levels` gathered
(polygons and KPIs per county, station and grid) with the coverage map's
:func:`~gridservice.maps.layers.grid_layer`: the counties shown, the stations
and grids as layers the reader switches on, each coloured by the same KPI
on its own classes, each popup with the unit's KPIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import folium

from gridservice.errors import DataError
from gridservice.maps.base import base_map
from gridservice.maps.i18n import check_lang, t
from gridservice.maps.layers import add_layer_control, grid_layer
from gridservice.maps.legend import metric_label

if TYPE_CHECKING:
    from gridservice.province.layers import Level


def build_province_map(levels: Mapping[str, Level], *, metric: str = "saidi_min", period: str = "",
                       basemap: str | None = None, lang: str = "zh") -> folium.Map:
    """Counties coloured by ``metric``, stations and grids beneath them (see the module doc).

    Raises
    ------
    DataError
        When there is no county to draw, or ``metric`` is not a KPI.
    """
    check_lang(lang)
    if not levels or not len(levels["county"].shapes):
        msg = "no county to draw"
        raise DataError(msg)
    counties = levels["county"].shapes
    title = t("province_title", lang, n=len(counties), metric=f"{metric_label(metric, lang, unit=False)} {period}")
    basemap = "none" if basemap in (None, "local") else basemap  # the local backdrop is one county's land
    m = base_map(tuple(counties.total_bounds), basemap=basemap, lang=lang, title=title.strip())
    for level, key, show in (("county", "counties", True), ("station", "stations", False), ("grid", "grids", False)):
        grid_layer(levels[level].shapes, kpis=levels[level].kpis, metric=metric, m=m, name=t(key, lang), show=show,
                   labels=False, legend=level == "county")
    return add_layer_control(m)
