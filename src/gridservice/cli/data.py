"""Data verbs: ``init``, ``demo``, ``import``, ``export``, ``validate``, ``migrate``, ``grant``, ``copy``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gridservice import clock
from gridservice.auth import ROLES, SEES_PERSONAL_DATA
from gridservice.cli.common import (
    DataOpt,
    Format,
    FormatOpt,
    OverwriteOpt,
    app,
    console,
    data_path,
    emit,
    fail,
    output_file,
    progress_bar,
    rules,
)
from gridservice.io import is_database_url, open_store
from gridservice.io.importer import export_layer, import_layer
from gridservice.io.tables import layer as declared_layer
from gridservice.model import ServiceArea

if TYPE_CHECKING:
    from gridservice.demo import County
from gridservice.schema import LAYERS


@app.command()
def init(
    data: DataOpt = None, force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False
) -> None:
    """Create an empty service area (every layer, no rows)."""
    store = open_store(data_path(data))
    if store.exists() and not force:
        fail(f"{store.url} already exists (use --force to overwrite, `gridservice migrate` to upgrade it)")
    store.write(ServiceArea({}).layers, create=True)
    console.print(f"created empty service area [bold]{store.url}[/] ({len(LAYERS)} layers)")


@app.command()
def migrate(data: DataOpt = None) -> None:
    """Bring a service area's database schema up to this version of gridservice (keeps every row)."""
    store = open_store(data_path(data))
    if not store.exists():
        fail(f"{store.url}: no such service area (create one with `gridservice init`)")
    steps = store.migrate()
    console.print(f"{store.url}: {steps} migration step(s) applied" if steps else f"{store.url}: up to date")


@app.command()
def grant(data: DataOpt = None) -> None:
    """Create a database role per product role (gridservice_planner, …) that may read the area from QGIS;
    customers' names, phones and addresses only masked (customers_masked) for roles that do not see them."""
    store = open_store(data_path(data))
    if not is_database_url(store.url):
        fail(f"{store.url}: `grant` is for a PostgreSQL database (a GeoPackage is read as a file)")
    roles = store.grant({role: role in SEES_PERSONAL_DATA for role in ROLES})  # type: ignore[attr-defined]
    console.print(f"{store.url}: {', '.join(roles)} may read the area (grant them to logins: "
                  f"GRANT {roles[0]} TO alice)")


@app.command()
def copy(
    source: Annotated[str, typer.Argument(help="The service area to copy: a GeoPackage or a postgresql:// URL.")],
    target: Annotated[str, typer.Argument(help="Where to copy it: a GeoPackage or a postgresql:// URL.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a service area already there.")] = False,
) -> None:
    """Copy a whole service area between stores, losslessly: every layer, extra columns, history, users, audit log."""
    src, dst = open_store(source), open_store(target)
    if not src.exists():
        fail(f"{src.url}: no such service area")
    if dst.exists() and not force:
        fail(f"{dst.url} already exists (use --force to replace it)")
    with progress_bar(f"copying {src.url}") as progress:
        frames = src.read()
        progress(f"writing {dst.url}", 0.5)
        dst.write(frames, create=True)
    console.print(f"copied {len(frames)} layers, {sum(len(f) for f in frames.values()):,} rows to [bold]{dst.url}[/]")


@app.command()
def demo(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="GeoPackage to write (default: the demo); with "
                                                                  "--province, the folder of the counties' files.")]
    = None,
    customers: Annotated[int, typer.Option(min=100, help="Number of customers.")] = 30_000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; same seed and --as-of, same data.")] = 0,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The demo's present, e.g. 2026-11-30T18:00: its "
                                                              "year of events ends there (default: now).")] = None,
    province: Annotated[int | None, typer.Option("--province", min=1, max=100, help="Build N counties of Jiangxi "
                                                 "(Nanfeng and its nearest neighbours), one GeoPackage each in "
                                                 "--out, each seeded by its county code.")] = None,
    per_county: Annotated[int, typer.Option("--customers-per-county", min=100, help="Customers of each county "
                                                                                    "(with --province).")] = 30_000,
) -> None:
    """Generate the Nanfeng county (南丰县) demo territory: twelve months of events ending now (or --as-of)."""
    if province is not None:
        if out is None:
            fail("--province needs --out DIR, the folder of the counties' GeoPackages")
        write_province_demo(out, counties=province, customers=per_county, as_of=as_of)
        return
    target = str(out) if out else data_path(None)
    counts = write_demo(target, customers=customers, seed=seed, as_of=as_of)
    console.print(f"wrote [bold]{target}[/]: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


def write_demo(target: str, *, customers: int = 30_000, seed: int = 0, as_of: str | None = None,
               county: County | None = None) -> dict[str, int]:
    """Build the demo (of Nanfeng, or ``county``) with a progress bar and write it in one transaction."""
    from gridservice.auth import demo_users
    from gridservice.demo import NANFENG, build_demo

    county = county or NANFENG
    with progress_bar(f"{county.name} demo, {customers:,} customers") as progress:
        frames = build_demo(customers=customers, seed=seed, as_of=as_of, county=county,
                            progress=lambda s, f: progress(s, 0.7 * f))
        frames["users"] = demo_users()[0]  # one demo login per role; `gridservice serve` prints them
        progress("writing GeoPackage", 0.7)
        open_store(target).write(frames, create=True)
    return {k: len(v) for k, v in frames.items() if k in ("grids", "transformers", "customers", "work_orders")}


def write_province_demo(out: Path, *, counties: int, customers: int, as_of: str | None = None) -> list[Path]:
    """``counties`` county demos of Jiangxi as ``out/<county>.gpkg``, each with its county code as seed and
    all with one ``as_of`` (the clock's now, to the minute, unless given)."""
    from gridservice.demo import province_counties

    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file: with --province it names a folder")
    out.mkdir(parents=True, exist_ok=True)
    as_of = as_of or clock.now().floor("min").isoformat()
    paths = []
    for county in province_counties(counties):
        path = out / f"{county.slug}.gpkg"
        counts = write_demo(str(path), customers=customers, seed=county.seed, as_of=as_of, county=county)
        console.print(f"wrote [bold]{path}[/] ({county.name}): " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        paths.append(path)
    return paths


@app.command("import")
def import_(
    layer: Annotated[str, typer.Argument(help=f"Target layer: {', '.join(LAYERS)}.")],
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile, CSV or Excel (.xlsx).")],
    data: DataOpt = None,
    crs: Annotated[str | None, typer.Option(
        help="EPSG:xxxx (e.g. 4545: CGCS2000 Gauss–Krüger 108°E), gcj02 or bd09 if the file does not say.")] = None,
    encoding: Annotated[str, typer.Option(help="auto, utf-8 or gbk (CSV, GIS text).")] = "auto",
    replace: Annotated[bool, typer.Option(help="Replace the whole layer instead of adding rows.")] = False,
    source_layer: Annotated[
        str | None, typer.Option("--layer", help="Layer of a GeoPackage or sheet of a workbook to read.")
    ] = None,
) -> None:
    """Import a layer from a file; bad rows are refused and nothing is written."""
    declared_layer(layer)
    store = open_store(data_path(data))
    result = import_layer(store, layer, file, crs=crs, encoding=encoding, replace=replace, source_layer=source_layer)
    verb = "replaced" if result.replaced else "added"
    console.print(f"{layer}: {verb} {result.rows:,} rows ({result.total:,} in layer)")


@app.command()
def export(
    layer: Annotated[str, typer.Argument(help="Layer to export.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write: .csv, .geojson, .gpkg or .shp.")],
    data: DataOpt = None,
    force: OverwriteOpt = False,
) -> None:
    """Export one layer (with derived columns such as grid_id; never password hashes)."""
    from gridservice.workspace import open_area

    declared_layer(layer)
    output_file(out, data, force=force, suffixes=(".csv", ".geojson", ".json", ".gpkg", ".shp", ".fgb"))
    area = open_area(data_path(data))
    n = export_layer(area.layers[layer].drop(columns="password_hash", errors="ignore"), layer, out)
    console.print(f"{layer}: wrote {n:,} rows to {out}")


@app.command()
def validate(data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Check schema, ids, foreign keys, geometry and every later rule; exit 1 on errors."""
    from gridservice.checks import validate as run_checks
    from gridservice.workspace import open_area

    area = open_area(data_path(data))
    found = run_checks(area, rules=rules())
    errors = int((found["severity"] == "error").sum())
    if fmt is Format.table:
        if len(found):
            emit(found[["severity", "check", "layer", "feature_id", "message"]], fmt, title="validation findings")
        console.print(f"{errors} error(s), {len(found) - errors} warning(s)")
    else:
        emit(found, fmt)
    if errors:
        raise typer.Exit(1)
