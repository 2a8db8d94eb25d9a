"""Service KPIs per grid, station or area for a period (网格服务指标).

:func:`kpis` returns one row per unit (every grid or station, active or not)
with snake_case columns carrying their units:

============================  ==============================================
``customers``                 customers located in the unit, connected by the period's end
``grid_members``              distinct staff with the grid_member role
``households_per_member``     customers / grid_members (norm about 1,000)
``work_orders``               orders received in the period; ``work_orders_<kind>`` per kind
``complaints_per_10k``        complaints received / customers × 10,000
``repair_on_time_pct``        repair orders of the period that arrived within the limit
``non_repair_on_time_pct``    other orders of the period closed within their working days
``contact_on_time_pct``       other orders whose customer was contacted within 24 h
``first_contact_resolution_pct``  closed orders with no order of the same kind from
                              the same customer within ``Rules.repeat_complaint_days``
``repeat_complaints``         complaints of the period repeating one within 30 days
``outages[_planned|_unplanned]``  sustained outages starting in the period
``saifi``, ``saidi_min``, ``caidi_min``, ``rs1_pct``  reliability (:mod:`.reliability`),
                              each with ``_planned`` / ``_unplanned`` beside it
``loss_<class>``              transformer areas per line-loss class (:mod:`.lineloss`)
``key_customers``             key customers (``customers.key_customer``)
``visit_coverage_pct``        key customers with ``Rules.home_visits_per_year`` home
                              visits in the 12 months and ``Rules.phone_visits_per_quarter``
                              phone callbacks in the 3 months ending with the period
``overdue_visits``            visits past due (:mod:`.visits`: the two norms, complaint
                              callbacks) at the period's end, or ``as_of`` if earlier
============================  ==============================================

On-time shares count the orders whose clock has run out by ``as_of``
(default now): finished ones, and unfinished ones already past due (late);
an order still within its limit is not counted yet. Percentages of nothing
are missing (NaN), never 0 or 100.

Station and area rows are computed from the underlying counts (sums of
customers and events, distinct staff and outages), not by averaging grid
rows.
"""

from __future__ import annotations

import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.events.work_orders import first_contact_resolved, repeat_complaints, sla_status
from gridservice.metrics.lineloss import CLASSES, line_loss
from gridservice.metrics.period import Period, as_period
from gridservice.metrics.reliability import SPLITS, reliability, served_customers
from gridservice.metrics.units import check_by, unit_index, unit_names, units_of
from gridservice.metrics.visits import due_visits, judged_at, norm_due
from gridservice.model import ServiceArea
from gridservice.schema import WORK_ORDER_KINDS


def _count(units: pd.Series, index: pd.Index) -> pd.Series:
    return units.value_counts().reindex(index, fill_value=0).astype("int64")


def _pct(flags: pd.Series, units: pd.Series, index: pd.Index) -> pd.Series:
    """Share of True among non-missing flags per unit, in %."""
    known = flags.notna().to_numpy()
    f = flags[known].astype("float64")
    grouped = f.groupby(units[known].to_numpy()).mean() * 100
    return grouped.reindex(index).astype("float64")


def kpis(
    area: ServiceArea,
    period: Period | str,
    *,
    by: str = "grid",
    rules: Rules = DEFAULT_RULES,
    as_of: object | None = None,
    loss: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Service KPIs per unit for a period (see the module doc for each column).

    Parameters
    ----------
    area
        The service area.
    period
        ``"2026-03"``, ``"2026-W10"``, ``"2026-03-02"`` or a :class:`Period`.
    by
        ``grid``, ``station`` or ``area``.
    rules
        Thresholds (default: :data:`~gridservice.config.DEFAULT_RULES`).
    as_of
        When on-time clocks are judged (default: now).
    loss
        A :func:`~gridservice.metrics.lineloss.line_loss` frame of the period, to reuse.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``grid_id``, ``station_id`` or ``area``.

    Examples
    --------
    >>> kpis(area, "2026-03", by="station")[["customers", "saidi_min"]]  # doctest: +SKIP
    """
    period = as_period(period)
    key = check_by(by)
    index = unit_index(area, by)
    out = pd.DataFrame(index=index)
    out["name"] = unit_names(area, by)
    if by == "grid":
        out["station_id"] = area.grids["station_id"].reindex(index).astype("str")
        out["area_class"] = area.grids["area_class"].reindex(index).astype("str")

    served = served_customers(area, period)
    customer_units = units_of(area, served["grid_id"], by)
    out["customers"] = _count(customer_units, index)

    out["grid_members"] = _grid_members(area, by, index)
    out["households_per_member"] = (out["customers"] / out["grid_members"].where(out["grid_members"] > 0)).astype(
        "float64")

    out = out.assign(**_work_order_kpis(area, period, by, index, out["customers"], rules=rules, as_of=as_of))

    rel = reliability(area, period, by=by, rules=rules, as_of=as_of)
    for suffix in SPLITS:
        out[f"outages{suffix}"] = rel[f"outages{suffix}"]
    for metric in ("saifi", "saidi_min", "caidi_min", "rs1_pct"):
        for suffix in SPLITS:
            out[f"{metric}{suffix}"] = rel[f"{metric}{suffix}"]

    loss = line_loss(area, period, rules=rules) if loss is None else loss
    loss_units = units_of(area, loss["grid_id"].astype("str"), by)
    for klass in CLASSES:
        out[f"loss_{klass}"] = _count(loss_units[(loss["class"] == klass).to_numpy()], index)

    key_flag = area.customers["key_customer"].reindex(served.index).fillna(False).astype(bool)
    key_units = customer_units[key_flag.to_numpy()]
    covered = visit_covered(area, period, rules=rules, customers=key_units.index)
    out["key_customers"] = _count(key_units, index)
    out["visit_coverage_pct"] = _pct(covered, key_units, index)
    out["overdue_visits"] = _overdue_visits(area, period, by, index, rules=rules, as_of=as_of)
    out.index.name = key
    return out


def _overdue_visits(area: ServiceArea, period: Period, by: str, index: pd.Index, *, rules: Rules,
                    as_of: object | None) -> pd.Series:
    """Visits overdue at the period's end (or ``as_of`` if earlier) per unit, by the customer's grid."""
    due = due_visits(area, rules=rules, as_of=min(period.end, judged_at(area, as_of)))
    late = due.loc[due["overdue"].to_numpy(), "grid_id"].dropna()
    return _count(units_of(area, late, by), index)


def _grid_members(area: ServiceArea, by: str, index: pd.Index) -> pd.Series:
    """Distinct staff with the grid_member role per unit."""
    gs = area.grid_staff
    members = gs[gs["role"] == "grid_member"] if len(gs) else gs
    member_units = units_of(area, members["grid_id"].astype("str"), by) if len(members) else pd.Series(dtype="str")
    pairs = pd.DataFrame({"unit": member_units.to_numpy(), "staff_id": members["staff_id"].to_numpy()})
    return pairs.drop_duplicates().groupby("unit")["staff_id"].size().reindex(index, fill_value=0).astype("int64")


def _work_order_kpis(area: ServiceArea, period: Period, by: str, index: pd.Index, customers: pd.Series, *,
                     rules: Rules, as_of: object | None) -> dict[str, pd.Series]:
    """The work-order columns (counts per kind, complaint density, on-time shares, first-contact
    resolution, repeats) of the orders received in the period, per unit."""
    cols: dict[str, pd.Series] = {}
    wo = area.work_orders
    in_period = period.contains(wo["received_at"]).to_numpy()
    orders = wo[in_period]
    order_units = units_of(area, orders["grid_id"], by)
    cols["work_orders"] = _count(order_units, index)
    for kind in WORK_ORDER_KINDS:
        cols[f"work_orders_{kind}"] = _count(order_units[(orders["kind"] == kind).to_numpy()], index)
    cols["complaints_per_10k"] = (cols["work_orders_complaint"] / customers.where(customers > 0)
                                  * 10_000).astype("float64")
    sla = sla_status(area, orders, rules=rules, as_of=as_of)
    cols["repair_on_time_pct"] = _pct(sla["arrival_on_time"], order_units, index)
    cols["non_repair_on_time_pct"] = _pct(sla["close_on_time"], order_units, index)
    cols["contact_on_time_pct"] = _pct(sla["contact_on_time"], order_units, index)
    # First-contact resolution and repeats look past the period: a follow-up may come after it,
    # a first complaint before it.
    window = pd.Timedelta(days=rules.repeat_complaint_days + 1)
    near = ((wo["received_at"] >= period.start - window) & (wo["received_at"] < period.end + window)).to_numpy()
    fcr = first_contact_resolved(wo[near], rules=rules).reindex(orders.index)
    cols["first_contact_resolution_pct"] = _pct(fcr, order_units, index)
    repeats = repeat_complaints(wo[near], rules=rules).reindex(orders.index)
    cols["repeat_complaints"] = _count(order_units[repeats.to_numpy()], index)
    return cols


def visit_covered(area: ServiceArea, period: Period, *, rules: Rules = DEFAULT_RULES,
                  customers: pd.Index | None = None) -> pd.Series:
    """Per customer (all, or ``customers``): whether the visit norm was met by the period's end.

    ``Rules.home_visits_per_year`` home visits in the 12 months and
    ``Rules.phone_visits_per_quarter`` phone callbacks in the 3 months up to
    the period's end: neither norm's due date (:func:`.visits.norm_due`, the
    one rule the visit lists use) has passed.
    """
    who = area.customers.index if customers is None else customers
    end = period.end
    home = norm_due(area.visits, who, kind="home", count=rules.home_visits_per_year, months=12, before=end)
    phone = norm_due(area.visits, who, kind="phone", count=rules.phone_visits_per_quarter, months=3, before=end)
    met_home = (home >= end) | (rules.home_visits_per_year <= 0)
    met_phone = (phone >= end) | (rules.phone_visits_per_quarter <= 0)
    return (met_home & met_phone).rename("visit_covered")


def grid_kpis(area: ServiceArea, period: Period | str, **kw: object) -> pd.DataFrame:
    """:func:`kpis` per grid."""
    return kpis(area, period, by="grid", **kw)  # type: ignore[arg-type]


def station_kpis(area: ServiceArea, period: Period | str, **kw: object) -> pd.DataFrame:
    """:func:`kpis` per station."""
    return kpis(area, period, by="station", **kw)  # type: ignore[arg-type]


__all__ = ["grid_kpis", "kpis", "station_kpis", "visit_covered"]
