"""``gridservice map coverage|operations|lineloss``: write a map as one offline HTML file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gridservice.cli.common import DataOpt, app, console, data_path, fail, output_file, progress_bar, rules, settings


class MapKind(StrEnum):
    """Which map to draw."""

    coverage = "coverage"
    operations = "operations"
    lineloss = "lineloss"
    province = "province"


class Lang(StrEnum):
    """Label language."""

    zh = "zh"
    en = "en"


@app.command("map")
def map_(
    kind: Annotated[MapKind, typer.Argument(help="coverage, operations, lineloss, or province (with --areas).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write (assets inlined; opens offline).")],
    data: DataOpt = None,
    metric: Annotated[str | None, typer.Option(
        help="KPI to colour grids by (coverage default: customers), e.g. complaints_per_10k, saidi_min, "
        "rs1_pct; none for outlines.",
    )] = None,
    period: Annotated[str | None, typer.Option(help="Month YYYY-MM (default: the latest month with data).")] = None,
    basemap: Annotated[str | None, typer.Option(
        help="local (the area's land and place names, offline), none, or online tiles: osm, gcj02 or a URL "
             "template with {z}/{x}/{y} (default: GRIDSERVICE_BASEMAP or local).",
    )] = None,
    lang: Annotated[Lang, typer.Option(help="Label language: zh (default) or en.")] = Lang.zh,
    areas: Annotated[str | None, typer.Option("--areas", help="province: folder or glob of county GeoPackages.")]
    = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="province: local Dask worker processes.")] = 2,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="province: an existing Dask scheduler.")]
    = None,
) -> None:
    """Draw a map of the service area (or of a province's counties) into one HTML file that needs no internet."""
    from gridservice.maps import build_map, map_html, write_map
    from gridservice.workspace import open_area

    output_file(out, data, suffixes=(".html", ".htm"))
    basemap = settings().basemap if basemap is None else basemap
    if kind is MapKind.province:
        if areas is None:
            fail("map province needs --areas, the counties' GeoPackages")
        _province_map(out, areas, metric=metric or "saidi_min", period=period, basemap=basemap, lang=lang.value,
                      workers=workers, scheduler=scheduler)
        return
    options: dict[str, object] = {"period": period, "basemap": basemap, "lang": lang.value, "rules": rules()}
    if metric is not None:
        options["metric"] = None if metric.lower() == "none" else metric
    with progress_bar(f"{kind.value} map") as progress:
        progress("loading", 0.05)
        area = open_area(data_path(data))
        progress("drawing", 0.4)
        m = build_map(kind.value, area, **options)
        progress("rendering", 0.8)
        html = map_html(m)
        write_map(html, out)
    console.print(f"wrote [bold]{out}[/] ({len(html.encode()) / 1e6:.1f} MB, {kind.value} map of {area.name})")


def _province_map(out: Path, areas: str, *, metric: str, period: str | None, basemap: str | None, lang: str,
                  workers: int, scheduler: str | None) -> None:
    from gridservice.cli.province import _progress
    from gridservice.maps import map_html, write_map
    from gridservice.maps.province import build_province_map
    from gridservice.province import cluster, county_stores
    from gridservice.province.layers import province_levels

    stores = county_stores(areas)
    with cluster(workers=workers, scheduler=scheduler) as client, _progress("province map", len(stores)) as done:
        levels, _, outcomes = province_levels(client, stores, period=period, rules=rules(), on_done=done)
    html = map_html(build_province_map(levels, metric=metric, period=period or "", basemap=basemap, lang=lang))
    write_map(html, out)
    console.print(f"wrote [bold]{out}[/] ({len(html.encode()) / 1e6:.1f} MB, {len(levels['county'].shapes)} counties)")
    failed = [o for o in outcomes if o.error]
    if failed:
        fail(f"{len(failed)} of {len(stores)} counties left out: "
             + "; ".join(f"{o.county}: {o.error}" for o in failed))
