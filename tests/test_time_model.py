"""The time model (SPEC §7a): one clock, a snapshot's ``as_of``, the default period.

The suite's clock is frozen at ``pinned.NOW`` (2026-12-07 10:00), a week after
the demo's ``as_of`` (2026-11-30 18:00): every test here runs in the situation
a real user met, with records written to a snapshot after its ``as_of``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gridservice import clock
from gridservice.cli import app
from gridservice.demo import build_demo
from gridservice.demo.events import Year
from gridservice.errors import DataError
from gridservice.metrics.audit import audit
from gridservice.metrics.period import latest_period
from gridservice.workspace import open_area
from pinned import DEMO_AS_OF, NOW

TZ = "Asia/Shanghai"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


# -- the clock -------------------------------------------------------------------------


def test_the_suite_runs_on_the_pinned_clock() -> None:
    assert clock.now() == pd.Timestamp(NOW).tz_convert(TZ)


def test_frozen_clock_reads_naive_times_as_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.FROZEN, "2027-01-05 08:30")
    assert clock.now() == pd.Timestamp("2027-01-05 00:30", tz="UTC")
    assert str(clock.now().tz) == TZ


def test_a_bad_frozen_clock_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.FROZEN, "next tuesday")
    with pytest.raises(DataError, match="GRIDSERVICE_NOW"):
        clock.now()


def test_unfrozen_clock_is_the_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.FROZEN)
    before = pd.Timestamp.now(tz=TZ).floor("ms")
    now = clock.now()
    assert before <= now <= pd.Timestamp.now(tz=TZ)
    assert str(now.tz) == TZ


# -- the demo's year ends at its as_of ----------------------------------------------------


@pytest.mark.parametrize(
    ("now", "first", "last", "days", "share"),
    [
        # 2025-12-01 … 2026-11-30: 365 days, the last month whole
        ("2026-11-30T18:00", "2025-12", "2026-11", 365, 1.0),
        # 2026-01-01 … 2026-12-07: 31+28+31+30+31+30+31+31+30+31+30 = 334, + 7 = 341; 7 of 31 days of December
        ("2026-12-07T10:00", "2026-01", "2026-12", 341, 7 / 31),
        # midnight ends the day before: the year is the one that ends on 2026-11-30
        ("2026-12-01T00:00", "2025-12", "2026-11", 365, 1.0),
        # a leap February: 2027-03-01 … 2028-02-29
        ("2028-02-29T12:00", "2027-03", "2028-02", 366, 1.0),
    ],
)
def test_year_ending(now: str, first: str, last: str, days: int, share: float) -> None:
    year = Year.ending(np.datetime64(now, "s"))
    assert year.periods[0] == first and year.periods[-1] == last and len(year.periods) == 12
    assert year.n_days == days
    assert year.last_month_share == pytest.approx(share)
    assert year.t0 == np.datetime64(f"{first}-01T00:00:00")


def test_the_demo_ends_at_the_month_it_is_built_in() -> None:
    """Built on the pinned clock (the default as_of): its twelve months end in December 2026."""
    frames = build_demo(customers=3000, seed=3)
    as_of = pd.Timestamp(NOW).tz_convert(TZ)
    assert frames["service_area"]["as_of"].iloc[0] == as_of
    periods = sorted(frames["energy_readings"]["period"].unique())
    assert periods[0] == "2026-01" and periods[-1] == "2026-12" and len(periods) == 12
    received = frames["work_orders"]["received_at"]
    assert received.max() <= as_of and received.min() >= pd.Timestamp("2026-01-01", tz=TZ)
    assert (received >= pd.Timestamp("2026-12-01", tz=TZ)).any()  # the current month has orders
    stages = frames["work_orders"][["dispatched_at", "arrived_at", "resolved_at", "replied_at", "closed_at"]]
    assert (stages.max() <= as_of).all()
    assert (frames["outages"]["start_at"] <= as_of).all()
    # December's readings cover 7 of its 31 days: about 7/31 of November's (seasons differ by < 20 %)
    sales = frames["energy_readings"].groupby("period")["kwh"].sum()
    assert 0.15 < sales["2026-12"] / sales["2026-11"] < 0.30


def test_the_demo_is_deterministic_for_a_seed_and_date() -> None:
    a = build_demo(customers=150, seed=4, as_of="2025-06-15T09:00")
    b = build_demo(customers=150, seed=4, as_of="2025-06-15T09:00")
    c = build_demo(customers=150, seed=4, as_of="2025-07-15T09:00")
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    assert sorted(a["energy_readings"]["period"].unique())[-1] == "2025-06"
    assert not a["work_orders"]["received_at"].equals(c["work_orders"]["received_at"])


def test_demo_cli_takes_as_of(tmp_path) -> None:
    out = tmp_path / "d.gpkg"
    result = run("demo", "--out", str(out), "--customers", "150", "--as-of", "2025-06-15T09:00")
    assert result.exit_code == 0, result.output
    area = open_area(str(out))
    assert area.as_of == pd.Timestamp("2025-06-15 09:00", tz=TZ)
    bad = run("demo", "--out", str(tmp_path / "e.gpkg"), "--customers", "150", "--as-of", "soon")
    assert isinstance(bad.exception, DataError) and "as_of 'soon' is not a timestamp" in str(bad.exception)
    assert not (tmp_path / "e.gpkg").exists()


# -- a snapshot stays valid and full after new writes ----------------------------------------


@pytest.fixture
def written(demo_copy):
    """The demo copy with a work order written today (the pinned clock, a week after its as_of)."""
    customer = open_area(str(demo_copy)).customers.index[0]
    result = run("orders", "create", "--data", str(demo_copy), "--kind", "complaint", "--customer", str(customer),
                 "--user", "tester")
    assert result.exit_code == 0, result.output
    return demo_copy


def test_a_write_after_as_of_is_not_an_error(written) -> None:
    area = open_area(str(written))
    assert area.as_of == pd.Timestamp(DEMO_AS_OF).tz_convert(TZ)
    assert area.work_orders["received_at"].max() == clock.now()
    assert audit(area, rule_ids=["WO_FUTURE_TIME"]).empty
    result = run("validate", "--data", str(written), "--format", "json")
    assert "WO_FUTURE_TIME" not in result.output


def test_a_time_after_the_clock_is_still_an_error(written) -> None:
    area = open_area(str(written))
    wo = area.work_orders.copy()
    wo.iloc[-1, wo.columns.get_loc("received_at")] = clock.now() + pd.Timedelta(hours=2)
    found = audit(area.replace(work_orders=wo), rule_ids=["WO_FUTURE_TIME"])
    assert found["feature_id"].tolist() == [wo.index[-1]]
    assert "2026-12-07 12:00" in found["message"].iloc[0]


def test_default_period_is_the_snapshots_last_month(written) -> None:
    area = open_area(str(written))
    assert latest_period(area).label == "2026-11"
    assert latest_period(area, unit="week").label == "2026-W49"  # Monday 2026-11-30
    result = run("kpi", "--data", str(written), "--by", "area", "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    assert row["work_orders"] > 0 and row["saidi_min"] > 0  # a full month, not an empty December


def test_live_data_opens_on_its_latest_month_not_the_calendar_month(demo_area) -> None:
    """Without an as_of the data is live: judged at the clock (December), opened on November, the latest with data."""
    live = demo_area.replace(service_area=demo_area.service_area.drop(columns="as_of"))
    assert live.as_of == clock.now()
    assert latest_period(live).label == "2026-11"


def test_the_default_period_never_passes_the_snapshot(demo_area) -> None:
    """Readings or events later than as_of (imported ahead of time) do not pick the default."""
    readings = demo_area.energy_readings
    ahead = readings.iloc[:1].assign(period="2027-01")
    ahead.index = ["ahead"]
    area = demo_area.replace(energy_readings=pd.concat([readings, ahead]))
    assert latest_period(area).label == "2026-11"


def test_verbs_a_year_ahead(written) -> None:
    """With the clock a year ahead the snapshot still opens on its last month and still validates."""
    env = {**os.environ, clock.FROZEN: "2027-12-07T10:00:00+08:00"}
    out = subprocess.run([sys.executable, "-m", "gridservice", "kpi", "--data", str(written), "--by", "area",
                          "--format", "json"], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["work_orders"] > 0
    val = subprocess.run([sys.executable, "-m", "gridservice", "validate", "--data", str(written), "--format",
                          "json"], capture_output=True, text=True, env=env, check=False)
    assert "WO_FUTURE_TIME" not in val.stdout


def test_map_titles_name_the_latest_month(written, tmp_path) -> None:
    out = tmp_path / "coverage.html"
    result = run("map", "coverage", "--data", str(written), "--out", str(out), "--basemap", "none")
    assert result.exit_code == 0, result.output
    assert "2026-11" in out.read_text(encoding="utf-8")
    shutil.rmtree(tmp_path, ignore_errors=True)
