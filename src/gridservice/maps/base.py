"""The base map: Leaflet only (no jQuery/Bootstrap), a chosen basemap, display coordinates.

Every layer builder takes an optional map; :func:`base_map` makes one when
none is given. The map remembers its language and the coordinate system its
basemap is drawn in, so layers converted with :func:`display` line up with a
GCJ-02 basemap (Amap / 高德) as well as with OpenStreetMap.
"""

from __future__ import annotations

import html
from typing import Any, ClassVar

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element

from gridservice.coords import transform_geometries
from gridservice.errors import DataError
from gridservice.maps.assets import ASSET_URL_PREFIX
from gridservice.maps.i18n import check_lang
from gridservice.maps.mbtiles import TILE_URL, MBTiles
from gridservice.schema import CRS

__all__ = ["BASEMAPS", "LOCAL", "PANES", "GridMap", "base_map", "display", "ensure_panes", "map_coords", "map_lang",
           "resolve_basemap"]

#: Our map panes, bottom to top: the local basemap's land under Leaflet's overlay pane (400: grids,
#: customer cells); above it and below its marker pane (600): place names, heat, grid names, the
#: customer canvas, then network, staff, outages and problems on top, so a name never hides a transformer.
PANES = {"gsBase": 250, "gsPlaces": 401, "gsHeat": 402, "gsLabels": 404, "gsPoints": 406, "gsTop": 410}

#: Named tile basemaps (online: only when chosen): URL template, attribution, coordinate system,
#: subdomains, deepest zoom.
BASEMAPS: dict[str, dict[str, Any]] = {
    "osm": {
        "tiles": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attr": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        "coords": "wgs84",
        "subdomains": "abc",
        "max_zoom": 19,
    },
    "gcj02": {
        "tiles": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "attr": "&copy; 高德地图 AutoNavi",
        "coords": "gcj02",
        "subdomains": "1234",
        "max_zoom": 18,
    },
}

#: The default basemap: drawn from the service area itself (:mod:`gridservice.maps.backdrop`), no tiles.
LOCAL = {"tiles": None, "attr": "", "coords": "wgs84", "subdomains": "abc", "max_zoom": 19, "local": True}


def resolve_basemap(basemap: str | None) -> dict[str, Any] | None:
    """The background of ``basemap``: ``local`` (default), ``none``, an MBTiles file, ``osm``, ``gcj02`` or a URL.

    ``local`` draws the territory and its place names from the data (no
    request leaves the machine); ``none`` (or ``off``) draws nothing; a path
    ending in ``.mbtiles`` is a local raster tile file the server serves at
    :data:`~gridservice.maps.mbtiles.TILE_URL`; the others are online tile
    layers, used only when chosen. A URL template must hold ``{z}``, ``{x}`` and
    ``{y}``; it is taken to be in WGS-84 unless it is written ``gcj02:URL``
    (an intranet mirror of a Chinese basemap). ``None`` means ``local``; the
    faces pass the configured ``Settings.basemap``.

    Returns
    -------
    dict or None
        ``tiles`` (a URL template, ``None`` for ``local``), ``attr``, ``coords``
        (``wgs84`` or ``gcj02``), ``subdomains``, ``max_zoom``, ``local`` and, for
        a file, ``mbtiles`` (its path); ``None`` for no background at all.
    """
    key = "local" if basemap is None else basemap.strip()
    if key.lower() in ("none", "off", ""):
        return None
    if key.lower() == "local":
        return dict(LOCAL)
    if key.lower() in BASEMAPS:
        return {**BASEMAPS[key.lower()], "local": False}
    if key.lower().endswith(".mbtiles"):
        tiles = MBTiles.open(key)
        return {"tiles": TILE_URL, "attr": html.escape(tiles.attribution), "coords": "wgs84", "subdomains": "abc",
                "max_zoom": tiles.max_zoom, "local": False, "mbtiles": str(tiles.path)}
    coords = "wgs84"
    if key.lower().startswith("gcj02:"):
        coords, key = "gcj02", key[len("gcj02:") :]
    if not all(part in key for part in ("{z}", "{x}", "{y}")):
        msg = (f"basemap {basemap!r} is neither local, none, an .mbtiles file, osm, gcj02 nor a tile URL "
               f"template with {{z}}, {{x}} and {{y}}")
        raise DataError(msg)
    return {"tiles": key, "attr": "tiles: " + html.escape(key.split("/")[2] if "//" in key else key), "coords": coords,
            "subdomains": "abc", "max_zoom": 19, "local": False}


class GridMap(folium.Map):
    """A folium map that links Leaflet and our helpers only (served locally).

    Folium's default page also pulls jQuery, Bootstrap, Font Awesome and
    awesome-markers from CDNs; none of our layers uses them, so they are left
    out and :func:`gridservice.maps.offline_html` has less to inline.
    """

    default_js: ClassVar[list[tuple[str, str]]] = [
        ("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"),
        ("gridservice_maps_js", f"{ASSET_URL_PREFIX}/gridservice-maps.js"),
    ]
    default_css: ClassVar[list[tuple[str, str]]] = [
        ("leaflet_css", "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"),
        ("gridservice_maps_css", f"{ASSET_URL_PREFIX}/gridservice-maps.css"),
    ]

    def __init__(self, *args: Any, lang: str = "zh", coords: str = "wgs84", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gs_lang = check_lang(lang)
        self.gs_coords = coords
        self.gs_local = False
        self.gs_mbtiles: str | None = None


def base_map(
    bounds: tuple[float, float, float, float] | None = None,
    *,
    basemap: str | None = None,
    lang: str = "zh",
    title: str | None = None,
) -> GridMap:
    """An empty map fitted to ``bounds`` (minx, miny, maxx, maxy in WGS-84).

    Parameters
    ----------
    bounds
        Area to show; the whole map is fitted to it.
    basemap
        ``local``, ``none``, ``osm``, ``gcj02`` or a tile URL template; default the setting.
        With ``local`` the caller draws the land (:func:`gridservice.maps.backdrop.backdrop_layer`).
    lang
        ``zh`` (default) or ``en``: labels of the layers added later.
    title
        Text shown in a box at the top of the map and as the page title.
    """
    tiles = resolve_basemap(basemap)
    coords = tiles["coords"] if tiles else "wgs84"
    m = GridMap(tiles=None, lang=lang, coords=coords, prefer_canvas=False, control_scale=True)
    m.gs_local = bool(tiles and tiles["local"])
    m.gs_mbtiles = tiles.get("mbtiles") if tiles else None
    ensure_panes(m)
    if m.gs_local:  # a grey page around the territory's land (maps.backdrop draws the land)
        m.get_root().header.add_child(Element(f"<style>#{m.get_name()} {{background: #d9dee2}}</style>"),
                                      name="gs_local_page")
    elif tiles:
        folium.TileLayer(
            tiles=tiles["tiles"], attr=tiles["attr"], name="basemap", subdomains=tiles["subdomains"],
            max_zoom=tiles["max_zoom"], control=False,
        ).add_to(m)
    if bounds is not None and np.all(np.isfinite(bounds)):
        box = shapely.box(*bounds)
        if coords != "wgs84":
            box = transform_geometries(box, src="wgs84", dst=coords)
        minx, miny, maxx, maxy = box.bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    if title:
        m.get_root().header.add_child(Element(f"<title>{html.escape(title)}</title>"), name="gs_title")
        box_html = f'<div class="gs-title">{html.escape(title)}</div>'
        m.get_root().html.add_child(Element(box_html), name="gs_title_box")
    return m


def ensure_panes(m: folium.Map) -> folium.Map:
    """Create :data:`PANES` on ``m`` once (before the first layer that uses them)."""
    if not getattr(m, "gs_panes", False):
        for name, z in PANES.items():
            folium.map.CustomPane(name, z_index=z, pointer_events=False).add_to(m)
        m.gs_panes = True  # type: ignore[attr-defined]
    return m


def map_lang(m: folium.Map, lang: str | None = None) -> str:
    """The language to label a layer in: ``lang``, else the map's, else Chinese."""
    return check_lang(lang or getattr(m, "gs_lang", "zh"))


def map_coords(m: folium.Map) -> str:
    """The coordinate system the map's basemap is drawn in."""
    return getattr(m, "gs_coords", "wgs84")


def display(frame: gpd.GeoDataFrame, m: folium.Map) -> gpd.GeoDataFrame:
    """``frame`` in WGS-84 lon/lat, converted to the map's basemap system (GCJ-02) if needed."""
    if frame.crs is not None and frame.crs != CRS:
        frame = frame.to_crs(CRS)
    coords = map_coords(m)
    if coords == "wgs84" or not len(frame):
        return frame
    out = frame.copy()
    out[out.geometry.name] = transform_geometries(frame.geometry, src="wgs84", dst=coords)
    return out


def display_xy(lon: np.ndarray, lat: np.ndarray, m: folium.Map) -> tuple[np.ndarray, np.ndarray]:
    """Point coordinates converted for the map's basemap."""
    coords = map_coords(m)
    if coords == "wgs84":
        return lon, lat
    from gridservice.coords import convert

    return convert(lon, lat, src="wgs84", dst=coords)
