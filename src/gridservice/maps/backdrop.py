"""The ``local`` basemap: a background drawn from the service area itself, with no tiles.

A utility intranet has no tile server, yet a map of grids floating on blank
grey is hard to read. Every service area holds what a plain county map
shows: its territory (the ``service_area`` polygon, else the union of the
grids) is drawn as land on a grey page, and its towns and villages are
named where their customers live. Chinese addresses run 县 → 镇/乡/街道 →
村 (``南丰县白舍镇罗坊村2组5号``); a place's label sits at the median
location of the customers whose address names it, so it lands in the
settlement, not in the fields around it. Nothing is fetched from anywhere.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice.maps.base import display, ensure_panes, map_lang
from gridservice.maps.i18n import t
from gridservice.maps.layers import Labels, roman_name
from gridservice.model import ServiceArea
from gridservice.schema import CRS

__all__ = ["PLACE_PATTERN", "backdrop_layer", "places"]

#: Town (镇/乡/街道) and village (村) of an address, after an optional province, city and county.
PLACE_PATTERN = (
    r"^(?:[^省市县区]*省)?(?:[^省市县区]*市)?(?:[^县区]*[县区])?"
    r"(?P<town>[^省县区镇乡]{1,8}?(?:镇|乡|街道))"
    r"(?:(?P<village>[^镇乡村路街巷号]{1,8}?村)(?![路街巷道]))?"
)
#: English of the kind words, for labels in pinyin (``白舍镇`` → ``Baishe Town``).
PLACE_KINDS_EN = {"街道": "Subdistrict", "镇": "Town", "乡": "Township", "村": "Village"}
#: A place is named when at least this many customers' addresses name it.
MIN_CUSTOMERS = 3
#: Villages are named from this zoom on (a county view shows only the towns).
VILLAGE_MIN_ZOOM = 13


def places(customers: pd.DataFrame, *, min_customers: int = MIN_CUSTOMERS) -> gpd.GeoDataFrame:
    """Towns and villages named by the customers' addresses, each at its customers' median location.

    A town's point is the median of its customers outside any village (the town
    proper), or of all its customers when every one lives in a village.

    Returns
    -------
    GeoDataFrame
        ``name``, ``kind`` (``town`` / ``village``), ``customers``, Point
        geometry in WGS-84; towns first, each kind largest first (ties by name).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> c = gpd.GeoDataFrame({"address": ["南丰县白舍镇罗坊村1组2号"] * 3},
    ...                      geometry=shapely.points([[116.40, 27.30], [116.42, 27.31], [116.44, 27.32]]), crs=4326)
    >>> places(c)[["name", "kind", "customers"]].values.tolist()
    [['白舍镇', 'town', 3], ['罗坊村', 'village', 3]]
    """
    empty = gpd.GeoDataFrame({"name": [], "kind": [], "customers": []}, geometry=[], crs=CRS)
    if "address" not in customers or not len(customers) or not isinstance(customers, gpd.GeoDataFrame):
        return empty
    located = customers[~(customers.geometry.isna() | customers.geometry.is_empty)]
    if located.crs is not None and located.crs != CRS:
        located = located.to_crs(CRS)
    # The place is named before the first digit (house and group numbers): match each distinct
    # head once, so a million addresses cost one vectorised cut, not a million regex searches.
    heads = located["address"].astype("string").str.replace(r"[0-9０-９].*", "", regex=True)
    codes, distinct = pd.factorize(heads)
    found = pd.Series(distinct, dtype="string").str.extract(PLACE_PATTERN).astype(object)
    found = found.where(found.notna(), None)
    picked = np.where(codes >= 0, codes, len(found))  # a missing address names no place
    town = np.append(found["town"].to_numpy(), None)[picked]
    village = np.append(found["village"].to_numpy(), None)[picked]
    xy = shapely.get_coordinates(located.geometry.to_numpy())
    frame = pd.DataFrame({"town": town, "village": village, "lon": xy[:, 0], "lat": xy[:, 1]}).dropna(subset=["town"])
    if frame.empty:
        return empty
    proper = frame[frame["village"].isna()]
    town_size = frame.groupby("town").size()
    town_xy = frame.groupby("town")[["lon", "lat"]].median()
    town_xy.update(proper.groupby("town")[["lon", "lat"]].median())
    towns = town_xy.assign(customers=town_size, kind="town")
    villages = frame.dropna(subset=["village"]).groupby(["town", "village"])
    vil = villages[["lon", "lat"]].median().assign(customers=villages.size(), kind="village")
    vil = vil.reset_index(level="town", drop=True)
    out = pd.concat([part for part in (towns, vil) if len(part)]).rename_axis("name").reset_index()
    out = out[out["customers"] >= min_customers]
    out = out.assign(is_village=out["kind"] == "village").sort_values(
        ["is_village", "customers", "name"], ascending=[True, False, True], ignore_index=True)
    if out.empty:
        return empty
    out["customers"] = out["customers"].astype("int64")
    return gpd.GeoDataFrame(out[["name", "kind", "customers"]],
                            geometry=shapely.points(out[["lon", "lat"]].to_numpy()), crs=CRS)


def backdrop_layer(area: ServiceArea, *, m: folium.Map, lang: str | None = None) -> folium.Map:
    """Draw the territory as land and name its towns and villages (the ``local`` basemap).

    The land sits under every layer (pane ``gsBase``); the names sit just
    above the grid fills, below the grid names (pane ``gsPlaces``): towns
    always, villages from zoom :data:`VILLAGE_MIN_ZOOM`.
    """
    ensure_panes(m)
    lang = map_lang(m, lang)
    territory = area.territory
    if not territory.is_empty:
        land = display(gpd.GeoDataFrame(geometry=[territory], crs=CRS), m)
        folium.GeoJson(
            land.__geo_interface__, name="land", control=False, interactive=False,
            style_function=lambda _: {"fillColor": "#f6f4ee", "fillOpacity": 1, "color": "#7d8a96", "weight": 1.5,
                                      "dashArray": "6 4", "className": "gs-land", "pane": "gsBase"},
        ).add_to(m)
    named = display(places(area.customers), m)
    if len(named):
        xy = shapely.get_coordinates(named.geometry.to_numpy())
        village = (named["kind"] == "village").to_numpy()
        names = [str(n) if lang == "zh" else roman_name(str(n), PLACE_KINDS_EN) for n in named["name"]]
        rows = [[round(float(y), 6), round(float(x), 6), name, VILLAGE_MIN_ZOOM if v else 0,
                 "gs-village" if v else "gs-town"]
                for (x, y), name, v in zip(xy, names, village, strict=True)]
        options = {"className": "gs-place", "pane": "gsPlaces", "avoid": ".gs-label span"}  # grid names win
        Labels(rows, name=t("places", lang), options=options).add_to(m)
    return m
