"""Supervisor and dispatcher verbs: ``kpi``, ``lineloss``, ``audit``, ``report``, ``customer`` and ``orders …``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from gridservice import clock
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
    fail,
    frame_table,
    progress_bar,
    rules,
)
from gridservice.errors import DataError


class By(StrEnum):
    """Unit of a KPI table."""

    grid = "grid"
    station = "station"
    area = "area"


class LossClass(StrEnum):
    """Line-loss classes."""

    normal = "normal"
    high = "high"
    negative = "negative"
    not_computable = "not_computable"
    out_of_service = "out_of_service"


#: The columns each verb shows as a terminal table (every column with --format csv/json).
KPI_COLUMNS = ["name", "customers", "households_per_member", "work_orders", "complaints_per_10k", "repair_on_time_pct",
               "non_repair_on_time_pct", "saifi", "saidi_min", "rs1_pct", "loss_high", "loss_negative",
               "visit_coverage_pct"]
LINELOSS_COLUMNS = ["transformer_id", "grid_id", "supply_kwh", "sales_kwh", "loss_kwh", "loss_pct", "class",
                    "streak_months", "likely_cause_zh", "staff_name"]
AUDIT_COLUMNS = ["check", "severity", "grid_id", "layer", "feature_id", "message"]

PeriodOpt = Annotated[str | None, typer.Option("--period", "-p", help="YYYY-MM (month), YYYY-Www (ISO week) or "
                                                                       "YYYY-MM-DD (day); default: the latest month "
                                                                       "with data.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Judge SLA clocks at this time (default: the data's "
                                                              "as_of, else now).")]


def _rounded(df: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c].dtype)]
    return df.assign(**{c: df[c].round(digits) for c in floats}) if floats else df


def _area(data: str | None):
    from gridservice.workspace import open_area

    return open_area(data_path(data))


def _period(area, period: str | None, first: str | None = None, last: str | None = None):
    """The period asked for, else the latest month with data (SPEC §7a)."""
    from gridservice.metrics.period import latest_period, parse_period, period_between

    if first or last:
        if not (first and last):
            fail("--from and --to go together")
        if period:
            fail("give either --period or --from/--to, not both")
        return period_between(first, last)  # type: ignore[arg-type]
    return parse_period(period) if period else latest_period(area)


@app.command()
def kpi(
    data: DataOpt = None,
    period: PeriodOpt = None,
    by: Annotated[By, typer.Option("--by", help="grid, station or area.")] = By.grid,
    first: Annotated[str | None, typer.Option("--from", help="First day YYYY-MM-DD of a date range.")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day YYYY-MM-DD of a date range (inclusive).")] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Service KPIs per grid or station: orders, SLA, complaints, SAIFI/SAIDI/CAIDI/RS-1, line loss, visits."""
    from gridservice.metrics.kpi import kpis

    area = _area(data)
    p = _period(area, period, first, last)
    table = kpis(area, p, by=by.value, as_of=as_of, rules=rules())
    table = _rounded(table).reset_index()
    if fmt is Format.table:
        cols = [table.columns[0], *KPI_COLUMNS]
        emit(_rounded(table[cols], 2), fmt, title=f"KPIs by {by.value}, {p.label} (all columns: --format csv/json)")
    else:
        emit(table, fmt)


@app.command()
def lineloss(
    data: DataOpt = None,
    period: PeriodOpt = None,
    klass: Annotated[list[LossClass] | None, typer.Option("--class", help="Only these classes (repeatable).")] = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Only this grid.")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Line loss per transformer area: supply, sales, loss %, class, streak of anomalous months, likely cause."""
    from gridservice.metrics.lineloss import line_loss

    area = _area(data)
    p = _period(area, period)
    table = line_loss(area, p, rules=rules())
    if klass:
        table = table[table["class"].isin([k.value for k in klass])]
    if grid:
        table = table[table["grid_id"] == grid]
    table = _rounded(table).reset_index()
    if fmt is Format.table:
        emit(_rounded(table[LINELOSS_COLUMNS], 2), fmt, title=f"line loss {p.label}: {len(table)} transformer areas")
    else:
        emit(table, fmt)


@app.command("audit")
def audit_cmd(
    data: DataOpt = None,
    rule: Annotated[list[str] | None, typer.Option(
        "--rule", "-r", metavar="RULE_ID", help="Rule id as --list-rules and the demo's demo_manifest name it, "
                                                "e.g. WO_ARRIVAL_LATE (repeatable); default all.")] = None,
    sample_pct: Annotated[float | None, typer.Option("--sample", help="Draw this % of the population for a "
                                                                          "field audit.")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed of the sample.")] = 0,
    population: Annotated[str | None, typer.Option("--population", help="Sample this population instead of the "
                                                   "findings: hv_new_connections, new_connections, closed_orders, "
                                                   "closed_complaints, closed_repairs, key_customers.")] = None,
    period: Annotated[str | None, typer.Option("--period", "-p", help="Month YYYY-MM for line-loss rules "
                                                                       "(default: latest).")] = None,
    as_of: AsOfOpt = None,
    summary: Annotated[bool, typer.Option("--summary", help="Counts per grid and rule instead of findings.")] = False,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Audit (稽查): run data-quality and process rules; findings per grid; reproducible field samples."""
    from gridservice.metrics.audit import audit, findings_by_grid, rules_table, sample
    from gridservice.metrics.audit import population as population_of

    if list_rules:
        emit(rules_table().reset_index(), fmt, title="audit rules")
        return
    if population and sample_pct is None:
        fail("--population needs --sample PCT")
    area = _area(data)
    if population:
        members = population_of(area, population, as_of=as_of, rules=rules())
        drawn = sample(members, pct=sample_pct, seed=seed)  # type: ignore[arg-type]
        emit(_rounded(drawn.reset_index()), fmt,
             title=f"{population}: {len(drawn)} of {len(members)} drawn ({sample_pct:g} %, seed {seed})")
        return
    found = audit(area, rule_ids=rule, as_of=as_of, period=period, rules=rules())
    if summary:
        emit(findings_by_grid(found).reset_index(), fmt, title="audit findings per grid")
        return
    if sample_pct is not None:
        total = len(found)
        found = sample(found, pct=sample_pct, seed=seed, key="feature_id") if total else found
        title = f"{len(found)} of {total} findings drawn ({sample_pct:g} %, seed {seed})"
    else:
        errors = int((found["severity"] == "error").sum())
        title = f"{len(found)} findings ({errors} errors)"
    cols = AUDIT_COLUMNS
    if fmt is Format.table:
        emit(found[cols], fmt, title=title)
    else:
        emit(found[[*cols, "geometry"]] if fmt is Format.json else found[cols], fmt)


@app.command()
def report(
    data: DataOpt = None,
    period: PeriodOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the .xlsx and .html.")] = Path("."),
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="Months of trend.")] = 12,
    as_of: AsOfOpt = None,
) -> None:
    """Write the weekly/monthly report: an Excel workbook (one sheet per table) and an HTML page with charts."""
    from gridservice.metrics.report import write_report

    with progress_bar("report") as progress:
        progress("loading", 0.1)
        area = _area(data)
        p = _period(area, period)
        progress(f"computing {p.label}", 0.4)
        paths = write_report(area, p, out, as_of=as_of, months=months, rules=rules())
    for path in paths:
        console.print(f"wrote [bold]{path}[/]")


# -- the customer card ----------------------------------------------------------------


@app.command("customer")
def customer(
    customer_id: Annotated[str, typer.Argument(help="Customer account number (户号).")],
    data: DataOpt = None,
    role: Annotated[str, typer.Option("--role", help="Show the card as this role sees it: planner and supervisor "
                                                     "see names, phones and addresses masked, as in the API.")]
    = "admin",
    fmt: FormatOpt = Format.table,
) -> None:
    """The customer card: grid and staff, supply path, active outages, open work orders, history."""
    from gridservice.auth import ROLES, User
    from gridservice.events.card import customer_card

    if role not in ROLES:
        msg = f"--role {role!r}: expected one of {', '.join(ROLES)}"
        raise DataError(msg)
    if fmt is Format.csv:
        fail("the customer card is not one table: use --format table or json")
    card = customer_card(_area(data), customer_id, viewer=User(username="cli", role=role))
    if fmt is Format.json:
        emit(card.to_dict(), fmt)
        return
    who = {k: v for k, v in card.customer.reset_index().iloc[0].items() if not pd.isna(v)}
    lines = [f"[bold]{customer_id}[/] {who.get('name', '')}  {who.get('phone', '')}".rstrip(), who.get("address")]
    if card.location:
        lines.append(f"at {card.location['lon']:.6f}, {card.location['lat']:.6f}")
    g, s = card.grid, card.station
    lines.append(f"grid {g['code']} {g['name']} ({g['grid_id']})" + (f", station {s['name']}" if s else "")
                 if g else "[yellow]outside every grid[/]")
    console.print("\n".join(str(line) for line in lines if line))
    orders = ["work_order_id", "kind", "status", "received_at", "closed_at", "assignee_id"]
    outages = ["outage_id", "device_id", "kind", "start_at", "end_at"]
    sections = {"staff": (pd.DataFrame(card.staff), None), "supply path": (pd.DataFrame(card.supply_path), None),
                "active outages": (card.active_outages, outages), "open work orders": (card.open_work_orders, orders),
                "work orders": (card.work_orders, orders), "past outages": (card.outages, outages),
                "visits": (card.visits, ["visit_id", "at", "kind", "staff_id"])}
    for title, (frame, cols) in sections.items():
        if len(frame):
            frame = frame.reset_index() if frame.index.name else frame
            console.print(frame_table(frame[cols] if cols else frame, title=title))


# -- work orders -------------------------------------------------------------------

orders_app = typer.Typer(help="Work orders (工单): create with SLA clock, advance status, list.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")


def _lonlat(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        msg = f"--lonlat {text!r}: expected LON,LAT such as 116.53,27.22"
        raise DataError(msg) from None
    return lon, lat


@orders_app.command("create")
def orders_create(
    kind: Annotated[str, typer.Option("--kind", "-k", help="repair, complaint, report, opinion, consultation or "
                                                             "service_request.")],
    data: DataOpt = None,
    customer: Annotated[str | None, typer.Option("--customer", "-c", help="Customer id.")] = None,
    lonlat: Annotated[str | None, typer.Option("--lonlat", help="LON,LAT when there is no customer id.")] = None,
    received_at: Annotated[str | None, typer.Option("--received-at", help="When the call came in (default now).")]
    = None,
    channel: Annotated[str | None, typer.Option("--channel", help="95598, app, walk-in …")] = None,
    description: Annotated[str | None, typer.Option("--description", help="What the customer said.")] = None,
    user: UserOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Open a work order: routed to the grid's staff, with its due times; saved with an audit-log entry."""
    from gridservice.events.records import save_new_work_order
    from gridservice.events.work_orders import create_work_order

    if customer is None and lonlat is None:
        fail("give --customer ID or --lonlat LON,LAT")
    area = _area(data)
    when = received_at or clock.now()
    order = create_work_order(area, kind=kind, received_at=when, customer_id=customer,
                              point=_lonlat(lonlat) if lonlat else None, channel=channel, description=description)
    save_new_work_order(area.store, order, user=acting_user(user))
    _show(order, fmt)
    if fmt is Format.table and pd.isna(order["assignee_id"].iloc[0]):
        console.print("[yellow]warning:[/] no staff to route this order to; it is unassigned")


def _show(order: pd.DataFrame, fmt: Format) -> None:
    row = _rounded(pd.DataFrame(order.drop(columns="geometry", errors="ignore")).reset_index())
    if fmt is Format.table:
        emit(row.T.reset_index().set_axis(["field", "value"], axis=1), fmt, title=f"work order {order.index[0]}")
    else:
        emit(row, fmt)


@orders_app.command("advance")
def orders_advance(
    work_order_id: Annotated[str, typer.Argument(help="Work order id.")],
    status: Annotated[str, typer.Argument(help="Next status: dispatched, arrived, resolved, replied or closed.")],
    data: DataOpt = None,
    at: Annotated[str | None, typer.Option("--at", help="When it happened (default now).")] = None,
    user: UserOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Move an order to its next status; out-of-order steps and impossible times are refused."""
    from gridservice.events.records import save_transition
    from gridservice.io import open_store

    store = open_store(data_path(data))
    when = at or clock.now()
    updated = save_transition(store, work_order_id, status, when, user=acting_user(user))
    _show(updated, fmt)


@orders_app.command("status")
def orders_status(
    work_order_id: Annotated[str, typer.Argument(help="Work order id.")],
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """One order with its grid, due times and whether each clock was met."""
    from gridservice.errors import NotFoundError
    from gridservice.events.work_orders import orders_summary

    area = _area(data)
    if work_order_id not in area.work_orders.index:
        msg = f"unknown work order {work_order_id!r}"
        raise NotFoundError(msg)
    summary = orders_summary(area.replace(work_orders=area.work_orders.loc[[work_order_id]]), as_of=as_of,
                             rules=rules())
    _show(summary, fmt)


@orders_app.command("list")
def orders_list(
    data: DataOpt = None,
    grid: Annotated[str | None, typer.Option("--grid", help="Only this grid.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only orders not closed.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only orders that missed a clock.")] = False,
    period: Annotated[str | None, typer.Option("--period", "-p", help="Only orders received in this period "
                                                                      "(YYYY-MM, YYYY-Www or YYYY-MM-DD).")] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """List work orders with their due times and on-time flags."""
    from gridservice.events.work_orders import orders_summary

    area = _area(data)
    table = orders_summary(area, as_of=as_of, rules=rules())
    if period:
        p = _period(area, period)
        table = table[p.contains(table["received_at"]).to_numpy()]
    if grid:
        table = table[table["grid_id"] == grid]
    if kind:
        table = table[table["kind"] == kind]
    if status:
        table = table[table["status"] == status]
    if open_only:
        table = table[table["status"] != "closed"]
    if overdue:
        late = pd.concat([table[c].eq(False).fillna(False) for c in
                          ("arrival_on_time", "contact_on_time", "close_on_time")], axis=1).any(axis=1)
        table = table[late.to_numpy()]
    table = table.sort_values("received_at", ascending=False).reset_index()
    if fmt is Format.table:
        cols = ["work_order_id", "kind", "status", "grid_id", "assignee_id", "received_at", "arrival_due_at",
                "close_due_at", "arrival_on_time", "close_on_time", "repeat_complaint"]
        emit(table[cols], fmt, title=f"{len(table)} work orders")
    else:
        emit(table, fmt)
