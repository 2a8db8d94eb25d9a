"""Planner and dispatcher verbs on grids: ``locate`` and ``plan check|preview|commit|history|revert``.

``plan`` is a sub-app (:data:`plan_app`); other modules add their own plan
verbs to it (``plan propose``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import pandas as pd
import typer
from rich.table import Table

from gridservice.cli.common import (
    DataOpt,
    Format,
    FormatOpt,
    FrameTable,
    OverwriteOpt,
    app,
    console,
    data_path,
    emit,
    err_console,
    fail,
    frame_table,
    output_file,
    records,
    rules,
)
from gridservice.errors import DataError, InvalidPlanError

plan_app = typer.Typer(
    name="plan",
    help="Grid plans: check, preview what moves, commit a version, list and revert versions.",
    no_args_is_help=True,
)
app.add_typer(plan_app, name="plan")

PlanFile = Annotated[Path, typer.Argument(help="Plan file of grids (some or all): GeoJSON, or a GeoPackage "
                                               "with a grids layer (what plan propose writes).")]
AuthorOpt = Annotated[str, typer.Option("--author", help="Who commits (recorded in the plan history and audit log).")]
BaseOpt = Annotated[int | None, typer.Option("--base-version", help="Plan version the change was drawn on "
                                                                    "(default: the plan_version the file's grids "
                                                                    "carry); refused if someone committed since.")]
CompleteOpt = Annotated[bool, typer.Option("--complete", help="The file is the whole plan: current grids "
                                                               "missing from it are removed (a proposal).")]
ForceOpt = Annotated[str | None, typer.Option("--force-reason", help="Commit despite plan errors, for this reason "
                                                                     "(recorded).")]


def _area(data: str | None):
    from gridservice.workspace import open_area

    return open_area(data_path(data))


def _lonlat(text: str) -> tuple[float, float]:
    parts = text.replace("，", ",").split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        msg = f"--lonlat {text!r}: expected LON,LAT in degrees, e.g. 116.53,27.21"
        raise DataError(msg) from None
    return lon, lat


# -- locate ------------------------------------------------------------------------


@app.command()
def locate(
    customer_id: Annotated[str | None, typer.Argument(help="Customer account number (户号).")] = None,
    lonlat: Annotated[str | None, typer.Option("--lonlat", help="A point as LON,LAT (WGS-84).")] = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Which grid, station and staff serve a point or a customer."""
    from gridservice.spatial.locate import locate_customer, locate_point

    if (customer_id is None) == (lonlat is None):
        fail("give either a CUSTOMER_ID or --lonlat LON,LAT")
    area = _area(data)
    where = locate_point(area, *_lonlat(lonlat)) if lonlat is not None else locate_customer(area, customer_id or "")
    result = where.to_dict()
    if fmt is Format.json:
        emit(result, fmt)
    elif fmt is Format.csv:
        emit(_flat(result), fmt)
    else:
        _print_location(result)


def _flat(result: dict[str, Any]) -> pd.DataFrame:
    base = {f"grid_{k}" if k != "grid_id" else k: v for k, v in result["grid"].items()}
    base |= {"station_name": (result["station"] or {}).get("name"), **result["location"]}
    if result["customer"]:
        base["customer_id"] = result["customer"]["customer_id"]
    staff = result["staff"] or [{}]
    return pd.DataFrame([base | {k if k in ("staff_id", "role") else f"staff_{k}": v for k, v in s.items()}
                         for s in staff])


def _print_location(result: dict[str, Any]) -> None:
    info = Table(show_header=False, box=None)
    info.add_column(style="bold")
    info.add_column()
    loc = result["location"]
    if result["customer"]:
        c = result["customer"]
        info.add_row("customer", f"{c['customer_id']} {c.get('name') or ''}".strip())
        if c.get("address"):
            info.add_row("address", str(c["address"]))
    info.add_row("location", f"{loc['lon']:.6f}, {loc['lat']:.6f}")
    g = result["grid"]
    info.add_row("grid", f"{g['code']} {g['name']} ({g['grid_id']}, {g['area_class']})")
    if result["station"]:
        s = result["station"]
        info.add_row("station", f"{s['name']} ({s['station_id']})")
    console.print(info)
    if result["staff"]:
        console.print(frame_table(pd.DataFrame(result["staff"])[["role", "name", "phone", "staff_id"]], title="staff"))
    else:
        console.print("[yellow]no staff assigned to this grid[/]")


# -- plan --------------------------------------------------------------------------


def _findings_table(found: pd.DataFrame, *, title: str) -> FrameTable:
    return frame_table(found[["severity", "check", "feature_id", "message"]], title=title)


def _counts(found: pd.DataFrame) -> tuple[int, int]:
    errors = int((found["severity"] == "error").sum())
    return errors, len(found) - errors


@plan_app.command("check")
def plan_check(
    file: PlanFile,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the findings with their geometry "
                                                                  "(GeoJSON or GeoPackage).")] = None,
    complete: CompleteOpt = False,
    force: OverwriteOpt = False,
) -> None:
    """Check a plan: invalid polygons, overlaps, gaps, slivers, split 台区, staffing. Exit 1 on errors."""
    from gridservice.io.importer import export_layer
    from gridservice.spatial.plan import check_plan, read_plan

    if out is not None:
        output_file(out, data, force=force, suffixes=(".geojson", ".json", ".gpkg"))
    area = _area(data)
    found = check_plan(area, read_plan(file, area), complete=complete, rules=rules())
    if out is not None:
        export_layer(found, "plan_findings", out)  # written whole, then renamed
    errors, warnings = _counts(found)
    if fmt is Format.table:
        if len(found):
            console.print(_findings_table(found, title=f"plan check: {file.name}"))
        console.print(f"{errors} error(s), {warnings} warning(s)")
    else:
        emit(found, fmt)
    if errors:
        raise typer.Exit(1)


@plan_app.command("preview")
def plan_preview(
    file: PlanFile, data: DataOpt = None, fmt: FormatOpt = Format.table, complete: CompleteOpt = False
) -> None:
    """What a plan moves (customers, transformers, open work orders) and each grid before/after."""
    from gridservice.spatial.plan import read_plan
    from gridservice.spatial.redraw import preview_plan

    area = _area(data)
    preview = preview_plan(area, read_plan(file, area), complete=complete, rules=rules())
    summary = preview.summary.reset_index()
    if fmt is Format.json:
        emit({"grids": records(summary), "move_counts": preview.move_counts(), "moves": records(preview.moves),
              "findings": records(preview.findings)}, fmt)
        return
    if fmt is Format.csv:
        emit(summary, fmt)
        return
    cols = ["grid_id", "code", "status", "customers_before", "customers_after", "customers_change",
            "grid_members", "households_per_member_before", "households_per_member_after",
            "area_km2_before", "area_km2_after"]
    console.print(frame_table(summary[cols], title=f"plan preview: {file.name}"))
    counts = preview.move_counts()
    console.print("moves: " + ", ".join(f"{n} {layer.replace('_', ' ')}" for layer, n in counts.items()))
    if len(preview.moves):
        console.print(frame_table(preview.moves, title="what changes grid"))
    errors, warnings = _counts(preview.findings)
    if len(preview.findings):
        console.print(_findings_table(preview.findings, title="plan check"))
    console.print(f"{errors} error(s), {warnings} warning(s)" + (" — a commit would be refused" if errors else ""))


def _committed(result: Any, fmt: Format, verb: str) -> None:
    if fmt is not Format.table:
        emit(result.to_dict(), fmt)
        return
    changed = ", ".join(result.changed) or "none"
    moves = ", ".join(f"{n} {layer.replace('_', ' ')}" for layer, n in result.preview.move_counts().items())
    forced = f" [yellow](forced: {result.forced_reason})[/]" if result.forced_reason else ""
    console.print(f"{verb} plan version [bold]{result.version}[/] (base {result.base_version}){forced}\n"
                  f"changed grids: {changed}\nmoves: {moves}")


def _refused(exc: InvalidPlanError) -> NoReturn:
    problems = exc.problems
    if isinstance(problems, pd.DataFrame) and len(problems):
        err_console.print(_findings_table(problems, title="plan errors"))
    fail(str(exc))


@plan_app.command("commit")
def plan_commit(
    file: PlanFile,
    author: AuthorOpt,
    note: Annotated[str, typer.Option("--note", help="Why the grids change.")],
    data: DataOpt = None,
    base_version: BaseOpt = None,
    force_reason: ForceOpt = None,
    complete: CompleteOpt = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Save a plan as the next version (refused when invalid or stale)."""
    from gridservice.spatial.plan import read_plan
    from gridservice.spatial.redraw import commit_plan

    area = _area(data)
    plan = read_plan(file, area)
    if base_version is None:  # the version the file's grids carry (a stale file is refused)
        base_version = plan.attrs.get("drawn_on")
    try:
        result = commit_plan(area, plan, author=author, note=note, base_version=base_version,
                             force_reason=force_reason, complete=complete, rules=rules())
    except InvalidPlanError as exc:
        _refused(exc)
    _committed(result, fmt, "committed")


@plan_app.command("history")
def plan_history_(data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """List plan versions, oldest first."""
    from gridservice.io import open_store
    from gridservice.spatial.redraw import plan_history

    emit(plan_history(open_store(data_path(data))), fmt, title="plan versions")


@plan_app.command("revert")
def plan_revert(
    version: Annotated[int, typer.Argument(help="Plan version to restore.")],
    author: AuthorOpt,
    note: Annotated[str | None, typer.Option("--note", help="Why (default: 'revert to plan version N').")] = None,
    data: DataOpt = None,
    base_version: BaseOpt = None,
    force_reason: ForceOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Restore a plan version by committing it as a new version."""
    from gridservice.spatial.redraw import revert_plan

    area = _area(data)
    try:
        result = revert_plan(area, version, author=author, note=note, base_version=base_version,
                             force_reason=force_reason, rules=rules())
    except InvalidPlanError as exc:
        _refused(exc)
    _committed(result, fmt, f"restored version {version} as")
