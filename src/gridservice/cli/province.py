"""Province verbs: ``province kpi|lineloss|reliability|audit|export`` over many county areas on Dask."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gridservice.cli.common import Format, app, console, emit, err_console, fail, rules
from gridservice.cli.metrics import AUDIT_COLUMNS, KPI_COLUMNS, LINELOSS_COLUMNS, AsOfOpt, _rounded

if TYPE_CHECKING:
    from gridservice.province import CountyOutcome, ProvinceResult

province_app = typer.Typer(help="A province: every county area at once on dask.distributed (a local cluster, or "
                                "--scheduler).", no_args_is_help=True)
app.add_typer(province_app, name="province")


class ProvinceBy(StrEnum):
    """Unit of a province table."""

    county = "county"
    station = "station"
    grid = "grid"


class ProvinceFormat(StrEnum):
    """How a province command writes its table."""

    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


AreasOpt = Annotated[str, typer.Option("--areas", "-a", help="Folder or glob of county GeoPackages (one county "
                                                              "per file, named by the file).")]
PeriodOpt = Annotated[str | None, typer.Option("--period", "-p", help="YYYY-MM (default: each county's latest "
                                                                       "month with data).")]
ByOpt = Annotated[ProvinceBy, typer.Option("--by", help="county, station or grid.")]
WorkersOpt = Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes of the local cluster.")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="Run on this existing Dask scheduler, e.g. "
                                                                      "tcp://10.0.0.5:8786, instead.")]
FormatOpt = Annotated[ProvinceFormat, typer.Option("--format", "-f", help="table, json, csv or parquet (--out).")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="File for --format parquet.")]

#: The columns a verb shows as a terminal table (its county verb's, after ``county``).
TABLE_COLUMNS = {
    "kpi": KPI_COLUMNS,
    "lineloss": LINELOSS_COLUMNS,
    "reliability": ["customers_served", "outages", "saifi", "saidi_min", "caidi_min", "rs1_pct"],
    "audit": AUDIT_COLUMNS,
}
#: ``--by`` → the unit name of the county functions.
UNIT = {ProvinceBy.county: "area", ProvinceBy.station: "station", ProvinceBy.grid: "grid"}


@contextmanager
def _progress(description: str, total: int) -> Iterator[Callable[[CountyOutcome], None]]:
    """A Rich bar advanced as each county completes (✓) or fails (✗)."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[last]}"), TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task(description, total=total, last="")

        def done(outcome: CountyOutcome) -> None:
            mark = "[red]✗[/]" if outcome.error else "✓"
            bar.update(task, advance=1, last=f"{mark} {outcome.county}")

        yield done


def _run(verb: str, areas: str, *, period: str | None, by: ProvinceBy, as_of: str | None, workers: int,
         scheduler: str | None, fmt: ProvinceFormat, out: Path | None) -> None:
    from gridservice.metrics.period import parse_period
    from gridservice.province import cluster, county_stores, run
    from gridservice.province.run import dashboard_link

    if fmt is ProvinceFormat.parquet and out is None:
        fail("--format parquet needs --out FILE.parquet")
    if period:
        parse_period(period)  # a bad period is one error here, not one per county
    stores = county_stores(areas)
    with cluster(workers=workers, scheduler=scheduler) as client:
        link = dashboard_link(client)
        if link:
            err_console.print(f"Dask dashboard: {link}")
        with _progress(f"province {verb}", len(stores)) as done:
            result = run(client, verb, stores, period=period, by=UNIT[by], as_of=as_of, rules=rules(), on_done=done)
    _emit(result, fmt, out)
    if len(result.errors):
        err_console.print(f"[bold red]error:[/] {len(result.errors)} of {len(stores)} counties failed: "
                          + "; ".join(f"{r.county}: {r.error}" for r in result.errors.itertuples()),
                          highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def flat(result: ProvinceResult) -> pd.DataFrame:
    """One table for files: the rows, each county's rank and score (kpi), and a row per failed county
    with its ``error``."""
    table = _rounded(result.table)
    if len(result.ranking):
        rank = result.ranking[["rank", "score"]].rename(columns=lambda c: f"county_{c}")
        table = table.join(rank, on="county")
    if len(result.errors):
        ints = [c for c in table.columns if pd.api.types.is_integer_dtype(table[c].dtype)]
        table = table.astype(dict.fromkeys(ints, "Int64"))  # counts stay whole beside the failed counties' blanks
        table = pd.concat([table.assign(error=pd.Series(pd.NA, index=table.index, dtype="str")),
                           result.errors[["county", "error"]].astype("str")], ignore_index=True)
    return table


def _emit(result: ProvinceResult, fmt: ProvinceFormat, out: Path | None) -> None:
    if fmt is ProvinceFormat.table:
        table = _rounded(result.table, 2)
        cols = ["county", *[c for c in table.columns[1:2] if c in ("area", "station_id", "grid_id")],
                *TABLE_COLUMNS[result.verb]]
        emit(table[[c for c in cols if c in table.columns]], Format.table,
             title=f"province {result.verb}: {table['county'].nunique()} counties (all columns: --format csv/json)")
        if len(result.ranking):
            emit(_rounded(result.ranking, 2).reset_index(), Format.table,
                 title="county ranking (grid ranking's method)")
        if len(result.errors):
            emit(result.errors, Format.table, title="counties that failed")
        return
    table = flat(result)
    if fmt is ProvinceFormat.parquet:
        assert out is not None
        _write_parquet(table, out)
        console.print(f"wrote [bold]{out}[/]: {len(table):,} rows")
    else:
        emit(table, Format(fmt.value))


def _write_parquet(table: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        table.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@province_app.command("kpi")
def kpi(areas: AreasOpt, period: PeriodOpt = None, by: ByOpt = ProvinceBy.county, as_of: AsOfOpt = None,
        workers: WorkersOpt = 2, scheduler: SchedulerOpt = None, fmt: FormatOpt = ProvinceFormat.table,
        out: OutOpt = None) -> None:
    """Service KPIs of every county (gridservice kpi per county) and the counties' ranking."""
    _run("kpi", areas, period=period, by=by, as_of=as_of, workers=workers, scheduler=scheduler, fmt=fmt, out=out)


@province_app.command("lineloss")
def lineloss(areas: AreasOpt, period: PeriodOpt = None, workers: WorkersOpt = 2, scheduler: SchedulerOpt = None,
             fmt: FormatOpt = ProvinceFormat.table, out: OutOpt = None) -> None:
    """Line loss per transformer area of every county (gridservice lineloss per county)."""
    _run("lineloss", areas, period=period, by=ProvinceBy.county, as_of=None, workers=workers, scheduler=scheduler,
         fmt=fmt, out=out)


@province_app.command("reliability")
def reliability(areas: AreasOpt, period: PeriodOpt = None, by: ByOpt = ProvinceBy.county, as_of: AsOfOpt = None,
                workers: WorkersOpt = 2, scheduler: SchedulerOpt = None, fmt: FormatOpt = ProvinceFormat.table,
                out: OutOpt = None) -> None:
    """SAIFI, SAIDI, CAIDI and RS-1 of every county (IEEE 1366), per county, station or grid."""
    _run("reliability", areas, period=period, by=by, as_of=as_of, workers=workers, scheduler=scheduler, fmt=fmt,
         out=out)


@province_app.command("audit")
def audit(areas: AreasOpt, period: PeriodOpt = None, as_of: AsOfOpt = None, workers: WorkersOpt = 2,
          scheduler: SchedulerOpt = None, fmt: FormatOpt = ProvinceFormat.table, out: OutOpt = None) -> None:
    """Audit (稽查) findings of every county (gridservice audit per county)."""
    _run("audit", areas, period=period, by=ProvinceBy.county, as_of=as_of, workers=workers, scheduler=scheduler,
         fmt=fmt, out=out)


@province_app.command("export")
def export(
    areas: AreasOpt,
    to: Annotated[Path, typer.Option("--to", help="New folder for the lake, e.g. province.parquet.")],
    workers: WorkersOpt = 2,
    scheduler: SchedulerOpt = None,
) -> None:
    """Customers, grids, transformers and readings of every county as GeoParquet partitioned by county (hive
    layout: <layer>/county=<name>/part-0.parquet; readings also by month=YYYY-MM); all or nothing."""
    from gridservice.province import cluster, county_stores
    from gridservice.province.export import LAYERS
    from gridservice.province.export import export as export_province

    stores = county_stores(areas)
    with cluster(workers=workers, scheduler=scheduler) as client, _progress("province export", len(stores)) as done:
        outcomes = export_province(client, stores, to, on_done=done)
    failed = [o for o in outcomes if o.error]
    if failed:
        fail(f"nothing written: {len(failed)} of {len(stores)} counties failed: "
             + "; ".join(f"{o.county}: {o.error}" for o in failed))
    totals = {layer: sum(o.tables[layer] for o in outcomes) for layer in LAYERS}
    console.print(f"wrote [bold]{to}[/] ({len(stores)} counties): "
                  + ", ".join(f"{k} {v:,}" for k, v in totals.items()))


@province_app.command("readings-loss")
def readings_loss(
    lake: Annotated[Path, typer.Option("--lake", help="A lake written by `province export` (or in its layout).")],
    period: Annotated[str, typer.Option("--period", "-p", help="One month, YYYY-MM.")],
    workers: WorkersOpt = 2,
    scheduler: SchedulerOpt = None,
    fmt: FormatOpt = ProvinceFormat.table,
    out: OutOpt = None,
) -> None:
    """Monthly line loss per transformer area from the lake's readings on dask.dataframe: one partition per
    county-month, the county rule (gridservice lineloss's supply, sales, loss and class)."""
    from gridservice.metrics.lineloss import CLASSES
    from gridservice.province import cluster
    from gridservice.province.readings import line_loss

    if fmt is ProvinceFormat.parquet and out is None:
        fail("--format parquet needs --out FILE.parquet")
    loss = line_loss(lake, period, rules=rules())
    with cluster(workers=workers, scheduler=scheduler) as client:
        table = client.compute(loss).result()
    table = _rounded(table.astype({"county": "str", "transformer_id": "str", "period": "str", "class": "str"}))
    if fmt is ProvinceFormat.parquet:
        assert out is not None
        _write_parquet(table, out)
        console.print(f"wrote [bold]{out}[/]: {len(table):,} rows")
    elif fmt is ProvinceFormat.table:  # a province has too many areas for a terminal: their classes per county
        counts = pd.crosstab(table["county"], table["class"]).reindex(columns=list(CLASSES), fill_value=0)
        emit(counts.reset_index(), Format.table,
             title=f"transformer areas per line-loss class, {period} (every area: --format csv/json/parquet)")
    else:
        emit(table, Format(fmt.value))


@province_app.command("report")
def report(
    areas: AreasOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the .xlsx and .html.")] = Path("."),
    period: PeriodOpt = None,
    as_of: AsOfOpt = None,
    workers: WorkersOpt = 2,
    scheduler: SchedulerOpt = None,
) -> None:
    """The province report: counties' KPIs, their ranking and every station, as Excel and HTML."""
    from gridservice.province import cluster, county_stores, run
    from gridservice.province.report import write_province_report

    stores = county_stores(areas)
    with cluster(workers=workers, scheduler=scheduler) as client, _progress("province report", len(stores)) as done:
        result = run(client, "kpi", stores, period=period, by="station", as_of=as_of, rules=rules(), on_done=done)
    if result.counties.empty:
        fail("no county could be read: " + "; ".join(f"{r.county}: {r.error}" for r in result.errors.itertuples()))
    for path in write_province_report(result, out):
        console.print(f"wrote [bold]{path}[/]")
    if len(result.errors):
        fail(f"{len(result.errors)} of {len(stores)} counties left out: "
             + "; ".join(f"{r.county}: {r.error}" for r in result.errors.itertuples()))
