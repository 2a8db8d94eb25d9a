"""``gridservice plan propose``: a balanced, compact draft plan from whole transformer areas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from gridservice.cli.common import (
    DataOpt,
    Format,
    FormatOpt,
    OverwriteOpt,
    console,
    data_path,
    emit,
    err_console,
    fail,
    frame_table,
    output_file,
)
from gridservice.cli.common import progress_bar as _progress_bar
from gridservice.cli.spatial import plan_app

DEFAULT_WEIGHTS_TEXT = "households=1,work_orders=0.3,area=0.1"


@plan_app.command("propose")
def plan_propose(
    out: Annotated[Path, typer.Option("--out", "-o", help="File for the proposed grids: .gpkg (layer 'grids') "
                                                          "or .geojson.")],
    data: DataOpt = None,
    grids: Annotated[int | None, typer.Option("--grids", "-k", min=1,
                                              help="Number of grids, locked ones included.")] = None,
    households_per_member: Annotated[float | None, typer.Option(
        "--households-per-member", min=1, help="Instead of --grids: households one grid member serves.")] = None,
    lock: Annotated[list[str] | None, typer.Option("--lock", metavar="GRID_ID",
                                                   help="Grid id kept exactly as it is (repeatable).")] = None,
    within_stations: Annotated[bool, typer.Option("--within-stations",
                                                  help="Keep station boundaries.")] = False,
    max_households: Annotated[int | None, typer.Option("--max-households", min=1,
                                                       help="Hard cap on households per grid.")] = None,
    weights: Annotated[str, typer.Option("--weights", help="Workload weights.")] = DEFAULT_WEIGHTS_TEXT,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed; same seed, same proposal.")] = 0,
    fmt: FormatOpt = Format.table,
    force: OverwriteOpt = False,
) -> None:
    """Propose balanced, compact grids made of whole transformer areas (台区); scores beside the current plan."""
    from gridservice.io.importer import export_layer
    from gridservice.spatial.propose import GRID_COLUMNS, propose_plan
    from gridservice.workspace import open_area

    if (grids is None) == (households_per_member is None):
        fail("give either --grids K or --households-per-member N")
    output_file(out, data, force=force, suffixes=(".gpkg", ".geojson", ".json"))
    area = open_area(data_path(data))
    with _progress_bar("proposing grids") as progress:
        proposal = propose_plan(
            area, grids=grids, households_per_member=households_per_member, lock=lock or (),
            within_stations=within_stations, max_households=max_households, weights=weights, seed=seed,
            progress=progress)
    export_layer(proposal.grids[[*GRID_COLUMNS, "geometry"]], "grids", out)  # written whole, then renamed
    removed = sorted(set(area.grids.index) - set(proposal.grids.index))
    if fmt is Format.csv:  # a table: the proposed grids with their scores
        emit(proposal.scores.grids.reset_index(), fmt)
        return
    if fmt is Format.json:
        emit({"out": str(out), "current": proposal.current.summary, "proposal": proposal.scores.summary,
              "removed_grids": removed, "messages": proposal.messages}, fmt)
        return
    comparison = proposal.comparison()
    for col in ("current", "proposal"):
        comparison[col] = [_fmt(k, v) for k, v in zip(comparison["score"], comparison[col], strict=True)]
    console.print(frame_table(comparison, title="current plan vs proposal"))
    per_grid = proposal.scores.grids.reset_index()[
        ["grid_id", "code", "households", "work_orders", "area_km2", "members", "households_per_member",
         "balance", "compactness"]]
    per_grid["area_km2"] = per_grid["area_km2"].round(2)
    per_grid["households_per_member"] = per_grid["households_per_member"].round(0)
    console.print(frame_table(per_grid, title="proposed grids"))
    for line in proposal.messages:
        err_console.print(f"[yellow]note:[/] {line}", highlight=False, soft_wrap=True)
    console.print(f"wrote {len(proposal.grids)} grids to [bold]{out}[/]")
    if removed:
        console.print(f"{len(removed)} current grid(s) are not in the proposal: {', '.join(removed)} "
                      "(the file is the whole plan: check, preview and commit it with --complete)")


def _fmt(key: str, value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if key in ("grids", "households", "non_contiguous", "over_cap"):
        return f"{int(value):,}"  # type: ignore[call-overload]
    if key in ("balance", "compactness", "households_per_member"):
        return f"{float(value):,.1f}"  # type: ignore[arg-type]
    return f"{float(value):.4f}"  # type: ignore[arg-type]
