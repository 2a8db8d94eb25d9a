"""The weekly 业扩 monitor on the tiny area's fourteen applications, worked out by hand.

Week 2026-W16 (Mon 04-13 … Sun 04-19), judged at AS_OF = Wed 2026-04-15 12:00.
Qingming 2026: Sat 04-04 … Mon 04-06 off. Limits: low residential 5, low
non-residential 6, low small/micro 15 working days to connection; high single
supply 15 to the plan reply, dual 30; the day a clock starts is not counted.

=====  ==========================================================  =========================
app    what happened                                               flag (grid, handler)
=====  ==========================================================  =========================
A1     low res., accepted Thu 04-09, connected Tue 04-14 (due 04-16) none
A2     low non-res., accepted Mon 03-30, due end of 04-08 (03-31,  over_time (G2, ST5)
       04-01, 02, 03, 07, 08), connected 04-15
A3     low small/micro at a point in G1, accepted Fri 03-20, due    over_time, open (G1, ST2)
       end of 04-13 (15th working day), still open at AS_OF
A4     low res., accepted Mon 04-13, due 04-20                      none
A5     low res. (C3, located in G2), accepted Wed 04-08, due end of due_soon (G2, ST4)
       04-15 (04-09, 10, 13, 14, 15); one working day left
A6     low res., connected 20 min after acceptance (< 60 min)       short_time (G1, ST3)
A7     high single, plan replied Sat 03-28                          non_working_day (G2, ST1)
A8     high small/micro, 80 kVA in rural G2 (≤ 100), ST6 did every  one_person and
       step                                                         small_micro_high_voltage
A9     high small/micro, 120 kVA in rural G2 (> 100)                none
A10    connected 04-13 15:00, before its acceptance 04-14 10:00     time_order (G1, ST2)
A11    connection dated 2027-01-05, after the clock's now           future_time (G2, ST5)
A12    one-person order finished in February: not live in W16       none
A13    cancelled in March                                           none
A14    high dual supply, plan replied 04-13 = 29th working day      none (single supply: late)
       after 03-02 (dual limit 30; a single one's 15 ended 03-23)
=====  ==========================================================  =========================
"""

from __future__ import annotations

import pandas as pd
import pytest

from gridservice.config import Rules
from gridservice.errors import DataError
from gridservice.metrics.applications import audit_sample, monitor, monitor_summary
from gridservice.spatial.locate import derive_grids
from tiny_area import AS_OF, TZ, build_tiny_area

EXPECTED = [
    ("A10", "time_order", "connected", "ST2", "G1"),
    ("A11", "future_time", "connected", "ST5", "G2"),
    ("A2", "over_time", "connected", "ST5", "G2"),
    ("A3", "over_time", "connected", "ST2", "G1"),
    ("A5", "due_soon", "connected", "ST4", "G2"),
    ("A6", "short_time", "connected", "ST3", "G1"),
    ("A7", "non_working_day", "plan_replied", "ST1", "G2"),
    ("A8", "one_person", None, "ST6", "G2"),
    ("A8", "small_micro_high_voltage", None, "ST6", "G2"),
]


@pytest.fixture(scope="module")
def area():
    return derive_grids(build_tiny_area())


@pytest.fixture(scope="module")
def flags(area) -> pd.DataFrame:
    return monitor(area, "2026-W16", as_of=AS_OF)


def test_monitor_flags_exactly_the_hand_worked_rows(flags: pd.DataFrame) -> None:
    got = [(r.application_id, r.flag, r.step if isinstance(r.step, str) else None, r.staff_id, r.grid_id)
           for r in flags.itertuples()]  # a missing step: None or NaN, by pandas version
    assert got == EXPECTED
    assert set(flags["station_id"]) == {"S1"}


def test_due_times_follow_the_working_day_calendar(flags: pd.DataFrame) -> None:
    due = flags.set_index(["application_id", "flag"])["due_at"]
    assert due[("A2", "over_time")] == pd.Timestamp("2026-04-08 23:59:59", tz=TZ)
    assert due[("A3", "over_time")] == pd.Timestamp("2026-04-13 23:59:59", tz=TZ)
    assert due[("A5", "due_soon")] == pd.Timestamp("2026-04-15 23:59:59", tz=TZ)
    a3 = flags[flags["application_id"] == "A3"].iloc[0]
    assert pd.isna(a3["at"]) and "至今未办" in a3["detail"]


def test_a_day_later_the_due_soon_step_is_late(area) -> None:
    later = monitor(area, "2026-W16", as_of=pd.Timestamp("2026-04-16 09:00", tz=TZ))
    a5 = later[later["application_id"] == "A5"]
    assert list(a5["flag"]) == ["over_time"]
    # A4 (due 04-20) has 04-17 and 04-20 left: two working days, more than the one-day margin.
    assert "A4" not in set(later["application_id"])


def test_single_supply_limits_would_make_the_dual_supply_reply_late(area) -> None:
    single = area.replace(applications=area.applications.assign(dual_supply=False))
    late = monitor(single, "2026-W16", as_of=AS_OF)
    a14 = late[late["application_id"] == "A14"]
    assert list(a14["flag"]) == ["over_time"]
    assert a14["due_at"].iloc[0] == pd.Timestamp("2026-03-23 23:59:59", tz=TZ)


def test_rules_move_the_thresholds(area) -> None:
    rules = Rules(small_micro_low_voltage_max_kva={"urban": 160.0, "rural": 160.0, "remote": 160.0},
                  application_min_step_minutes={"connected": 15.0})
    got = monitor(area, "2026-W16", as_of=AS_OF, rules=rules)
    small = set(got.loc[got["flag"] == "small_micro_high_voltage", "application_id"])
    assert small == {"A8", "A9"}  # 120 kVA is within 160
    assert "short_time" not in set(got["flag"])  # 20 minutes ≥ 15


def test_an_earlier_week_sees_other_applications(area) -> None:
    # W06 (02-02 … 02-08): only A12, finished by ST2 alone.
    got = monitor(area, "2026-W06", as_of=AS_OF)
    assert list(zip(got["application_id"], got["flag"], strict=True)) == [("A12", "one_person")]


def test_summary_per_grid_and_handler(area, flags: pd.DataFrame) -> None:
    grid = monitor_summary(area, flags, by="grid")
    assert grid.loc["G1", ["applications_flagged", "over_time", "short_time", "time_order", "total"]].tolist() == [
        3, 1, 1, 1, 3]
    assert grid.loc["G2", ["applications_flagged", "over_time", "due_soon", "total"]].tolist() == [5, 1, 1, 6]
    handler = monitor_summary(area, flags, by="handler")
    assert handler.loc["ST6", ["name", "one_person", "small_micro_high_voltage", "total"]].tolist() == [
        "杨帆", 1, 1, 2]
    assert handler["total"].sum() == len(EXPECTED)
    county = monitor_summary(area, flags, by="county")
    assert county["total"].tolist() == [9] and county["applications_flagged"].tolist() == [8]
    with pytest.raises(DataError, match="by 'feeder'"):
        monitor_summary(area, flags, by="feeder")


def test_audit_sample_is_reproducible_and_sized(area) -> None:
    # April: high-voltage applications accepted in the month are A8 and A9 (30 % of 2 → 1);
    # in progress at AS_OF: A3, A4, A5, A9, A11 (dated later), A14 (40 % of 6 → 3).
    drawn = audit_sample(area, "2026-04", as_of=AS_OF)
    audit = drawn[drawn["purpose"] == "audit"]
    callback = drawn[drawn["purpose"] == "callback"]
    assert len(audit) == 1 and set(audit.index) <= {"A8", "A9"}
    assert len(callback) == 3 and set(callback.index) <= {"A3", "A4", "A5", "A9", "A11", "A14"}
    again = audit_sample(area, "2026-04", as_of=AS_OF)
    pd.testing.assert_frame_equal(drawn, again)
    shuffled = area.replace(applications=area.applications.iloc[::-1])
    assert list(audit_sample(shuffled, "2026-04", as_of=AS_OF).index) == list(drawn.index)


def test_cli_monitor_and_sample(tmp_path, area) -> None:
    import json

    from typer.testing import CliRunner

    from gridservice.cli import app
    from gridservice.io import GeoPackageStore

    path = tmp_path / "tiny.gpkg"
    GeoPackageStore(path).write(build_tiny_area().layers, create=True)
    runner = CliRunner()
    common = ["--data", str(path), "--as-of", "2026-04-15 12:00"]
    res = runner.invoke(app, ["applications", "monitor", *common, "--period", "2026-W16", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["application_id"], r["flag"]) for r in rows] == [(a, f) for a, f, *_ in EXPECTED]
    res = runner.invoke(app, ["applications", "monitor", *common, "--period", "2026-W16", "--by", "grid", "-f", "csv"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("grid_id,applications_flagged,over_time,due_soon")
    assert lines[1].startswith("G2,5,1,1,") and lines[2].startswith("G1,3,1,0,")
    res = runner.invoke(app, ["applications", "sample", *common, "--period", "2026-04", "-f", "json"])
    assert res.exit_code == 0, res.output
    assert sorted(r["purpose"] for r in json.loads(res.stdout)) == ["audit", "callback", "callback", "callback"]
    bad = runner.invoke(app, ["applications", "monitor", *common, "--period", "2026-W99"])
    assert bad.exit_code != 0 and "is not an ISO week" in str(bad.exception)
