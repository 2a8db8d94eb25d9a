"""Layer builders: data in, map out.

Each builder takes frames (the model's layers, or what metrics, spatial and
topology compute), draws them on ``m`` (a new :func:`~gridservice.maps.base.base_map`
when omitted), names the layer for the layer control and returns the map.
Every feature carries its colour, popup and tooltip as properties and one
small JavaScript style function draws them, so a layer of ten thousand
features is one GeoJSON object, not ten thousand folium objects.

Leaflet path elements get a class per layer (``gs-grid``, ``gs-feeder``,
``gs-transformer``, ``gs-outage-active`` …) so pages and tests can find them.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from typing import Any, ClassVar

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import JSCSSMixin
from folium.plugins import HeatMap
from folium.template import Template
from folium.utilities import JsCode

from gridservice import clock
from gridservice.errors import DataError
from gridservice.maps.base import base_map, display, display_xy, ensure_panes, map_lang
from gridservice.maps.customers import CATEGORY_COLORS, CustomerPoints, category_codes, customer_bins, pack_points
from gridservice.maps.i18n import AREA_CLASS, CATEGORY, LOSS_CLASS, OUTAGE_KIND, ROLES, choice, t
from gridservice.maps.legend import METRICS, NO_DATA, Classes, Legend, classify, metric_label
from gridservice.schema import TIMEZONE

__all__ = [
    "LOSS_COLORS",
    "add_layer_control",
    "customer_layer",
    "feeder_layer",
    "findings_layer",
    "grid_layer",
    "heat_layer",
    "outage_layer",
    "staff_layer",
    "transformer_layer",
]

LOSS_COLORS = {
    "normal": "#1a9850",
    "high": "#d73027",
    "negative": "#7b3294",
    "not_computable": "#969696",
    "out_of_service": "#252525",
}
SEVERITY_COLORS = {"error": "#e31a1c", "warning": "#ff7f00"}
_LOSS_ORDER = {"normal": 0, "not_computable": 1, "out_of_service": 2, "negative": 3, "high": 4}

#: KPIs a grid's popup lists (when present), after the one the map is coloured by.
POPUP_METRICS = ("customers", "households_per_member", "complaints_per_10k", "repair_on_time_pct",
                 "non_repair_on_time_pct", "first_contact_resolution_pct", "saifi", "saidi_min", "rs1_pct",
                 "high_loss_transformers", "visit_coverage_pct", "staff")

#: Display tolerance for grid outlines: a few metres is invisible at county zoom.
SIMPLIFY_TOLERANCE_M = 5.0
#: Simplify grids only when they are this heavy (total vertices).
SIMPLIFY_ABOVE_VERTICES = 20_000


# ---------------------------------------------------------------- helpers


def js_json(obj: object) -> str:
    """JSON safe to put inside a ``<script>`` (no ``<``, ``>`` or ``&`` left raw)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _text(s: pd.Series | Sequence[object]) -> pd.Series:
    """Values as text, missing as empty."""
    s = pd.Series(s)
    return s.astype(object).where(s.notna(), "").astype("str")


def _esc(s: pd.Series) -> pd.Series:
    """HTML-escape a text Series (vectorised)."""
    s = _text(s)
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        s = s.str.replace(a, b, regex=False)
    return s


def _num(s: pd.Series, digits: int = 2) -> pd.Series:
    """Numbers as short text: thousands separators, at most ``digits`` decimals."""
    x = pd.to_numeric(s, errors="coerce").astype("float64")

    def fmt(v: float) -> str:
        if not np.isfinite(v):
            return "–"
        if float(v).is_integer():
            return f"{int(v):,}"
        return f"{v:,.{digits}f}".rstrip("0").rstrip(".")

    return pd.Series([fmt(v) for v in x.to_numpy()], index=s.index, dtype="str")


def _popup(title: pd.Series, rows: list[tuple[str, pd.Series]]) -> pd.Series:
    """Popup HTML per row: a bold title and a two-column table (already escaped)."""
    out = '<div class="gs-popup"><b>' + _esc(title) + "</b><table>"
    for label, values in rows:
        out = out + f"<tr><th>{html.escape(label)}</th><td>" + values.astype("str") + "</td></tr>"
    return out + "</table></div>"


def _round_geoms(geoms: np.ndarray, digits: int = 6) -> np.ndarray:
    """Coordinates rounded to ``digits`` decimals (0.1 m): halves the page size."""
    return shapely.transform(geoms, lambda c: np.round(c, digits))


def _features(frame: gpd.GeoDataFrame, props: dict[str, pd.Series]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame``'s geometry with ``props``."""
    geoms = _round_geoms(np.asarray(frame.geometry.values))
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    gj = shapely.to_geojson(geoms[keep])
    cols = {k: pd.Series(v).to_numpy()[keep] for k, v in props.items()}
    feats = []
    for i, g in enumerate(gj):
        feats.append({"type": "Feature", "geometry": json.loads(g),
                      "properties": {k: _plain(v[i]) for k, v in cols.items()}})
    return {"type": "FeatureCollection", "features": feats}


def _plain(v: object) -> object:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


_ON_EACH = JsCode(
    "function(f, l) {"
    " if (f.properties._p) { l.bindPopup(f.properties._p, {maxWidth: 360}); }"
    " if (f.properties._t) { l.bindTooltip(f.properties._t, {sticky: true}); } }"
)


def _style_js(base: dict[str, Any], *, colour_key: str) -> JsCode:
    """A style function: ``base`` options with the feature's colour (``_c``) as ``colour_key``."""
    return JsCode(
        f"function(f) {{ var s = {json.dumps(base)}; s[{json.dumps(colour_key)}] = f.properties._c;"
        " if (f.properties._k) { s.className = s.className + ' ' + f.properties._k; }"
        " if (f.properties._o != null) { s.fillOpacity = f.properties._o; } return s; }"
    )


def _point_js(radius: float, pane: str = "gsTop") -> JsCode:
    """Points as circle markers of ``radius`` px (or the feature's ``_r``) in ``pane``."""
    return JsCode(f"function(f, latlng) {{ return L.circleMarker(latlng, "
                  f"{{radius: f.properties._r || {radius}, pane: {json.dumps(pane)}}}); }}")


def _geojson_layer(m: folium.Map, data: dict[str, Any], *, name: str, style: JsCode, points: JsCode | None = None,
                   show: bool = True, pane: str = "gsTop") -> folium.GeoJson:
    """One GeoJSON layer; ``pane`` is ``overlayPane`` for area fills (grids, cells), else on top."""
    ensure_panes(m)
    kwargs: dict[str, Any] = {"style": style, "pane": pane}
    if points is not None:
        kwargs["point_to_layer"] = points
    layer = folium.GeoJson(data, name=name, on_each_feature=_ON_EACH, show=show, **kwargs)
    layer.add_to(m)
    return layer


def add_layer_control(m: folium.Map) -> folium.Map:
    """(Re)place the layer control last, so it lists every layer added so far."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            del m._children[key]
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def _ensure_map(m: folium.Map | None, frame: gpd.GeoDataFrame | None, lang: str | None) -> folium.Map:
    if m is not None:
        return m
    bounds = None
    if frame is not None and len(frame):
        bounds = tuple(frame.to_crs("EPSG:4326").total_bounds) if frame.crs else tuple(frame.total_bounds)
    return base_map(bounds, lang=lang or "zh", basemap="none")


def _col(frame: pd.DataFrame, name: str, default: object = "") -> pd.Series:
    """Column ``name`` of ``frame``, or ``default`` for every row."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([default] * len(frame), index=frame.index, dtype=object)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what}: missing column(s) {', '.join(missing)}"
        raise DataError(msg)


def _geo(frame: pd.DataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        msg = f"{what}: expected a GeoDataFrame with geometry"
        raise DataError(msg)
    return frame


# ---------------------------------------------------------------- grids


def display_grids(grids: gpd.GeoDataFrame, *, tolerance_m: float = SIMPLIFY_TOLERANCE_M,
                  above_vertices: int = SIMPLIFY_ABOVE_VERTICES) -> gpd.GeoSeries:
    """Grid polygons light enough to draw.

    Heavy plans (more than ``above_vertices`` vertices) are simplified by
    ``tolerance_m`` metres with :func:`shapely.coverage_simplify`, which keeps
    shared edges shared (no slivers open between neighbours). A plan that is
    not a clean coverage (it has overlaps or gaps — which the map must show as
    they are) is simplified polygon by polygon instead.
    """
    geoms = np.asarray(grids.geometry.values)
    if int(shapely.get_num_coordinates(geoms).sum()) <= above_vertices:
        return grids.geometry
    tol = tolerance_m / 111_320.0
    try:
        clean = bool(shapely.coverage_is_valid(geoms))
    except shapely.errors.GEOSException:
        clean = False
    out = shapely.coverage_simplify(geoms, tol) if clean else shapely.simplify(geoms, tol, preserve_topology=True)
    return gpd.GeoSeries(out, index=grids.index, crs=grids.crs)


def grid_staff_text(grid_staff: pd.DataFrame | None, staff: pd.DataFrame | None, *, lang: str) -> pd.Series:
    """Per grid_id: "网格经理 张三 138…; 网格员 李四 …" (HTML-escaped)."""
    if grid_staff is None or staff is None or not len(grid_staff):
        return pd.Series(dtype="str")
    gs = grid_staff[["grid_id", "staff_id", "role"]].join(staff[["name", "phone"]], on="staff_id")
    roles = gs["role"].map(lambda r: choice(ROLES, r, lang))
    rank = gs["role"].map({r: i for i, r in enumerate(ROLES)}).fillna(len(ROLES))
    person = _esc(roles) + " " + _esc(gs["name"].fillna(gs["staff_id"])) + " " + _esc(gs["phone"])
    gs = gs.assign(_person=person.str.strip(), _rank=rank).sort_values(["grid_id", "_rank", "staff_id"])
    return gs.groupby("grid_id", sort=False)["_person"].agg("<br>".join)


def grid_label_text(grids: pd.DataFrame, *, lang: str) -> pd.Series:
    """Grid names for labels: Chinese as stored, or pinyin for ``en``."""
    names = _text(grids["name"] if "name" in grids.columns else pd.Series(grids.index, index=grids.index))
    if lang == "zh":
        return names
    return pd.Series([roman_name(n, {"网格": "grid"}) for n in names], index=names.index, dtype="str")


def roman_name(name: str, suffixes: dict[str, str]) -> str:
    """A Chinese name in pinyin for English labels, its kind word translated.

    Examples
    --------
    >>> roman_name("城东网格", {"网格": "grid"}), roman_name("白舍镇", {"镇": "Town"})
    ('Chengdong grid', 'Baishe Town')
    """
    from pypinyin import lazy_pinyin

    suffix = next((k for k in suffixes if name.endswith(k)), None)
    stem = name[: -len(suffix)] if suffix else name
    words = " ".join(w.capitalize() for w in "".join(lazy_pinyin(stem)).split())
    return f"{words} {suffixes[suffix]}" if suffix else words


class Labels(folium.map.Layer):
    """Text labels, one element for all: rows of ``[lat, lon, text]``, optionally ``min_zoom`` and a CSS class.

    Rows come most important first: a label that would overlap one already
    shown is hidden, and a row shows only from its ``min_zoom`` on.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.gsLabels({{ this.rows }}, {{ this.options }});
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list[object]], *, name: str, show: bool = True,
                 options: dict[str, Any] | None = None) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GsLabels"
        self.rows = js_json(rows)
        self.options = js_json(options or {})


def grid_layer(
    grids: gpd.GeoDataFrame,
    *,
    kpis: pd.DataFrame | None = None,
    metric: str | None = None,
    grid_staff: pd.DataFrame | None = None,
    staff: pd.DataFrame | None = None,
    stations: pd.DataFrame | None = None,
    scheme: str = "natural_breaks",
    k: int = 5,
    labels: bool = True,
    legend: bool = True,
    m: folium.Map | None = None,
    lang: str | None = None,
    name: str | None = None,
    show: bool = True,
) -> folium.Map:
    """Grids coloured by a KPI, with names, a legend and popups of staff and KPIs.

    Parameters
    ----------
    grids
        The grids layer (indexed by ``grid_id``; ``name``, ``code``, ``station_id``, ``area_class``).
    kpis
        KPIs indexed by ``grid_id`` (any numeric columns, e.g. from ``gridservice.metrics``).
    metric
        Column of ``kpis`` (or of ``grids``) to colour by; ``None`` draws plain outlines.
    grid_staff, staff, stations
        For the popup: who is responsible, and the station's name.
    scheme, k
        Classification (mapclassify ``natural_breaks``, ``quantiles``, ``equal_interval``) and at most ``k`` classes.
    labels, legend
        Draw grid names and the legend box.
    m, lang
        The map to draw on (default a new one) and the label language (default the map's).
    name, show
        The layer's name in the layer control (default: grids) and whether it starts shown; any polygons
        with a ``name`` (the counties or stations of a province map) draw the same way.

    Raises
    ------
    DataError
        When ``metric`` is not a column of ``kpis`` or ``grids``.
    """
    grids = _geo(grids, "grids")
    m = _ensure_map(m, grids, lang)
    lang = map_lang(m, lang)
    table = grids.drop(columns=grids.geometry.name)
    if kpis is not None and len(kpis.columns):
        extra = kpis.drop(columns=[c for c in kpis.columns if c in table.columns or c == "geometry"])
        table = table.join(extra, how="left")
    values: pd.Series | None = None
    if metric is not None:
        if metric not in table.columns:
            have = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
            msg = f"unknown metric {metric!r} for the grid map; available: {', '.join(have) or 'none'}"
            raise DataError(msg)
        values = pd.to_numeric(table[metric], errors="coerce")
        direction = METRICS.get(metric, ("", "", "", 0))[3]
        classes = classify(values, scheme=scheme, k=k, direction=direction)
        colours = pd.Series([classes.color_of(int(i)) for i in classes.index], index=grids.index)
    else:
        classes = None
        colours = pd.Series("#9ecae1", index=grids.index)

    name_title = _text(table["name"]) if "name" in table.columns else pd.Series(grids.index, index=grids.index)
    label_names = grid_label_text(table, lang=lang)
    if lang == "en":
        name_title = label_names + " (" + name_title + ")"
    rows: list[tuple[str, pd.Series]] = []
    if "code" in table.columns:
        rows.append((t("code", lang), _esc(table["code"])))
    if stations is not None and "station_id" in table.columns and "name" in stations.columns:
        rows.append((t("station", lang), _esc(table["station_id"].map(stations["name"]).fillna(table["station_id"]))))
    if "area_class" in table.columns:
        rows.append((t("area_class", lang), _esc(table["area_class"].map(lambda v: choice(AREA_CLASS, v, lang)))))
    staff_text = grid_staff_text(grid_staff, staff, lang=lang)
    if len(staff_text) or grid_staff is not None:
        rows.append((t("staff_list", lang), staff_text.reindex(grids.index).fillna("–")))
    shown = [metric] if metric else []
    if kpis is not None:
        shown += [c for c in POPUP_METRICS if c in kpis.columns and c != metric]
    for col in shown[:10]:
        if col in table.columns and pd.api.types.is_numeric_dtype(pd.to_numeric(table[col], errors="coerce")):
            rows.append((metric_label(col, lang), _num(table[col])))
    popup = _popup(name_title, rows)
    tip = name_title if values is None else name_title + " · " + _num(values)

    shapes = display(gpd.GeoDataFrame(geometry=display_grids(grids)), m)
    data = _features(shapes, {"_c": colours, "_p": popup, "_t": _esc(tip), "grid_id": pd.Series(grids.index)})
    style = _style_js({"className": "gs-grid", "color": "#3b3b3b", "weight": 1.2, "fillOpacity": 0.55},
                      colour_key="fillColor")
    _geojson_layer(m, data, name=name or t("grids", lang), style=style, pane="overlayPane", show=show)

    if labels and len(grids):
        where = display(gpd.GeoDataFrame(geometry=grids.geometry.representative_point(), crs=grids.crs), m)
        lat = np.round(shapely.get_y(where.geometry.values), 6)
        lon = np.round(shapely.get_x(where.geometry.values), 6)
        order = np.argsort(-shapely.area(np.asarray(grids.geometry.values)), kind="stable")
        label_rows = [[float(lat[i]), float(lon[i]), str(label_names.iloc[i])] for i in order]
        Labels(label_rows, name=t("grid_labels", lang)).add_to(m)
    if legend:
        _grid_legend(m, classes, metric, values, lang)
    return add_layer_control(m)


def _grid_legend(m: folium.Map, classes: Classes | None, metric: str | None, values: pd.Series | None,
                 lang: str) -> None:
    if classes is None or metric is None or values is None:
        Legend(t("grids", lang), [("#9ecae1", t("grids", lang), "box")]).add_to(m)
        return
    items = [(c, label, "box") for c, label in zip(classes.colors, classes.labels(), strict=True)]
    if values.isna().any() or not len(classes.colors):
        items.append((NO_DATA, t("no_data", lang), "box"))
    Legend(metric_label(metric, lang), items).add_to(m)


# ---------------------------------------------------------------- people and network


def staff_layer(staff: gpd.GeoDataFrame, *, m: folium.Map | None = None, lang: str | None = None,
                show: bool = True) -> folium.Map:
    """Staff bases (驻点) as dots with name, role and phone."""
    staff = _geo(staff, "staff")
    m = _ensure_map(m, staff, lang)
    lang = map_lang(m, lang)
    staff = staff[~(staff.geometry.isna() | staff.geometry.is_empty)]
    roles = _col(staff, "role").map(lambda r: choice(ROLES, r, lang))
    title = _text(_col(staff, "name"))
    popup = _popup(title, [(t("role", lang), _esc(roles)),
                           (t("phone", lang), _esc(_col(staff, "phone")))])
    data = _features(display(staff, m), {"_c": pd.Series("#08306b", index=staff.index), "_p": popup,
                                         "_t": _esc(title + " · " + roles)})
    style = _style_js({"className": "gs-staff", "color": "#ffffff", "weight": 1.5, "fillOpacity": 0.95},
                      colour_key="fillColor")
    _geojson_layer(m, data, name=t("staff", lang), style=style, points=_point_js(5), show=show)
    return add_layer_control(m)


def feeder_layer(feeders: gpd.GeoDataFrame, *, m: folium.Map | None = None, lang: str | None = None,
                 show: bool = True) -> folium.Map:
    """10 kV feeders as lines (tooltip: name)."""
    feeders = _geo(feeders, "feeders")
    m = _ensure_map(m, feeders, lang)
    lang = map_lang(m, lang)
    title = _text(_col(feeders, "name"))
    rows = [(t("feature_id", lang), _esc(pd.Series(feeders.index, index=feeders.index)))]
    if "length_km" in feeders.columns:
        rows.append(("km", _num(feeders["length_km"])))
    data = _features(display(feeders, m), {"_c": pd.Series("#2b5f9e", index=feeders.index),
                                           "_p": _popup(title, rows), "_t": _esc(title)})
    style = _style_js({"className": "gs-feeder", "weight": 2, "opacity": 0.85}, colour_key="color")
    _geojson_layer(m, data, name=t("feeders", lang), style=style, show=show)
    return add_layer_control(m)


def transformer_layer(
    transformers: gpd.GeoDataFrame,
    *,
    lineloss: pd.DataFrame | None = None,
    legend: bool = True,
    m: folium.Map | None = None,
    lang: str | None = None,
    show: bool = True,
) -> folium.Map:
    """Transformers (台区) as dots coloured by line-loss class.

    Parameters
    ----------
    lineloss
        Indexed by ``transformer_id`` (or with that column) with ``class`` and
        optionally ``loss_pct``; transformers without a row are ``not_computable``.
    """
    transformers = _geo(transformers, "transformers")
    m = _ensure_map(m, transformers, lang)
    lang = map_lang(m, lang)
    idx = transformers.index
    klass = pd.Series("not_computable", index=idx, dtype="str")
    loss = pd.Series(np.nan, index=idx)
    ll = pd.DataFrame(index=idx)
    if lineloss is not None and len(lineloss):
        ll = lineloss.set_index("transformer_id") if "transformer_id" in lineloss.columns else lineloss
        _require(ll, ["class"], "line loss")
        ll = ll[~ll.index.duplicated(keep="last")]
        klass = ll["class"].reindex(idx).fillna("not_computable").astype("str")
        if "loss_pct" in ll.columns:
            loss = pd.to_numeric(ll["loss_pct"], errors="coerce").reindex(idx)
    title = _text(_col(transformers, "name"))
    class_text = klass.map(lambda c: choice(LOSS_CLASS, c, lang))
    rows = [(t("feature_id", lang), _esc(pd.Series(idx, index=idx))), (t("class", lang), _esc(class_text)),
            (t("loss_pct", lang), _num(loss))]
    if "streak_months" in ll.columns:
        rows.append((t("streak_months", lang), _num(ll["streak_months"].reindex(idx))))
    cause = "likely_cause_zh" if lang == "zh" and "likely_cause_zh" in ll.columns else "likely_cause"
    if cause in ll.columns:
        rows.append((t("likely_cause", lang), _esc(ll[cause].reindex(idx))))
    if "staff_name" in ll.columns:
        rows.append((t("responsible", lang), _esc(ll["staff_name"].reindex(idx))))
    if "rated_kva" in transformers.columns:
        rows.append((t("rated_kva", lang), _num(transformers["rated_kva"])))
    colours = klass.map(LOSS_COLORS).fillna(LOSS_COLORS["not_computable"])
    normal = (klass == "normal").to_numpy()
    props = {"_c": colours, "_p": _popup(title, rows), "_t": _esc(title + " · " + class_text),
             "_k": "gs-loss-" + klass.str.replace("_", "-", regex=False),
             "_r": pd.Series(np.where(normal, 3.5, 6.0), index=idx)}
    # Anomalies last, so they are drawn on top of the many normal transformer areas.
    order = np.argsort(klass.map(_LOSS_ORDER).fillna(0).to_numpy(), kind="stable")
    shown = display(transformers, m).iloc[order]
    data = _features(shown, {k: pd.Series(v).iloc[order] for k, v in props.items()})
    style = _style_js({"className": "gs-transformer", "color": "#222222", "weight": 0.8, "fillOpacity": 0.9},
                      colour_key="fillColor")
    _geojson_layer(m, data, name=t("transformers", lang), style=style, points=_point_js(4.5), show=show)
    if legend:
        present = [c for c in LOSS_COLORS if (klass == c).any()] or list(LOSS_COLORS)
        Legend(t("class", lang), [(LOSS_COLORS[c], choice(LOSS_CLASS, c, lang), "dot") for c in present],
               position="bottomleft").add_to(m)
    return add_layer_control(m)


# ---------------------------------------------------------------- events


def outage_layer(
    outages: pd.DataFrame,
    areas: gpd.GeoSeries,
    *,
    now: pd.Timestamp | None = None,
    legend: bool = True,
    m: folium.Map | None = None,
    lang: str | None = None,
) -> folium.Map:
    """Active and past outages with their affected area, as two layers.

    Parameters
    ----------
    outages
        Indexed by ``outage_id`` with ``device_id``, ``kind``, ``start_at``,
        ``end_at`` (empty while active), ``cause`` and optionally ``customers_affected``.
    areas
        Affected area per ``outage_id`` (polygons; see :func:`gridservice.maps.outage_areas`).
    now
        An outage is active when it has no end or ends after ``now`` (default: now).
    """
    _require(outages, ["start_at"], "outages")
    m = _ensure_map(m, gpd.GeoDataFrame(geometry=areas) if len(areas) else None, lang)
    lang = map_lang(m, lang)
    areas = areas[areas.index.isin(outages.index)]
    areas = areas[~(areas.isna() | areas.is_empty)]
    o = outages.loc[areas.index]
    now = now if now is not None else clock.now()
    end = o["end_at"] if "end_at" in o.columns else pd.Series(pd.NaT, index=o.index)
    active = end.isna() | (end > now)
    kind = o["kind"].map(lambda v: choice(OUTAGE_KIND, v, lang)) if "kind" in o.columns else pd.Series("", o.index)
    rows = [(t("kind", lang), _esc(kind)), (t("device", lang), _esc(_col(o, "device_id"))),
            (t("start_at", lang), _esc(_when(o["start_at"]))), (t("end_at", lang), _esc(_when(end)))]
    if "customers_affected" in o.columns:
        rows.append((t("customers_affected", lang), _num(o["customers_affected"])))
    if "cause" in o.columns:
        rows.append((t("cause", lang), _esc(o["cause"])))
    popup = _popup(pd.Series(o.index, index=o.index), rows)
    tip = _esc(pd.Series(o.index, index=o.index) + " · " + kind)
    frame = display(gpd.GeoDataFrame(geometry=areas), m)
    # A transformer area is a few pixels at county zoom: a marker at each area keeps it in sight.
    marks = gpd.GeoDataFrame(geometry=frame.geometry.representative_point(), crs=frame.crs)
    ids = pd.Series(o.index, index=o.index)
    for is_active, key, colour, cls in ((True, "outages_active", "#e31a1c", "gs-outage-active"),
                                        (False, "outages_past", "#fd8d3c", "gs-outage-past")):
        sel = (active == is_active).to_numpy()
        both = pd.concat([frame[sel], marks[sel]])
        n = int(sel.sum())
        data = _features(both, {
            "_c": pd.Series([colour] * 2 * n), "_p": pd.concat([popup[sel]] * 2), "_t": pd.concat([tip[sel]] * 2),
            "_k": pd.Series([cls] * n + [f"{cls}-marker"] * n),
            "_o": pd.Series([0.35 if is_active else 0.15] * n + [0.9] * n),
            "outage_id": pd.concat([ids[sel]] * 2),
        })
        style = _style_js({"className": "gs-outage", "color": colour, "weight": 2,
                           "dashArray": None if is_active else "4 4"}, colour_key="fillColor")
        _geojson_layer(m, data, name=t(key, lang), style=style, points=_point_js(7 if is_active else 5), show=True)
    if legend:
        Legend(t("outages_active", lang), [("#e31a1c", t("outage_active", lang), "box"),
                                            ("#fd8d3c", t("outage_past", lang), "box")],
               position="bottomleft").add_to(m)
    return add_layer_control(m)


def _when(s: pd.Series) -> pd.Series:
    ts = pd.to_datetime(s, errors="coerce")
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert(TIMEZONE)
    return ts.dt.strftime("%Y-%m-%d %H:%M").astype(object).where(ts.notna(), "–").astype("str")


class CompactHeat(JSCSSMixin, folium.map.Layer):
    """A Leaflet.heat layer whose points travel as base64 Float32 (lat, lon, weight)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.gsHeat({{ this.data|tojson }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )
    default_js: ClassVar[list[tuple[str, str]]] = list(HeatMap.default_js)

    def __init__(self, data: str, *, name: str, options: dict[str, Any], show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GsHeat"
        self.data = data
        self.options = options


def heat_layer(
    points: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    name: str,
    weights: pd.Series | None = None,
    cell_deg: float = 1e-4,
    radius: int = 18,
    show: bool = True,
    m: folium.Map | None = None,
    lang: str | None = None,
) -> folium.Map:
    """A heat layer of points (complaints, repair calls), summed per ~10 m cell first.

    Parameters
    ----------
    points
        Point geometries (EPSG:4326), e.g. work orders located at their customer.
    name
        Layer name as shown in the layer control.
    weights
        Weight per point (default 1).
    cell_deg
        Points are summed per cell of this size so the page holds one number per
        place, not one per call.
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    m = _ensure_map(m, gpd.GeoDataFrame(geometry=geoms) if len(geoms) else None, lang)
    arr = np.asarray(geoms.values)
    ok = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    lon, lat = shapely.get_x(arr[ok]), shapely.get_y(arr[ok])
    w = np.ones(len(lon)) if weights is None else pd.to_numeric(weights, errors="coerce").to_numpy()[ok]
    good = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(w)
    lon, lat = display_xy(lon[good], lat[good], m)
    w = w[good]
    if len(lon):
        cells, inverse = np.unique(np.stack([np.round(lon / cell_deg), np.round(lat / cell_deg)], axis=1), axis=0,
                                   return_inverse=True)
        total = np.bincount(inverse.ravel(), weights=w)
        lon_c, lat_c = cells[:, 0] * cell_deg, cells[:, 1] * cell_deg
    else:
        total = lon_c = lat_c = np.array([])
    triplets = np.stack([lat_c, lon_c, total], axis=1).astype("<f4") if len(total) else np.zeros((0, 3), "<f4")
    data = base64.b64encode(triplets.tobytes()).decode("ascii")
    top = float(np.quantile(total, 0.98)) if len(total) else 1.0
    options = {"radius": radius, "blur": 15, "minOpacity": 0.3, "max": max(top, 1.0), "maxZoom": 15}
    CompactHeat(data, name=name, options=options, show=show).add_to(m)
    return add_layer_control(m)


def findings_layer(
    findings: gpd.GeoDataFrame,
    *,
    key: str = "findings",
    m: folium.Map | None = None,
    lang: str | None = None,
    show: bool = True,
) -> folium.Map:
    """Findings (audit findings, plan gaps and overlaps) drawn as their geometries.

    Parameters
    ----------
    findings
        A findings frame (:mod:`gridservice.findings`): ``check``, ``severity``,
        ``layer``, ``feature_id``, ``message``, ``geometry``. Rows with no
        geometry are left out.
    key
        ``findings`` (稽查问题) or ``plan_problems`` (网格方案问题): the layer's name.
    """
    findings = _geo(findings, "findings")
    m = _ensure_map(m, findings, lang)
    lang = map_lang(m, lang)
    f = findings[~(findings.geometry.isna() | findings.geometry.is_empty)].reset_index(drop=True)
    sev = _text(_col(f, "severity"))
    title = _text(_col(f, "check"))
    rows = [(t("severity", lang), _esc(sev.map(lambda s: choice({"error": ("错误", "error"),
                                                                  "warning": ("警告", "warning")}, s, lang)))),
            (t("feature_id", lang), _esc(_text(_col(f, "layer")) + " " + _text(_col(f, "feature_id")))),
            (t("message", lang), _esc(_col(f, "message")))]
    data = _features(display(f, m), {"_c": sev.map(SEVERITY_COLORS).fillna("#ff7f00"), "_p": _popup(title, rows),
                                     "_t": _esc(_col(f, "message"))})
    cls = "gs-finding" if key == "findings" else "gs-plan-problem"
    style = _style_js({"className": cls, "weight": 3, "fillOpacity": 0.3}, colour_key="color")
    _geojson_layer(m, data, name=t(key, lang), style=style, points=_point_js(6), show=show)
    return add_layer_control(m)


def customer_layer(
    customers: gpd.GeoDataFrame,
    *,
    cell_m: float | None = None,
    points: bool = True,
    min_zoom: int = 14,
    legend: bool = True,
    metric_crs: str | None = None,
    show_bins: bool = True,
    m: folium.Map | None = None,
    lang: str | None = None,
) -> folium.Map:
    """Customers: counts per square cell, and every customer from zoom ``min_zoom`` on.

    Never one object per customer: the cells are a few thousand features and the
    points travel in one packed array (:func:`~gridservice.maps.customers.pack_points`).
    """
    customers = _geo(customers, "customers")
    m = _ensure_map(m, customers, lang)
    lang = map_lang(m, lang)
    bins = customer_bins(customers, cell_m=cell_m, metric_crs=metric_crs)
    if len(bins):
        classes = classify(bins["count"], scheme="quantiles", k=5, direction=0)
        colours = pd.Series([classes.color_of(int(i)) for i in classes.index], index=bins.index)
        tip = t("count", lang) + ": " + _num(bins["count"])
        data = _features(display(bins, m), {"_c": colours, "_t": tip})
        style = _style_js({"className": "gs-bin", "stroke": False, "fillOpacity": 0.55}, colour_key="fillColor")
        name = f"{t('customer_bins', lang)} ({int(bins.attrs['cell_m'])} m)"
        _geojson_layer(m, data, name=name, style=style, show=show_bins, pane="overlayPane")
        if legend:
            items = [(c, label, "box") for c, label in zip(classes.colors, classes.labels(digits=0), strict=True)]
            if points:
                items += [(c, choice(CATEGORY, cat, lang), "dot")
                          for c, cat in zip(CATEGORY_COLORS, CATEGORY, strict=False)]
            note = t("points_note", lang, zoom=min_zoom) if points else ""
            Legend(t("legend_customers", lang), items, note=note, position="bottomleft").add_to(m)
    if points:
        geoms = np.asarray(customers.geometry.values)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        lon, lat = display_xy(shapely.get_x(geoms[ok]), shapely.get_y(geoms[ok]), m)
        codes = category_codes(customers["category"][ok]) if "category" in customers.columns else None
        CustomerPoints(pack_points(lon, lat, codes), name=t("customer_points", lang), min_zoom=min_zoom).add_to(m)
    return add_layer_control(m)


#: Outline colours of the warned grids (the browser's too).
WARNING_COLORS = {"red": "#c62828", "yellow": "#f9a825"}


def warned_grids_layer(grids: gpd.GeoDataFrame, warnings: pd.DataFrame, *, m: folium.Map | None = None,
                       lang: str | None = None, show: bool = True) -> folium.Map:
    """The grids with an open grid-level warning (docs/warnings.md), outlined in their worst colour (red over
    yellow), each with its open warnings in the popup; escalated ones marked 约谈."""
    grids = _geo(grids, "grids")
    m = _ensure_map(m, grids, lang)
    lang = map_lang(m, lang)
    w = warnings[warnings["cleared_at"].isna().to_numpy() & (warnings["level"] == "grid").to_numpy()]
    if not len(w):
        return m
    talk = pd.Series(np.where(w["escalated_at"].notna(), " (约谈)" if lang == "zh" else " (escalated)", ""),
                     index=w.index)
    text = _esc(w["indicator"].astype("str") + " " + w["severity"].astype("str") + talk)
    per_grid = text.groupby(w["unit_id"].astype("str").to_numpy()).agg("<br>".join)
    worst = w.assign(_r=(w["severity"] == "red")).groupby(w["unit_id"].astype("str").to_numpy())["_r"].any()
    hit = grids[grids.index.astype("str").isin(per_grid.index)]
    ids = pd.Series(hit.index.astype("str"), index=hit.index)
    colour = ids.map(worst).map({True: WARNING_COLORS["red"], False: WARNING_COLORS["yellow"]})
    rows = [(t("warned_grids", lang), ids.map(per_grid))]
    data = _features(display(hit.reset_index(drop=True), m), {
        "_c": colour.reset_index(drop=True), "_p": _popup(ids, rows).reset_index(drop=True),
        "_t": _esc(ids).reset_index(drop=True)})
    style = _style_js({"className": "gs-warned-grid", "weight": 4, "fill": False}, colour_key="color")
    _geojson_layer(m, data, name=t("warned_grids", lang), style=style, show=show)
    return add_layer_control(m)
