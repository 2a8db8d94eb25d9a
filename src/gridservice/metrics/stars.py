"""The weekly service stars (服务之星): grid members ranked by their week's work.

For an ISO week and every grid member (``grid_staff`` role ``grid_member``):

=====================  ==============================================================
``orders_handled``     work orders assigned to the member closed in the week
``on_time_pct``        of those, the share on time (a repair's arrival, another
                       order's closing, by the SLA clocks of ``events.work_orders``)
``complaints``         complaints received in the week in the member's grids
``visits``             visits (home or phone) the member made in the week
``open_warnings``      grid-level indicator warnings open at the week's end on the
                       member's grids (:mod:`.warnings`)
=====================  ==============================================================

The score is a weighted sum, the weights ``Rules.star_weights`` (points per
unit)::

    score = 2 × orders_handled + 0.1 × on_time_pct + 3 × visits − 5 × complaints − 10 × open_warnings

(a member with no order judged gets no on-time points). Members are ranked by
score, then orders handled, then id; the first ``Rules.star_count`` (3) are
the week's stars. :func:`method` states the formula with the weights in
force, and every face shows it beside the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError
from gridservice.events.work_orders import sla_status
from gridservice.metrics.period import Period, as_period
from gridservice.model import ServiceArea

#: The measures, in the order of the formula.
MEASURES = ("orders_handled", "on_time_pct", "visits", "complaints", "open_warnings")
MEASURES_ZH = {"orders_handled": "办结工单", "on_time_pct": "及时率(%)", "visits": "走访次数",
               "complaints": "网格投诉", "open_warnings": "网格预警"}


def method(rules: Rules = DEFAULT_RULES) -> str:
    """The score's formula with the weights in force.

    >>> method()
    'score = 2 × orders_handled + 0.1 × on_time_pct + 3 × visits − 5 × complaints − 10 × open_warnings'
    """
    terms = []
    for i, name in enumerate(MEASURES):
        w = float(rules.star_weights.get(name, 0.0))
        sign = "−" if w < 0 else "+"
        lead = ("−" if w < 0 else "") if i == 0 else f" {sign} "
        terms.append(f"{lead}{abs(w):g} × {name}")
    return "score = " + "".join(terms)


def _week(period: Period | str) -> Period:
    p = as_period(period)
    if "-W" not in p.label:
        msg = f"period {p.label!r}: stars are weekly (YYYY-Www)"
        raise DataError(msg)
    return p


def stars(area: ServiceArea, week: Period | str, *, rules: Rules = DEFAULT_RULES,
          as_of: object | None = None) -> pd.DataFrame:
    """The week's ranking of grid members (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per grid member, best first: ``rank``, ``staff_id``,
        ``name``, ``station_id``, ``grids`` (comma-separated), the measures,
        ``score`` and ``star`` (among the first ``Rules.star_count``);
        ``attrs["method"]`` holds :func:`method`.
    """
    p = _week(week)
    unknown = set(rules.star_weights) - set(MEASURES)
    if unknown:
        msg = f"star_weights: unknown measure {sorted(unknown)[0]!r} (use {', '.join(MEASURES)})"
        raise DataError(msg)
    judged = min(p.end, area.as_of) if as_of is None else as_of
    gs = area.grid_staff
    members = gs[(gs["role"] == "grid_member").to_numpy()][["grid_id", "staff_id"]].astype("str").drop_duplicates()
    ids = pd.Index(sorted(members["staff_id"].unique()), name="staff_id")
    out = pd.DataFrame(index=ids)
    out["name"] = area.staff["name"].reindex(ids).astype("str") if len(area.staff) else None
    out["station_id"] = area.staff["station_id"].reindex(ids).astype("str") if len(area.staff) else None
    out["grids"] = members.groupby("staff_id")["grid_id"].agg(lambda g: ",".join(sorted(g))).reindex(ids)

    wo = area.work_orders
    done = wo[p.contains(wo["closed_at"]).to_numpy() & wo["assignee_id"].isin(ids).to_numpy()]
    sla = sla_status(area, done, rules=rules, as_of=judged)
    on_time = sla["arrival_on_time"].where((done["kind"] == "repair").to_numpy(), sla["close_on_time"])
    out["orders_handled"] = done["assignee_id"].value_counts().reindex(ids, fill_value=0).astype("int64")
    known = on_time.notna().to_numpy()
    flags = on_time[known].astype("float64")
    out["on_time_pct"] = (flags.groupby(done["assignee_id"][known].to_numpy()).mean() * 100).reindex(ids)

    def per_member(grid_counts: pd.Series) -> pd.Series:
        """A count per grid summed over each member's grids."""
        counts = members["grid_id"].map(grid_counts).fillna(0).to_numpy()
        return pd.Series(counts).groupby(members["staff_id"].to_numpy()).sum().reindex(ids, fill_value=0).astype(
            "int64")

    complaints = wo[p.contains(wo["received_at"]).to_numpy() & (wo["kind"] == "complaint").to_numpy()]
    out["complaints"] = per_member(complaints["grid_id"].value_counts())
    v = area.visits
    out["visits"] = v.loc[p.contains(v["at"]).to_numpy(), "staff_id"].value_counts().reindex(
        ids, fill_value=0).astype("int64")
    w = area.warnings
    if len(w):
        live = ((w["level"] == "grid") & (w["raised_at"] < p.end)
                & (w["cleared_at"].isna() | (w["cleared_at"] >= p.end))).to_numpy()
        out["open_warnings"] = per_member(w.loc[live, "unit_id"].value_counts())
    else:
        out["open_warnings"] = 0

    weights = pd.Series({m: float(rules.star_weights.get(m, 0.0)) for m in MEASURES})
    points = out[list(MEASURES)].astype("float64").fillna(0.0)
    out["score"] = np.round(points.to_numpy() @ weights.to_numpy(), 6)
    out = out.reset_index().sort_values(["score", "orders_handled", "staff_id"], ascending=[False, False, True],
                                        kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["star"] = out["rank"] <= rules.star_count
    out = out.reset_index(drop=True)
    out.attrs["method"] = method(rules)
    out.attrs["week"] = p.label
    return out


__all__ = ["MEASURES", "MEASURES_ZH", "method", "stars"]
