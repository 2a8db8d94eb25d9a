"""Indicator warnings worked out by hand on the five-customer area (tests/tiny_area.py).

The figures come from the hand-worked KPI, reliability and line-loss tests:

====================  =========  =========  =========  ==========================================
indicator             G1         G2         S1/county  why
====================  =========  =========  =========  ==========================================
saidi_min 2026-02     0          20         12         O5: C4, C5 30 min in February → 60/3 (G2)
saidi_min 2026-03     330        310        318        tests/metrics/test_reliability.py
saidi_min 2026-04     0          20         12         O4: C5's last 60 min → 60/3 (G2)
repair_on_time 03     100        0          50         W1 on time (G1), W2 late (G2)
high_loss_share 03    100        0          50         T1 high (G1), T2 negative (G2): 1 of 2
saifi 03              2          5/3        1.8        9 customers interrupted / 5
====================  =========  =========  =========  ==========================================

Thresholds are inclusive: a value exactly at a threshold crosses it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from gridservice.config import Rules
from gridservice.errors import ConflictError, DataError, NotFoundError
from gridservice.metrics.indicators import INDICATORS, indicator_values, thresholds
from gridservice.metrics.warnings import clear, evaluate, listing, update

AT = {m: pd.Timestamp(f"{m}-28 09:00", tz="Asia/Shanghai") for m in ("2026-02", "2026-03", "2026-04", "2026-05")}


def _rules(**limits: dict[str, tuple[float, float]]) -> Rules:
    return Rules(warning_thresholds=limits)


def test_the_catalogue_and_the_default_thresholds_name_the_same_indicators() -> None:
    assert set(Rules().warning_thresholds) == set(INDICATORS)
    table = thresholds(Rules())
    assert len(table) == 3 * len(INDICATORS)  # every indicator at county, station and grid


def test_the_month_s_values_per_level(tiny) -> None:
    v = indicator_values(tiny, "2026-03")
    assert v["grid"].loc["G1", "saidi_min"] == pytest.approx(330)
    assert v["grid"].loc["G2", "saidi_min"] == pytest.approx(310)
    assert v["station"].loc["S1", "saidi_min"] == pytest.approx(318)
    assert v["county"].loc["all", "saidi_min"] == pytest.approx(318)  # no service_area row: the county is "all"
    assert v["grid"]["high_loss_share_pct"].tolist() == [100.0, 0.0]
    assert v["station"].loc["S1", "high_loss_share_pct"] == 50.0
    assert v["grid"]["repair_on_time_pct"].tolist() == [100.0, 0.0]


def test_values_exactly_at_a_threshold_cross_it(tiny) -> None:
    rules = _rules(saidi_min={"grid": (310.0, 330.0)}, repair_on_time_pct={"grid": (100.0, 0.0)},
                   high_loss_share_pct={"station": (50.0, 60.0)}, saifi={"county": (1.8, 1.81)})
    got = evaluate(tiny, "2026-03", rules=rules)
    found = {(r.indicator, r.unit_id): (r.severity, r.threshold) for r in got.itertuples()}
    assert found == {
        ("saidi_min", "G1"): ("red", 330.0),        # 330 at red
        ("saidi_min", "G2"): ("yellow", 310.0),     # 310 at yellow, below red
        ("repair_on_time_pct", "G1"): ("yellow", 100.0),  # lower is worse: 100 ≤ 100
        ("repair_on_time_pct", "G2"): ("red", 0.0),
        ("high_loss_share_pct", "S1"): ("yellow", 50.0),
        ("saifi", "all"): ("yellow", 1.8),
    }
    assert got["severity"].iloc[0] == "red"  # red first
    just_above = evaluate(tiny, "2026-03", rules=_rules(saidi_min={"grid": (330.5, 400.0)}))
    assert just_above.empty


def test_bad_thresholds_and_periods_are_refused(tiny) -> None:
    with pytest.raises(DataError, match="red 5 is milder than yellow 10"):
        evaluate(tiny, "2026-03", rules=_rules(saidi_min={"grid": (10.0, 5.0)}))
    with pytest.raises(DataError, match="unknown indicator 'nope'"):
        evaluate(tiny, "2026-03", rules=_rules(nope={"grid": (1.0, 2.0)}))
    with pytest.raises(DataError, match="unknown level 'town'"):
        evaluate(tiny, "2026-03", rules=_rules(saidi_min={"town": (1.0, 2.0)}))
    with pytest.raises(DataError, match="per month"):
        evaluate(tiny, "2026-W10", rules=_rules(saidi_min={"grid": (1.0, 2.0)}))


def _step(area, period: str, rules: Rules):
    result = update(area, period, rules=rules, at=AT[period])
    kept = area.warnings.drop(index=result.rows.index, errors="ignore") if len(area.warnings) else None
    merged = result.rows if kept is None else pd.concat([kept, result.rows])
    return area.replace(warnings=merged), result


def test_warnings_persist_clear_and_escalate_across_months(tiny) -> None:
    """SAIDI per grid with yellow 10, red 20:

    ========  ==============  ==============  ============================================
    month     G1              G2              warnings
    ========  ==============  ==============  ============================================
    2026-02   0  —            20 red          G2 opened red (red run 1)
    2026-03   330 red         310 red         G1 opened; G2 kept, run 2 → escalated
    2026-04   0  —            20 red          G1 cleared (auto); G2 kept, run 3, escalated once
    ========  ==============  ==============  ============================================
    """
    rules = _rules(saidi_min={"grid": (10.0, 20.0)})
    g1, g2 = "W2026-03-grid-G1-saidi_min", "W2026-02-grid-G2-saidi_min"
    area, feb = _step(tiny, "2026-02", rules)
    assert (feb.opened, feb.escalated) == ([g2], [])
    area, mar = _step(area, "2026-03", rules)
    assert mar.opened == [g1] and mar.kept == [g2] and mar.escalated == [g2]
    w = area.warnings
    assert w.loc[g2, "red_since"] == "2026-02" and w.loc[g2, "last_period"] == "2026-03"
    assert w.loc[g2, "value"] == pytest.approx(310) and w.loc[g2, "escalated_at"] == AT["2026-03"]
    assert pd.isna(w.loc[g1, "escalated_at"])  # red for one month only
    area, apr = _step(area, "2026-04", rules)
    assert apr.cleared == [g1] and apr.kept == [g2] and apr.escalated == []
    w = area.warnings
    assert w.loc[g1, "cleared_by"] == "auto" and w.loc[g1, "cleared_at"] == AT["2026-04"]
    assert w.loc[g2, "escalated_at"] == AT["2026-03"]  # escalated once, not again
    table = listing(w, open_only=True).set_index("warning_id")
    assert list(table.index) == [g2] and table.loc[g2, "red_months"] == 3
    with pytest.raises(DataError, match="months go forward"):
        update(area, "2026-03", rules=rules)


def test_a_yellow_month_restarts_the_red_run(tiny) -> None:
    """Yellow 20, red 300: G2 is yellow in February (20), red in March (310), yellow in April (20); with
    escalation after 2 red months it is never escalated, and April's yellow ends the run."""
    rules = _rules(saidi_min={"grid": (20.0, 300.0)})
    area, _ = _step(tiny, "2026-02", rules)
    area, mar = _step(area, "2026-03", rules)
    g2 = "W2026-02-grid-G2-saidi_min"
    assert mar.escalated == [] and area.warnings.loc[g2, "severity"] == "red"
    assert area.warnings.loc[g2, "red_since"] == "2026-03"
    area, _ = _step(area, "2026-04", rules)
    assert area.warnings.loc[g2, "severity"] == "yellow" and pd.isna(area.warnings.loc[g2, "red_since"])


def test_the_same_month_again_changes_nothing(tiny) -> None:
    rules = _rules(saidi_min={"grid": (10.0, 20.0)})
    area, first = _step(tiny, "2026-03", rules)
    again = update(area, "2026-03", rules=rules, at=AT["2026-04"])
    assert again.opened == [] and again.cleared == [] and sorted(again.kept) == sorted(first.opened)
    assert (again.rows["raised_at"] == AT["2026-03"]).all()


def test_a_warning_cleared_by_hand_is_raised_again_next_month(tiny) -> None:
    rules = _rules(saidi_min={"grid": (10.0, 20.0)})
    area, _ = _step(tiny, "2026-03", rules)
    g2 = "W2026-03-grid-G2-saidi_min"
    row = clear(area.warnings, g2, note="feeder rebuilt", user="supervisor", at=AT["2026-03"])
    assert (row.loc[g2, "cleared_by"], row.loc[g2, "note"]) == ("supervisor", "feeder rebuilt")
    area = area.replace(warnings=pd.concat([area.warnings.drop(index=[g2]), row]))
    with pytest.raises(ConflictError, match="already cleared"):
        clear(area.warnings, g2, note="again", user="supervisor")
    with pytest.raises(NotFoundError):
        clear(area.warnings, "W-nope", note="x", user="supervisor")
    with pytest.raises(DataError, match="say why"):
        clear(area.warnings, "W2026-03-grid-G1-saidi_min", note="  ", user="supervisor")
    same = update(area, "2026-03", rules=rules, at=AT["2026-03"])
    assert g2 not in same.opened  # not again for the month it was cleared in
    area, apr = _step(area, "2026-04", rules)
    assert apr.opened == ["W2026-04-grid-G2-saidi_min"]  # a new warning, its red run starting again
    assert area.warnings.loc["W2026-04-grid-G2-saidi_min", "red_since"] == "2026-04"


def _from_kpis(area, period: str, level: str) -> pd.DataFrame:
    """The indicators computed the KPI way, unit by unit (the oracle of the summed counts)."""
    from gridservice.metrics.applications import monitor, monitor_summary
    from gridservice.metrics.indicators import judged_at
    from gridservice.metrics.kpi import kpis
    from gridservice.metrics.period import month

    when = judged_at(area, month(period))
    k = kpis(area, period, by={"county": "area"}.get(level, level), as_of=when)
    out = k[["repair_on_time_pct", "non_repair_on_time_pct", "complaints_per_10k", "saidi_min", "saifi", "rs1_pct",
             "visit_coverage_pct"]].copy()
    out["high_loss_share_pct"] = k["loss_high"] / (k["loss_normal"] + k["loss_high"] + k["loss_negative"]) * 100
    flags = monitor(area, period, as_of=when)
    late = monitor_summary(area, flags[flags["flag"] == "over_time"], by=level)["over_time"]
    out["applications_over_time"] = late.reindex(out.index).fillna(0).to_numpy() if level != "county" else \
        float(late.sum())
    return out.reset_index(drop=True)


@pytest.mark.parametrize("period", ["2026-02", "2026-03", "2026-04"])
def test_the_summed_counts_give_the_kpis_of_every_level(tiny, period) -> None:
    values = indicator_values(tiny, period)
    for level in ("grid", "station", "county"):
        ours = values[level][list(INDICATORS)].reset_index(drop=True)
        pd.testing.assert_frame_equal(ours, _from_kpis(tiny, period, level)[list(INDICATORS)],
                                      check_dtype=False, check_names=False)


def test_the_summed_counts_give_the_kpis_on_the_demo(demo_area) -> None:
    values = indicator_values(demo_area, "2026-10")
    for level in ("grid", "station", "county"):
        ours = values[level][list(INDICATORS)].reset_index(drop=True)
        pd.testing.assert_frame_equal(ours, _from_kpis(demo_area, "2026-10", level)[list(INDICATORS)],
                                      check_dtype=False, check_names=False, rtol=1e-9)
