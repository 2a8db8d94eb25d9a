"""What a province map draws: counties, stations and grids with their KPIs.

One task per county opens it and returns its polygons beside its KPIs at
three levels — the county (``kpis(by="area")``, its service-area polygon),
its stations (``kpis(by="station")``, the union of their grids) and its
grids (``kpis(by="grid")``) — so a map can colour counties by a KPI and let
the reader drill down to stations and grids. Keys are prefixed with the
county (``nanfeng/NF-CQ``) so that ids repeated across counties stay apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from distributed import Client

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.metrics.kpi import kpis
from gridservice.metrics.lineloss import line_loss
from gridservice.metrics.period import latest_period, parse_period
from gridservice.province.run import CountyOutcome, county_ranking, gather
from gridservice.workspace import open_area

LEVELS = ("county", "station", "grid")


@dataclass
class Level:
    """Polygons (``name``, geometry) and their KPIs, on one index."""

    shapes: gpd.GeoDataFrame
    kpis: pd.DataFrame


def county_levels(url: str, county: str, *, period: str | None = None,
                  rules: Rules = DEFAULT_RULES) -> dict[str, Level]:
    """One county's polygons and KPIs per level (see the module doc)."""
    area = open_area(url)
    p = parse_period(period) if period else latest_period(area)
    loss = line_loss(area, p, rules=rules)
    out = {}
    grids = area.grids[["name", "station_id", "geometry"]]
    stations = grids.dissolve(by="station_id")[["geometry"]].join(area.stations[["name"]])
    sa = area.service_area.set_index(pd.Index([county], name="county"))[["name", "geometry"]]
    for level, shapes, by in (("county", sa, "area"), ("station", stations, "station"), ("grid", grids, "grid")):
        table = kpis(area, p, by=by, loss=loss, rules=rules)
        keys = [county] if level == "county" else [f"{county}/{k}" for k in table.index]
        shapes = shapes.set_axis([county] if level == "county" else [f"{county}/{k}" for k in shapes.index])
        out[level] = Level(gpd.GeoDataFrame(shapes[["name", "geometry"]], crs=area.grids.crs),
                           table.set_axis(keys).drop(columns=["name"]).assign(county=county))
    return out


def province_levels(client: Client, stores: Mapping[str, str], *, period: str | None = None,
                    rules: Rules = DEFAULT_RULES, on_done: Callable[[CountyOutcome], None] | None = None,
                    ) -> tuple[dict[str, Level], pd.DataFrame, list[CountyOutcome]]:
    """Every county's levels combined, the counties' ranking, and the outcomes (failed counties included)."""
    outcomes = gather(client, county_levels, {c: (url, c) for c, url in stores.items()}, stores,
                      options={"period": period, "rules": rules}, prefix="map", on_done=on_done)
    done = [o for o in outcomes if o.tables is not None]
    levels = {
        level: Level(pd.concat([o.tables[level].shapes for o in done]),  # type: ignore[arg-type]
                     pd.concat([o.tables[level].kpis for o in done]))
        for level in LEVELS
    } if done else {}
    ranking = county_ranking({o.county: o.tables["county"].kpis.assign(name=o.tables["county"].shapes["name"])
                              for o in done})
    return levels, ranking, outcomes
