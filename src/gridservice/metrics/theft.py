"""Theft and metering suspects behind high line loss (窃电与计量异常嫌疑).

Line loss tells a supervisor *which* transformer area (台区) loses energy;
this module tells the grid member *which meters* to check. For a month, each
meter's series over ``Rules.theft_baseline_months + Rules.theft_recent_months``
months ending with it is split into a baseline (its own level: the median)
and the recent months, and five rules are judged (docs/theft.md):

* ``zero_use`` — every recent month at or below ``theft_near_zero_kwh``
  for an occupied customer (baseline median ≥ ``theft_occupied_min_kwh``);
* ``sudden_drop`` — every recent month below ``theft_drop_ratio`` of the
  baseline, after dividing by the same ratio of the peers (occupied meters of
  the same customer category on the same transformer, when there are at least
  ``theft_min_peers``): a drop the neighbours did not have;
* ``flat`` — a fully read window whose range is within
  ``theft_flat_tolerance_pct`` of its mean (a stuck or estimated register);
* ``reverse_energy`` — a negative reading in a recent month;
* ``over_capacity`` — a recent month above the connected capacity running
  flat out all month (``capacity_kva`` × the month's hours), the capacity
  being the largest of the customer's connected 业扩 applications.

A meter's score is the sum of the precisions of the rules it hits. A rule's
precision comes from the recorded field checks (``meter_checks``) that
listed it: ``(found + 1) / (checked + 2)``, where ``found`` counts checks
that found theft or a metering fault — 0.5 before any check (a uniform prior),
rising for rules that keep finding something and falling for those that do
not. Suspects on a transformer rank by score, then by the energy missing
against their own baseline.

All array work over the (meters × months) matrix: no loop over meters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import numpy as np
import pandas as pd

from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import ConflictError, DataError, NotFoundError
from gridservice.events.links import meter_transformer_positions
from gridservice.lookup import positions
from gridservice.metrics.lineloss import LossHistory, line_loss, loss_history
from gridservice.metrics.period import Period, as_period
from gridservice.model import ServiceArea
from gridservice.schema import CHECK_OUTCOMES

RULES: tuple[str, ...] = ("zero_use", "sudden_drop", "flat", "reverse_energy", "over_capacity")
RULES_ZH = {"zero_use": "零电量", "sudden_drop": "电量突降", "flat": "电量恒定", "reverse_energy": "反向电量",
            "over_capacity": "超容量用电"}
#: Outcomes of a field check that found something (the rule was right).
FOUND = ("theft", "metering_fault")


def _window(area: ServiceArea, last: str, rules: Rules, history: LossHistory | None
            ) -> tuple[pd.Index, list[str], np.ndarray]:
    """The meters' kWh over the rule window ending at ``last`` (NaN where unread or before the readings start)."""
    n = rules.theft_baseline_months + rules.theft_recent_months
    wanted = [str(p) for p in pd.period_range(end=pd.Period(last, "M"), periods=n, freq="M")]
    if history is None or history.meter_kwh is None or wanted[-1] not in history.months:
        history = loss_history(area, until=last, months=n, per_meter=True)
    cols = history.columns(wanted)
    kwh = history.meter_kwh[:, np.maximum(cols, 0)] if len(history.months) else np.zeros((len(area.meters), n))
    kwh = np.where(cols >= 0, kwh, np.nan)
    return pd.Index(area.meters.index.astype("str")), wanted, kwh


def _capacity_kva(area: ServiceArea, n_meters: int, cust_pos: np.ndarray) -> np.ndarray:
    """Connected capacity per meter: the largest connected application of its customer (NaN if none);
    ``cust_pos`` is each customer's meter position (-1 without one)."""
    apps = area.applications
    out = np.full(n_meters, np.nan)
    if not len(apps) or not len(cust_pos):
        return out
    done = apps[apps["connected_at"].notna() & apps["customer_id"].notna()]
    cap = done.groupby("customer_id")["capacity_kva"].max()
    m = cust_pos
    c = cap.reindex(area.customers.index.astype("str")).to_numpy(dtype="float64", na_value=np.nan)
    ok = m >= 0
    out[m[ok]] = c[ok]
    return out


def anomalies(area: ServiceArea, period: Period | str, *, rules: Rules = DEFAULT_RULES,
              history: LossHistory | None = None) -> pd.DataFrame:
    """The rules each meter hits in a month (the period's last month).

    ``history``: a :func:`~gridservice.metrics.lineloss.loss_history` with ``per_meter=True`` to reuse.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``meter_id``: ``transformer_id``, ``customer_id``,
        ``category``, one bool column per rule of :data:`RULES`,
        ``baseline_kwh`` (the baseline median), ``recent_kwh`` (mean of the
        recent months), ``missing_kwh`` (energy below the baseline over the
        recent months, ≥ 0). ``attrs["months"]`` names the window's months and
        ``attrs["series"]`` holds the (meters × months) kWh matrix in row order.
    """
    last = as_period(period).months[-1]
    ids, months, kwh = _window(area, last, rules, history)
    nb = rules.theft_baseline_months
    base, recent = kwh[:, :nb], kwh[:, nb:]
    base_med = pd.DataFrame(base).median(axis=1).to_numpy()  # NaN when never read: no rule needs a level then
    occupied = base_med >= rules.theft_occupied_min_kwh
    read = ~np.isnan(recent)
    filled = np.nan_to_num(kwh)  # 0 where unread: every use below is masked by what was read
    recent_f = filled[:, nb:]
    zero = occupied & (read & (np.abs(recent_f) <= rules.theft_near_zero_kwh)).all(axis=1)

    # the meter's change against its own level, and its peers' (same transformer and category)
    tx = meter_transformer_positions(area)
    cust = area.customers
    cust_pos = positions(cust["meter_id"], ids) if "meter_id" in cust.columns else np.zeros(0, dtype=np.int64)
    has = cust_pos >= 0
    customer_id = np.full(len(ids), None, dtype=object)
    customer_id[cust_pos[has]] = cust.index.astype("str").to_numpy()[has]
    category = np.full(len(ids), None, dtype=object)
    category[cust_pos[has]] = cust["category"].astype("str").to_numpy()[has]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(occupied[:, None], recent / base_med[:, None], np.nan)
    cat_code = pd.factorize(pd.Series(category), use_na_sentinel=True)[0]
    group = np.where((tx >= 0) & occupied, tx.astype("int64") * (cat_code.max() + 2) + cat_code + 1, -1)
    frame = pd.DataFrame(ratio)
    frame["g"] = group
    peers = frame[group >= 0].groupby("g")
    peer_ratio = peers.transform("median").reindex(frame.index).to_numpy()
    peer_n = peers[0].transform("size").reindex(frame.index).fillna(0).to_numpy()
    use_peers = (peer_n >= rules.theft_min_peers)[:, None] & (peer_ratio > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        adjusted = np.where(use_peers, ratio / peer_ratio, ratio)
    drop = occupied & (read & (np.nan_to_num(adjusted, nan=np.inf) < rules.theft_drop_ratio)).all(axis=1)

    all_read = ~np.isnan(kwh).any(axis=1)
    low, high = filled.min(axis=1), filled.max(axis=1)
    flat = all_read & (low > rules.theft_near_zero_kwh) & (
        high - low <= rules.theft_flat_tolerance_pct / 100 * filled.mean(axis=1))
    reverse = (recent_f < 0).any(axis=1)
    hours = np.array([pd.Period(m, "M").days_in_month * 24.0 for m in months[nb:]])
    cap = _capacity_kva(area, len(ids), cust_pos)
    over = (recent_f > np.where(np.isnan(cap), np.inf, cap)[:, None] * hours).any(axis=1)

    out = pd.DataFrame(index=pd.Index(ids, name="meter_id"))
    tx_ids = area.transformers.index.astype("str").to_numpy()
    out["transformer_id"] = np.where(tx >= 0, tx_ids[np.maximum(tx, 0)] if len(tx_ids) else None, None)
    out["customer_id"] = customer_id
    out["category"] = category
    for name, hit in zip(RULES, (zero, drop, flat, reverse, over), strict=True):
        out[name] = hit
    out["baseline_kwh"] = base_med
    out["recent_kwh"] = pd.DataFrame(recent).mean(axis=1).to_numpy()
    n_recent = recent.shape[1]
    out["missing_kwh"] = np.clip(np.nan_to_num(base_med) * n_recent - recent_f.sum(axis=1), 0, None)
    out.attrs["months"] = months
    out.attrs["series"] = kwh
    return out


def rule_precision(area: ServiceArea) -> pd.DataFrame:
    """Per rule: checks with an outcome that listed it, what they found, and the precision that weights it.

    ``precision = (found + 1) / (checked + 2)`` with ``found`` = theft or metering fault.
    """
    fc = area.meter_checks
    done = fc[fc["outcome"].notna()] if len(fc) else fc
    counts = pd.DataFrame(0, index=pd.Index(RULES, name="rule"), columns=["checked", "theft", "metering_fault",
                                                                            "no_fault"])
    if len(done):
        per = done.assign(rule=done["rules"].astype("str").str.split(",")).explode("rule")
        per["rule"] = per["rule"].str.strip()
        table = pd.crosstab(per["rule"], per["outcome"]).reindex(index=list(RULES), fill_value=0)
        for col in ("theft", "metering_fault", "no_fault"):
            if col in table.columns:
                counts[col] = table[col].to_numpy()
        counts["checked"] = counts[["theft", "metering_fault", "no_fault"]].sum(axis=1)
    found = counts["theft"] + counts["metering_fault"]
    counts["precision"] = (found + 1) / (counts["checked"] + 2)
    return counts


def last_full_month(area: ServiceArea) -> str:
    """The month before the one of the area's ``as_of``: the last whose readings are complete (``YYYY-MM``)."""
    return str(pd.Period(area.as_of.tz_localize(None), "M") - 1)


def suspects(
    area: ServiceArea,
    period: Period | str,
    *,
    rules: Rules = DEFAULT_RULES,
    transformer_id: str | None = None,
    staff_id: str | None = None,
) -> pd.DataFrame:
    """Ranked suspect meters on the high-loss transformer areas of a month.

    Parameters
    ----------
    transformer_id
        Only this transformer, whatever its loss class.
    staff_id
        Only the transformers this grid member answers for (see
        :func:`~gridservice.metrics.lineloss.responsible_staff`).

    Returns
    -------
    pandas.DataFrame
        One row per meter hitting at least one rule, ranked within its
        transformer (``rank`` 1 first): ``transformer_id``, ``rank``,
        ``meter_id``, ``customer_id``, ``name``, ``address``, ``category``,
        ``grid_id``, ``staff_id``, ``staff_name``, ``loss_pct`` (the
        transformer's), ``rules`` (comma-separated), ``score``,
        ``baseline_kwh``, ``recent_kwh``, ``missing_kwh``, ``series`` (the
        window's kWh, a list; ``attrs["months"]`` names its months).
    """
    period = as_period(period)
    history = loss_history(area, until=period.months[-1], per_meter=True)  # one pass over the readings for both
    flags = anomalies(area, period, rules=rules, history=history)
    loss = line_loss(area, period.months[-1], rules=rules, history=history)
    keep = loss.index == transformer_id if transformer_id is not None else (loss["class"] == "high").to_numpy()
    if staff_id is not None:
        keep = keep & (loss["staff_id"] == staff_id).to_numpy()
    txs = loss[keep]
    hit = flags[list(RULES)].to_numpy()
    weight = rule_precision(area)["precision"].to_numpy()
    score = hit @ weight
    rows = np.flatnonzero(hit.any(axis=1) & flags["transformer_id"].isin(txs.index).to_numpy())
    out = flags.iloc[rows][["transformer_id", "customer_id", "category", "baseline_kwh", "recent_kwh",
                            "missing_kwh"]].reset_index()
    named = sum((pd.Series(np.where(hit[rows, i], name + ",", ""), dtype="str") for i, name in enumerate(RULES)),
                start=pd.Series("", index=range(len(rows)), dtype="str"))
    out["rules"] = named.str.rstrip(",").to_numpy()
    out["score"] = score[rows].round(3)
    cust = area.customers.reindex(out["customer_id"].to_numpy())
    out["name"] = cust["name"].to_numpy() if "name" in cust.columns else None
    out["address"] = cust["address"].to_numpy() if "address" in cust.columns else None
    tx_rows = txs.reindex(out["transformer_id"].to_numpy())
    for col in ("grid_id", "staff_id", "staff_name", "loss_pct"):
        out[col] = tx_rows[col].to_numpy()
    out["series"] = flags.attrs["series"][rows].round(1).tolist()
    out = out.sort_values(["transformer_id", "score", "missing_kwh", "meter_id"],
                          ascending=[True, False, False, True], kind="stable")
    out["rank"] = out.groupby("transformer_id").cumcount() + 1
    cols = ["transformer_id", "rank", "meter_id", "customer_id", "name", "address", "category", "grid_id",
            "staff_id", "staff_name", "loss_pct", "rules", "score", "baseline_kwh", "recent_kwh", "missing_kwh",
            "series"]
    result = out[cols].reset_index(drop=True)
    result.attrs["months"] = flags.attrs["months"]
    return result


def order_check(area: ServiceArea, meter_id: str, *, rules_hit: Iterable[str], ordered_at: pd.Timestamp,
                staff_id: str | None = None) -> pd.DataFrame:
    """A new field-check order (用电检查) for a suspect meter: one ``meter_checks`` row, not yet checked.

    Raises
    ------
    NotFoundError
        No such meter or staff member.
    DataError
        No rule named, or a name that is not one of :data:`RULES`.
    """
    if meter_id not in area.meters.index:
        msg = f"unknown meter {meter_id!r}"
        raise NotFoundError(msg)
    if staff_id is not None and staff_id not in area.staff.index:
        msg = f"unknown staff member {staff_id!r}"
        raise NotFoundError(msg)
    hit = list(dict.fromkeys(rules_hit))
    wrong = [r for r in hit if r not in RULES]
    if not hit or wrong:
        msg = f"rules must name at least one of {', '.join(RULES)}; got {', '.join(wrong) or 'none'}"
        raise DataError(msg)
    cust = area.customers
    owner = cust.index[cust["meter_id"] == meter_id] if "meter_id" in cust.columns else []
    check_id = f"FC{ordered_at:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
    index = pd.Index([check_id], name="check_id")
    when = pd.Series([ordered_at], index=index)
    return pd.DataFrame({
        "meter_id": meter_id, "customer_id": str(owner[0]) if len(owner) else None, "staff_id": staff_id,
        "rules": ",".join(hit), "ordered_at": when, "at": pd.Series(pd.NaT, index=index, dtype=when.dtype),
        "outcome": pd.Series(None, index=index, dtype="str"),
    }, index=index)


def check_outcome(check: pd.DataFrame, outcome: str, at: pd.Timestamp) -> pd.DataFrame:
    """The order ``check`` (one ``meter_checks`` row) with what the visit found.

    Raises
    ------
    DataError
        An outcome outside :data:`~gridservice.schema.CHECK_OUTCOMES`, or a visit before the order.
    ConflictError
        The check already has an outcome.
    """

    cid = str(check.index[0])
    if outcome not in CHECK_OUTCOMES:
        msg = f"field check {cid}: outcome must be one of {', '.join(CHECK_OUTCOMES)}, not {outcome!r}"
        raise DataError(msg)
    row = check.iloc[0]
    if pd.notna(row["outcome"]) and str(row["outcome"]):
        msg = f"field check {cid} already has its outcome {row['outcome']!r}"
        raise ConflictError(msg)
    if at < row["ordered_at"]:
        msg = f"field check {cid}: checked at {at} before it was ordered ({row['ordered_at']})"
        raise DataError(msg)
    out = check.copy()
    out["outcome"] = outcome
    out["at"] = at
    return out


__all__ = ["FOUND", "RULES", "RULES_ZH", "anomalies", "check_outcome", "last_full_month", "order_check",
           "rule_precision", "suspects"]
