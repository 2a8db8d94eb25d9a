"""The three maps a supervisor opens: coverage, operations and line loss.

Each ``build_*_map`` takes a :class:`~gridservice.model.ServiceArea`, gathers
what the analyses compute (:mod:`gridservice.maps.data`) and stacks the layer
builders (:mod:`gridservice.maps.layers`). :func:`map_html` renders a map to
one HTML page with every asset inlined (or linked under the server's asset
prefix); :func:`write_map` writes it atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import folium
import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.maps import data
from gridservice.maps.assets import ASSET_URL_PREFIX, offline_html
from gridservice.maps.backdrop import backdrop_layer
from gridservice.maps.base import base_map
from gridservice.maps.i18n import check_lang, t
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
    warned_grids_layer,
)
from gridservice.maps.legend import metric_label
from gridservice.metrics.period import latest_period
from gridservice.model import ServiceArea
from gridservice.privacy import mask_phones_in_text
from gridservice.schema import TIMEZONE

__all__ = ["MAP_KINDS", "build_coverage_map", "build_lineloss_map", "build_map", "build_operations_map", "map_html",
           "write_map"]

MAP_KINDS = ("coverage", "operations", "lineloss")


def _bounds(area: ServiceArea) -> tuple[float, float, float, float] | None:
    territory = area.territory
    if territory.is_empty:
        if len(area.customers):
            return tuple(area.customers.total_bounds)  # type: ignore[return-value]
        return None
    return territory.bounds  # type: ignore[no-any-return]


def _base_map(area: ServiceArea, *, basemap: str | None, lang: str, title: str) -> folium.Map:
    """The empty map of ``area``, with its land and place names when the basemap is ``local``."""
    m = base_map(_bounds(area), basemap=basemap, lang=lang, title=title)
    if m.gs_local:
        backdrop_layer(area, m=m)
    return m


def _no_grids(area: ServiceArea) -> None:
    if not len(area.grids):
        msg = f"{area.name}: the service area has no grids to draw"
        raise DataError(msg)


def build_coverage_map(
    area: ServiceArea,
    *,
    metric: str | None = "customers",
    period: str | None = None,
    basemap: str | None = None,
    lang: str = "zh",
    kpis: pd.DataFrame | None = None,
    scheme: str = "natural_breaks",
    customers: bool = True,
    heat: bool = True,
    problems: bool = True,
    masked: bool = False,
    rules: Rules = DEFAULT_RULES,
) -> folium.Map:
    """Grids coloured by a KPI, staff bases, customers, complaint heat and problems.

    Parameters
    ----------
    area
        The service area (as :func:`gridservice.workspace.open_area` returns it).
    metric
        KPI column to colour the grids by (``customers``, ``complaints_per_10k``,
        ``saidi_min``, ``rs1_pct`` …); ``None`` for plain outlines.
    period
        ``YYYY-MM`` of the KPIs and complaints (default: the latest month with data).
    basemap
        ``local`` (land and place names from the data), ``none``, ``osm``, ``gcj02`` or a tile URL
        (default: ``local``).
    lang
        ``zh`` (default) or ``en``.
    kpis
        KPIs per grid already computed (default: computed for ``period``).
    scheme
        Classification of the KPI (``natural_breaks``, ``quantiles``, ``equal_interval``).
    customers, heat, problems
        Add the customer layers, the complaint heat, audit findings and plan problems.
    masked
        Mask phone numbers in the audit findings (for readers without access to personal data).

    Examples
    --------
    >>> m = build_coverage_map(area, metric="complaints_per_10k", period="2026-03")  # doctest: +SKIP
    >>> write_map(m, "coverage.html")  # doctest: +SKIP
    """
    check_lang(lang)
    _no_grids(area)
    period = data.check_period(period) if period else latest_period(area).label
    if kpis is None:
        kpis = data.grid_kpis(area, period, rules=rules)
    label = metric_label(metric, lang, unit=False) if metric else t("grids", lang)
    title = t("coverage_title", lang, area=area.name, metric=f"{label} · {period}")
    m = _base_map(area, basemap=basemap, lang=lang, title=title)
    grid_layer(area.grids, kpis=kpis, metric=metric, grid_staff=area.grid_staff, staff=area.staff,
               stations=area.stations, scheme=scheme, m=m)
    if customers and len(area.customers):
        # The density cells would hide the KPI colours: off until asked for; points show on zooming in.
        customer_layer(area.customers, m=m, metric_crs=area.metric_crs, show_bins=False)
    if heat:
        pts = data.work_order_points(area, kinds=("complaint",), period=period)
        if len(pts):
            heat_layer(pts, name=t("complaint_heat", lang), m=m, show=False)
    if len(area.staff):
        staff_layer(area.staff, m=m, show=False)
    if problems:
        plan = data.plan_problems(area, rules=rules)
        if len(plan):
            findings_layer(plan, key="plan_problems", m=m)
        audit = data.audit_findings(area, period, rules=rules)
        if masked and len(audit):
            audit = audit.assign(message=mask_phones_in_text(audit["message"]))
        if len(audit):
            findings_layer(audit, key="findings", m=m, show=False)
        if len(area.warnings):  # the grids with open indicator warnings (docs/warnings.md)
            warned_grids_layer(area.grids, area.warnings, m=m)
    return add_layer_control(m)


def build_operations_map(
    area: ServiceArea,
    *,
    metric: str | None = None,
    period: str | None = None,
    basemap: str | None = None,
    lang: str = "zh",
    now: pd.Timestamp | None = None,
    kpis: pd.DataFrame | None = None,
    rules: Rules = DEFAULT_RULES,
) -> folium.Map:
    """Active and past outages with their affected areas, repair and complaint heat, staff and feeders.

    ``period`` selects the past outages and the calls shown (default: the
    latest month with data); active outages are shown whatever their start.
    """
    check_lang(lang)
    _no_grids(area)
    period = data.check_period(period) if period else latest_period(area).label
    title = t("operations_title", lang, area=area.name) + f" · {period}"
    m = _base_map(area, basemap=basemap, lang=lang, title=title)
    if metric is not None and kpis is None:
        kpis = data.grid_kpis(area, period, rules=rules)
    grid_layer(area.grids, kpis=kpis, metric=metric, grid_staff=area.grid_staff, staff=area.staff,
               stations=area.stations, m=m)
    if len(area.feeders):
        feeder_layer(area.feeders, m=m, show=False)
    for kinds, key in ((("repair",), "repair_heat"), (("complaint",), "complaint_heat")):
        pts = data.work_order_points(area, kinds=kinds, period=period)
        if len(pts):
            heat_layer(pts, name=t(key, lang), m=m, show=key == "repair_heat")
    outages = area.outages
    if len(outages):
        now = now if now is not None else area.as_of
        end = outages["end_at"]
        start_month = outages["start_at"].dt.tz_convert(TIMEZONE).dt.strftime("%Y-%m")
        active = end.isna() | (end > now)
        shown = outages[(active | (start_month == period)).to_numpy()]
        if len(shown):
            outage_layer(shown, data.outage_areas(area, shown), now=now, m=m)
    if len(area.staff):
        staff_layer(area.staff, m=m)
    return add_layer_control(m)


def build_lineloss_map(
    area: ServiceArea,
    *,
    period: str | None = None,
    basemap: str | None = None,
    lang: str = "zh",
    lineloss: pd.DataFrame | None = None,
    metric: str | None = "high_loss_transformers",
    rules: Rules = DEFAULT_RULES,
) -> folium.Map:
    """Transformers coloured by line-loss class, feeders, and grids by their high-loss count."""
    check_lang(lang)
    _no_grids(area)
    period = data.check_period(period) if period else latest_period(area).label
    if lineloss is None:
        lineloss = data.line_loss(area, period, rules=rules)
    kpis = None
    if lineloss is not None and len(lineloss) and "class" in lineloss.columns and metric == "high_loss_transformers":
        ll = lineloss.reset_index() if "transformer_id" not in lineloss.columns else lineloss
        grid = ll["grid_id"] if "grid_id" in ll.columns else ll["transformer_id"].map(area.transformers["grid_id"])
        high = grid[(ll["class"] == "high").to_numpy()].value_counts()
        kpis = pd.DataFrame({"high_loss_transformers": high.reindex(area.grids.index, fill_value=0)})
    elif metric == "high_loss_transformers":
        metric = None
    title = t("lineloss_title", lang, area=area.name, period=period)
    m = _base_map(area, basemap=basemap, lang=lang, title=title)
    grid_layer(area.grids, kpis=kpis, metric=metric, grid_staff=area.grid_staff, staff=area.staff,
               stations=area.stations, scheme="natural_breaks", m=m)
    if len(area.feeders):
        feeder_layer(area.feeders, m=m)
    if len(area.transformers):
        transformer_layer(area.transformers, lineloss=lineloss, m=m)
    return add_layer_control(m)


def build_map(kind: str, area: ServiceArea, **options: object) -> folium.Map:
    """``coverage``, ``operations`` or ``lineloss`` by name (for faces that take the kind as text)."""
    builders = {"coverage": build_coverage_map, "operations": build_operations_map, "lineloss": build_lineloss_map}
    if kind not in builders:
        msg = f"unknown map {kind!r}; expected one of {', '.join(MAP_KINDS)}"
        raise DataError(msg)
    return builders[kind](area, **options)  # type: ignore[operator]


def map_html(m: folium.Map, *, inline: bool = True, prefix: str = ASSET_URL_PREFIX) -> str:
    """The map as one HTML page that needs no internet.

    ``inline=True`` embeds every script and stylesheet (an exported file);
    ``inline=False`` links them under ``prefix`` where the server mounts
    :func:`gridservice.maps.asset_dir`.

    Raises
    ------
    DataError
        For a file (``inline=True``) over an MBTiles basemap: only the server has its tiles.
    """
    if inline and getattr(m, "gs_mbtiles", None):
        msg = (f"basemap {m.gs_mbtiles}: an MBTiles basemap is served by `gridservice serve` (open the map at "
               f"/maps/…); a map file cannot carry it: use --basemap local for a file")
        raise DataError(msg)
    return offline_html(m.get_root().render(), inline=inline, prefix=prefix)


def write_map(m: folium.Map | str, path: str | os.PathLike[str]) -> Path:
    """Write a map (or a rendered page) to ``path`` atomically, assets inlined."""
    text = m if isinstance(m, str) else map_html(m)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a map is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
