"""Network verbs: ``trace``, ``switch``, ``outage impact`` and ``calls analyze``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from gridservice.cli.common import (
    DataOpt,
    Format,
    FormatOpt,
    UserOpt,
    acting_user,
    app,
    console,
    data_path,
    emit,
    frame_table,
)
from gridservice.errors import DataError

outage_app = typer.Typer(help="Outages (停电): who an outage on a device cuts off and whom to tell.",
                         no_args_is_help=True)
app.add_typer(outage_app, name="outage")
calls_app = typer.Typer(help="Repair calls (故障报修): group them to the probable faulted device.",
                        no_args_is_help=True)
app.add_typer(calls_app, name="calls")

DeviceArg = Annotated[str, typer.Argument(help="Device id: substation, feeder, transformer, access point, meter "
                                               "or customer.")]


def _area(data: str | None):
    from gridservice.workspace import open_area

    return open_area(data_path(data))


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Lists as comma-separated text, for tables and CSV."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, list)).any():
            out[c] = out[c].map(lambda v: ",".join(map(str, v)) if isinstance(v, list) else v)
    return out


@app.command()
def trace(
    device_id: DeviceArg,
    data: DataOpt = None,
    up: Annotated[bool, typer.Option("--up", help="Trace upstream to the substation instead of downstream.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Trace the supply path of a device (--up) or everything it supplies."""
    from gridservice.topology import network_of

    area = _area(data)
    net = network_of(area)
    if up:
        path = net.upstream(device_id)
        layers = [str(x) for x in net.layer_of(net.nodes(path))]
        if fmt is Format.table:
            console.print(" → ".join(f"{d} [dim]({layer})[/]" for d, layer in zip(path, layers, strict=True)))
            if not bool(net.energised([device_id]).iloc[0]):
                console.print("[yellow]not supplied now: an open switch cuts this path off[/]")
        elif fmt is Format.json:
            emit({"device_id": device_id, "path": path, "layers": layers}, fmt)
        else:
            emit(pd.DataFrame({"device_id": path, "layer": layers}), fmt)
        return
    down = net.downstream(device_id)
    grids = pd.DataFrame({"grid_id": down.grids.index.astype("str"), "customers": down.grids.to_numpy()})
    if fmt is Format.json:
        emit(down.to_dict(), fmt)
    elif fmt is Format.csv:
        emit(pd.DataFrame({"customer_id": down.customers,
                           "grid_id": area.customers["grid_id"].reindex(down.customers).to_numpy()}), fmt)
    else:
        state = "" if down.energised else " [yellow](not supplied now)[/]"
        console.print(f"[bold]{device_id}[/]{state}: {len(down.devices):,} devices, {len(down.meters):,} meters, "
                      f"{len(down.customers):,} customers downstream")
        if len(grids):
            console.print(frame_table(grids, title="customers per grid"))


@app.command("switch")
def switch_cmd(
    switch_id: Annotated[str, typer.Argument(help="Switch id.")],
    is_open: Annotated[bool, typer.Option("--open/--close", help="Open the switch, or close it.")],
    data: DataOpt = None,
    note: Annotated[str, typer.Option(help="Why (the audit log keeps it).")] = "",
    user: UserOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Open or close a switch (倒闸操作), with its audit entry, and show whom it cut off or supplied again."""
    from gridservice.topology import network_of, operate_switch, supply_changes, supply_summary

    area = _area(data)
    operate_switch(area.store, switch_id, is_open=is_open, user=acting_user(user), note=note)
    changed = supply_changes(area, network_of(area).with_switch(switch_id, is_open=is_open).area)
    summary = {"switch_id": switch_id, "is_open": is_open, **supply_summary(changed)}
    if fmt is not Format.table:
        emit(summary if fmt is Format.json else changed.reset_index(), fmt)
        return
    console.print(f"switch [bold]{switch_id}[/] {'opened' if is_open else 'closed'}: "
                  f"{summary['customers_cut_off']:,} customers cut off, "
                  f"{summary['customers_restored']:,} supplied again")
    per_grid = pd.DataFrame({"cut_off": pd.Series(summary["grids_cut_off"], dtype="int64"),
                             "restored": pd.Series(summary["grids_restored"], dtype="int64")}).fillna(0)
    if len(per_grid):
        console.print(frame_table(per_grid.astype("int64").rename_axis("grid_id").reset_index(), title="grids"))


@outage_app.command("impact")
def outage_impact_cmd(device_id: DeviceArg, data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Customers, grids, staff to notify and important customers of an outage on a device."""
    from gridservice.events.roster import impact_on_duty
    from gridservice.topology import outage_impact

    area = _area(data)
    impact = impact_on_duty(area, outage_impact(area, device_id))
    if fmt is Format.json:
        emit(impact.to_dict(), fmt)
        return
    if fmt is Format.csv:
        emit(pd.DataFrame({"customer_id": impact.customers}), fmt)
        return
    console.print(f"outage on [bold]{device_id}[/] ({impact.layer}): {len(impact.customers):,} customers, "
                  f"{len(impact.grids)} grid(s), {len(impact.transformers)} transformer area(s)")
    if len(impact.grids):
        console.print(frame_table(pd.DataFrame({"grid_id": impact.grids.index.astype("str"),
                                                "customers": impact.grids.to_numpy()}), title="grids"))
    if len(impact.staff):
        console.print(frame_table(impact.staff, title="staff to notify"))
    if impact.on_duty is not None and len(impact.on_duty):
        console.print(frame_table(impact.on_duty.reset_index()[["grid_id", "kind", "staff_id", "name", "phone"]],
                                  title="on duty now (who to call)"))
    if len(impact.important):
        console.print(frame_table(impact.important.reset_index(), title="important customers"))


def read_calls_file(path: Path) -> tuple[pd.DataFrame, int]:
    """A CSV (UTF-8 or GBK) or JSON file of calls, and the row offset for messages."""
    from gridservice.io.importer import read_table

    if not path.exists():
        msg = f"{path}: no such file"
        raise DataError(msg)
    if path.suffix.lower() in (".json", ".geojson"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            msg = f"{path}: not valid JSON ({exc})"
            raise DataError(msg) from None
        if isinstance(doc, dict):
            doc = doc.get("calls", doc.get("features"))
            if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "properties" in doc[0]:
                doc = [f["properties"] for f in doc]
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            msg = f"{path}: expected a JSON list of calls (objects with customer_id and received_at)"
            raise DataError(msg)
        return pd.DataFrame(doc), 1
    return read_table(path), 2


def _window(text: str) -> pd.Timedelta | None:
    if text.strip().lower() in ("all", "none", ""):
        return None
    try:
        return pd.Timedelta(text)
    except ValueError:
        msg = f"--window {text!r}: expected a duration such as 30min, 2h or 1d (or 'all')"
        raise DataError(msg) from None


@calls_app.command("analyze")
def calls_analyze(
    file: Annotated[Path, typer.Argument(help="CSV or JSON of calls: customer_id, received_at, optional call_id.")],
    data: DataOpt = None,
    min_calls: Annotated[int, typer.Option(min=1, help="Calling customers that point at a device.")] = 3,
    window: Annotated[str, typer.Option(help="Only calls this long before --at count (e.g. 30min, 2h; 'all').")] = "2h",
    at: Annotated[str | None, typer.Option(help="End of the window (default: the latest call).")] = None,
    promote_children: Annotated[int, typer.Option(min=2, help="Proposed children that promote their parent.")] = 2,
    fmt: FormatOpt = Format.table,
) -> None:
    """Group repair calls to the probable faulted devices, ranked, with the rule that fired."""
    from gridservice.topology import group_calls
    from gridservice.topology.calls import read_calls

    raw, offset = read_calls_file(file)
    calls = read_calls(raw, source=str(file), row_offset=offset)
    if "call_id" not in raw.columns and "work_order_id" not in raw.columns:
        calls["call_id"] = [f"row {i + offset}" for i in range(len(calls))]
    result = group_calls(_area(data), calls, min_calls=min_calls, window=_window(window), at=at,
                         promote_children=promote_children)
    if fmt is Format.json:
        emit(result, fmt)
        return
    shown = _flat(result)
    if fmt is Format.csv:
        emit(shown, fmt)
        return
    if not len(shown):
        console.print("no calls in the window")
        return
    cols = ["rank", "device_id", "layer", "rule", "calls", "customers", "outage_id", "subsumed"]
    console.print(frame_table(shown[cols], title=f"repair calls grouped (min {min_calls} calls)"))
    console.print("[dim]call ids per row: --format csv or json[/]")
