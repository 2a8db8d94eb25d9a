"""Every problem planted in the demo (its ``demo_manifest``) shows up in the right command.

The demo covers 2025-12 … 2026-11; clocks are judged at the end of that year.
Grid gaps and overlaps belong to plan validation (``gridservice validate``),
not to these commands.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.metrics.kpi import kpis
from gridservice.metrics.lineloss import line_loss
from gridservice.metrics.period import month
from pinned import DEMO_AS_OF

AS_OF = "2026-11-30T23:59"

#: Loss rules look at one month: the planted one (in the detail), not the latest.
LOSS = {"LOSS_HIGH": "high", "LOSS_NEGATIVE": "negative", "LOSS_STREAK": "high"}
#: The two plan problems no audit rule covers are named by their ``validate`` check.
VALIDATE_ONLY = {"gap", "overlap"}
#: 业扩 problems are named after the flag of the applications monitor: APP_<FLAG>.
APP = "APP_"
#: Theft and metering suspects are named after the rule of ``theft suspects``: THEFT_<RULE>.
THEFT = "THEFT_"
#: Missed visits are named after the reason of ``visits due``: VISIT_<REASON>.
VISIT = "VISIT_"
#: Seeded warnings history: escalated red warnings, named after the ``escalated`` column of ``warnings list``.
WARNING = "WARNING_"


@pytest.fixture(scope="module")
def manifest(demo_frames) -> pd.DataFrame:
    return demo_frames["demo_manifest"]


@pytest.fixture(scope="module")
def audit_json(demo_gpkg) -> list[dict]:
    result = CliRunner().invoke(app, ["audit", "--data", str(demo_gpkg), "--as-of", AS_OF, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_manifest_names_each_problem_by_the_rule_that_reports_it(manifest) -> None:
    from gridservice.metrics.audit import RULE_IDS

    planted = set(manifest["problem"])
    assert {"WO_ARRIVAL_LATE", "WO_TIME_ORDER", "WO_REPEAT_COMPLAINT", "LOSS_HIGH", "LOSS_NEGATIVE", "LOSS_STREAK",
            "CUST_PHONE_INVALID", "GRID_NO_MANAGER"} <= planted
    assert {p for p in planted - VALIDATE_ONLY if not p.startswith((APP, THEFT, VISIT, WARNING))} <= set(RULE_IDS)


def test_audit_reports_every_planted_record(manifest, audit_json) -> None:
    found = {(r["check"], r["feature_id"]) for r in audit_json}
    rows = manifest[~manifest["problem"].isin([*LOSS, *VALIDATE_ONLY])
                    & ~manifest["problem"].str.startswith((APP, THEFT, VISIT, WARNING))]
    assert len(rows) >= 15
    missing = [(p, f) for p, f in zip(rows["problem"], rows["feature_id"], strict=True) if (p, f) not in found]
    assert not missing
    grids = {r["feature_id"]: r["grid_id"] for r in audit_json if r["check"] == "WO_ARRIVAL_LATE"}
    assert all(isinstance(g, str) and g for g in grids.values())


def _month(detail: str) -> str:
    return re.findall(r"\d{4}-\d{2}", detail)[-1]  # a streak "2026-09..2026-11" ends in its last month


def test_lineloss_reports_planted_loss_in_its_month(demo_area, manifest) -> None:
    rows = manifest[manifest["problem"].isin(list(LOSS))]
    assert len(rows) == 3
    for problem, tx, detail in zip(rows["problem"], rows["feature_id"], rows["detail"], strict=True):
        loss = line_loss(demo_area, _month(detail))
        assert loss.loc[tx, "class"] == LOSS[problem], (problem, tx)
        pct = float(re.findall(r"(-?\d+\.\d) %", detail)[-1])
        assert loss.loc[tx, "loss_pct"] == pytest.approx(pct, abs=0.05)
        if problem == "LOSS_STREAK":
            assert loss.loc[tx, "streak_months"] == 3


def test_lineloss_command_shows_the_three_month_streak(demo_gpkg, manifest) -> None:
    streak = manifest[manifest["problem"] == "LOSS_STREAK"].iloc[0]
    result = CliRunner().invoke(app, ["lineloss", "--data", str(demo_gpkg), "--period", _month(streak["detail"]),
                                      "--class", "high", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["transformer_id"]: r for r in json.loads(result.stdout)}
    assert rows[streak["feature_id"]]["streak_months"] == 3


def test_audit_loss_rules_in_the_planted_months(demo_area, manifest) -> None:
    from gridservice.metrics.audit import audit

    for problem in LOSS:
        row = manifest[manifest["problem"] == problem].iloc[0]
        found = audit(demo_area, rule_ids=[problem], period=_month(row["detail"]), as_of=AS_OF)
        assert row["feature_id"] in set(found["feature_id"]), problem


def test_kpis_show_late_repairs_and_the_repeat_complaint(demo_area, manifest) -> None:
    wo = demo_area.work_orders
    late = manifest[manifest["problem"] == "WO_ARRIVAL_LATE"]
    for oid in late["feature_id"]:
        order = wo.loc[oid]
        k = kpis(demo_area, month(f"{order['received_at']:%Y-%m}"), as_of=AS_OF)
        assert k.loc[order["grid_id"], "repair_on_time_pct"] < 100, oid
    rep = wo.loc[manifest[manifest["problem"] == "WO_REPEAT_COMPLAINT"]["feature_id"].iloc[0]]
    k = kpis(demo_area, month(f"{rep['received_at']:%Y-%m}"), as_of=AS_OF)
    assert k.loc[rep["grid_id"], "repeat_complaints"] >= 1


def test_kpis_show_the_grid_without_manager_and_staffing(demo_area, manifest) -> None:
    k = kpis(demo_area, "2026-11", as_of=AS_OF)
    assert k["customers"].sum() > 0.95 * len(demo_area.customers)  # nearly every customer lies in a grid
    under = manifest[manifest["problem"] == "GRID_UNDERSTAFFED"]["feature_id"]
    for grid in under:
        assert k.loc[grid, "households_per_member"] > 1500
    # By the end of the year most key customers have had their visits.
    assert k["visit_coverage_pct"].mean() > 50


@pytest.mark.slow
def test_understaffed_grid_of_the_default_size_demo() -> None:
    # The 3,000-customer demo is too small to plant an understaffed grid; the default 30,000 one does.
    from gridservice.demo import build_demo
    from gridservice.metrics.audit import audit
    from gridservice.model import ServiceArea
    from gridservice.workspace import derive

    frames = build_demo(customers=30_000, seed=0, as_of=DEMO_AS_OF)
    planted = frames["demo_manifest"]
    grids = planted.loc[planted["problem"] == "GRID_UNDERSTAFFED", "feature_id"].tolist()
    assert len(grids) == 1
    area = derive(ServiceArea({k: v for k, v in frames.items() if k != "demo_manifest"}))
    found = audit(area, rule_ids=["GRID_UNDERSTAFFED", "GRID_NO_MANAGER"], as_of=AS_OF)
    assert ("GRID_UNDERSTAFFED", grids[0]) in set(zip(found["check"], found["feature_id"], strict=True))
    k = kpis(area, "2026-11", as_of=AS_OF)
    assert k.loc[grids[0], "households_per_member"] > 1500


def test_the_applications_monitor_finds_exactly_the_planted_problems(manifest, demo_area) -> None:
    """Over the demo's year every flag is a planted problem and every planted problem is flagged; only
    "due soon" (a warning about open steps at the present, not a problem) is left out."""
    from gridservice.metrics.applications import FLAGS, monitor
    from gridservice.metrics.period import period_between

    rows = manifest[manifest["problem"].str.startswith(APP)]
    planted = {(f, p.removeprefix(APP).lower()) for p, f in zip(rows["problem"], rows["feature_id"], strict=True)}
    assert {flag for _, flag in planted} == set(FLAGS) - {"due_soon"}
    flags = monitor(demo_area, period_between("2025-12-01", "2026-11-30"))
    found = {(a, f) for a, f in zip(flags["application_id"], flags["flag"], strict=True) if f != "due_soon"}
    assert found == planted
    assert flags["grid_id"].notna().all() and flags["staff_id"].notna().all()


def test_the_planted_thieves_and_faulty_meters_rank_first_on_their_transformer(manifest, demo_area) -> None:
    """On the high-loss streak transformer, in the streak's last full month (2026-10; November is still being
    read), the four planted meters are the top four suspects, each with the rule it was planted for."""
    from gridservice.metrics.theft import suspects

    rows = manifest[manifest["problem"].str.startswith(THEFT)]
    assert len(rows) == 4
    planted = {m: p.removeprefix(THEFT).lower() for p, m in zip(rows["problem"], rows["feature_id"], strict=True)}
    tx = {re.match(r"on (\S+):", d).group(1) for d in rows["detail"]}
    assert len(tx) == 1
    streak = manifest.loc[manifest["problem"] == "LOSS_STREAK", "feature_id"].tolist()
    assert tx == set(streak)
    table = suspects(demo_area, "2026-10")
    assert tx <= set(table["transformer_id"])
    mine = table[table["transformer_id"] == streak[0]]
    top = mine[mine["rank"] <= len(planted)]
    assert set(top["meter_id"]) == set(planted)
    for meter, rule in planted.items():
        assert rule in top.set_index("meter_id").loc[meter, "rules"].split(",")


def test_the_roster_check_finds_exactly_the_planted_gap_and_seven_day_week(manifest, demo_area) -> None:
    """Every station has a 6+1 roster for the weeks around as_of (Monday 2026-11-30): four before its week,
    one after. The check finds the planted grid-day without duty and the member who worked seven days, and
    nothing else; at as_of every grid has someone on duty."""
    from gridservice.events.roster import duty_of_grids, roster_findings

    rows = manifest[manifest["problem"].str.startswith("ROSTER_")]
    assert sorted(rows["problem"]) == ["ROSTER_NO_COVER", "ROSTER_OVER_SIX"]
    shifts = demo_area.shifts
    assert (shifts["date"].min(), shifts["date"].max()) == ("2026-11-02", "2026-12-13")
    found = roster_findings(demo_area)
    assert set(zip(found["check"], found["feature_id"], strict=True)) == set(
        zip(rows["problem"], rows["feature_id"], strict=True))
    gap = rows[rows["problem"] == "ROSTER_NO_COVER"]
    assert re.search(r"on (\d{4}-\d\d-\d\d)", gap["detail"].iloc[0]).group(1) == "2026-11-28"
    now = duty_of_grids(demo_area, demo_area.grids.index, DEMO_AS_OF)
    assert len(now) == len(demo_area.grids) and (now["kind"] == "duty").all()


def test_the_overdue_visits_are_the_planted_ones(demo_area, manifest) -> None:
    """The key customers short of a home visit and the complaints closed without a callback are the only
    visits overdue at the end of the demo year; each is on its member's list for the coming week."""
    from gridservice.metrics.visits import due_visits, visit_list

    short = manifest.loc[manifest["problem"] == "KEY_CUSTOMER_NOT_VISITED", "feature_id"]
    calls = manifest[manifest["problem"] == f"{VISIT}COMPLAINT_CALLBACK"]
    assert len(short) >= 1 and len(calls) == 2
    callers = calls["detail"].str.extract(r"customer (\S+)$")[0]
    expected = {(c, "home_norm") for c in short} | {(c, "complaint_callback") for c in callers}
    due = due_visits(demo_area, as_of=AS_OF)
    late = due[due["overdue"]]
    assert set(zip(late["customer_id"], late["reason"], strict=True)) == expected
    for order, customer in zip(calls["feature_id"], callers, strict=True):
        detail = late.loc[late["customer_id"] == customer, "detail"].iloc[0]
        assert order in detail
    week = visit_list(demo_area, horizon="week", as_of=AS_OF)
    listed = week[week["overdue"]]
    assert set(zip(listed["customer_id"], listed["reason"], strict=True)) == expected
    assert listed["day"].notna().all()
    k = kpis(demo_area, "2026-11", as_of=AS_OF)
    assert k["overdue_visits"].sum() == len(expected)


def test_the_seeded_warnings_history_has_an_escalated_red_warning(manifest, demo_gpkg) -> None:
    """The demo carries 2026-08 … 2026-10 judged month by month: each planted WARNING_ESCALATED is open, red,
    and its indicator crossed red in the two months before its escalation by the thresholds alone
    (:func:`evaluate`, a month at a time, with no history), and ``warnings list --open`` shows it escalated."""
    from gridservice.metrics.warnings import evaluate
    from gridservice.workspace import open_area

    rows = manifest[manifest["problem"] == "WARNING_ESCALATED"]
    assert len(rows) >= 1
    result = CliRunner().invoke(app, ["warnings", "list", "--data", str(demo_gpkg), "--open", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = {r["warning_id"]: r for r in json.loads(result.stdout)}
    area = open_area(str(demo_gpkg))
    reds = {m: evaluate(area, m) for m in ("2026-08", "2026-09", "2026-10")}
    for wid in rows["feature_id"]:
        w = listed[wid]
        assert w["severity"] == "red" and w["escalated"] and w["open"] and w["red_months"] >= 2
        start = w["red_since"]
        for m in (start, str(pd.Period(start, "M") + 1)):
            red = reds[m][reds[m]["severity"] == "red"]
            assert ((red["indicator"] == w["indicator"]) & (red["level"] == w["level"])
                    & (red["unit_id"] == w["unit_id"])).any(), (wid, m)
