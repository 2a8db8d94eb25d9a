"""Theft and metering suspects on the tiny area, worked out by hand.

Rules shortened to a 3-month baseline (2025-11 … 2026-01) and 2 recent months
(2026-02, 2026-03); the period is 2026-03.

====  ==========  ===========================  ======================================================
meter customer    kWh 11, 12, 01 | 02, 03      rules hit
====  ==========  ===========================  ======================================================
M1    C1 res. T1  100 100 100 | 100 100        flat (range 0 ≤ 1 % of 100)
M2    C2 res. T1  200 220 180 | 60 50          sudden_drop: level 200, ratios .30 .25; peers (M1 1, 1;
                                               M3 1, .967) medians 1 and .967 → .30, .259 < .5
M3    C3 res. T1  150 160 140 | 150 145        none (range 20 is 13 % of the mean 149)
M4    C4 com. T2  300 300 310 | 0 0.5          zero_use (level 300 ≥ 20, both ≤ 1) and sudden_drop
                                               (one commercial meter: no peers, ratios 0 and .0017)
M5    C5 ind. T2  250 260 255 | -40 400        reverse_energy; over_capacity: 0.5 kVA × 744 h = 372 < 400
====  ==========  ===========================  ======================================================

Both transformers are high-loss in 2026-03: T1 (400 − 295) / 400 = 26.25 %, T2 (500 − 400.5) / 500 = 19.9 %.
"""

from __future__ import annotations

import pandas as pd
import pytest

from gridservice.config import Rules
from gridservice.metrics.theft import RULES, anomalies, rule_precision, suspects
from tiny_area import theft_layers

SHORT = Rules(theft_baseline_months=3, theft_recent_months=2)
MONTHS = ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]


def _area(base, checks: pd.DataFrame | None = None):
    layers = theft_layers(base)
    if checks is not None:
        layers["meter_checks"] = checks
    return base.replace(**layers)


@pytest.fixture
def area(tiny):
    return _area(tiny)


def test_each_rule_hits_exactly_the_hand_worked_meters(area) -> None:
    flags = anomalies(area, "2026-03", rules=SHORT)
    hits = {rule: sorted(flags.index[flags[rule]]) for rule in RULES}
    assert hits == {"zero_use": ["M4"], "sudden_drop": ["M2", "M4"], "flat": ["M1"], "reverse_energy": ["M5"],
                    "over_capacity": ["M5"]}
    assert flags.loc["M2", "baseline_kwh"] == 200.0
    assert flags.loc["M2", "missing_kwh"] == 290.0  # 2 × 200 − (60 + 50)
    assert flags.attrs["months"] == MONTHS


def test_without_its_peers_drop_m2_would_still_drop_but_a_shared_drop_is_not_theft(area) -> None:
    # All three T1 residents halve: their peers halved too, so none of them is a sudden drop.
    energy = area.energy_readings.copy()
    recent = energy["device_id"].isin(["M1", "M3"]) & energy["period"].isin(["2026-02", "2026-03"])
    energy.loc[recent, "kwh"] = energy.loc[recent, "kwh"] * 0.3
    flags = anomalies(area.replace(energy_readings=energy), "2026-03", rules=SHORT)
    assert not flags.loc["M2", "sudden_drop"]
    # ... but with a 4-peer minimum the raw ratio counts and every T1 resident has dropped
    flags = anomalies(area.replace(energy_readings=energy), "2026-03",
                      rules=SHORT.model_copy(update={"theft_min_peers": 4}))
    assert sorted(flags.index[flags["sudden_drop"]]) == ["M1", "M2", "M3", "M4"]


def test_suspects_ranked_per_high_loss_transformer(area) -> None:
    table = suspects(area, "2026-03", rules=SHORT)
    got = list(zip(table["transformer_id"], table["rank"], table["meter_id"], table["rules"], table["score"],
                   strict=True))
    # equal scores: the larger energy missing against the meter's own level first (M2 290 vs M1 0,
    # M4 2 × 300 − 0.5 vs M5 2 × 255 − 360)
    assert got == [("T1", 1, "M2", "sudden_drop", 0.5), ("T1", 2, "M1", "flat", 0.5),
                   ("T2", 1, "M4", "zero_use,sudden_drop", 1.0), ("T2", 2, "M5", "reverse_energy,over_capacity", 1.0)]
    assert table.loc[0, "series"] == [200.0, 220.0, 180.0, 60.0, 50.0]
    assert table.loc[0, "staff_id"] == "ST3"  # T1's area manager
    assert table.loc[2, "loss_pct"] == pytest.approx(19.9)
    assert table.attrs["months"] == MONTHS
    assert list(suspects(area, "2026-03", rules=SHORT, staff_id="ST5")["meter_id"]) == ["M4", "M5"]
    assert list(suspects(area, "2026-03", rules=SHORT, transformer_id="T1")["meter_id"]) == ["M2", "M1"]


def test_a_transformer_without_high_loss_has_no_suspects(area) -> None:
    energy = area.energy_readings.copy()
    energy.loc[(energy["device_id"] == "T1") & (energy["period"] == "2026-03"), "kwh"] = 300.0  # loss 1.7 %
    table = suspects(area.replace(energy_readings=energy), "2026-03", rules=SHORT)
    assert list(table["transformer_id"].unique()) == ["T2"]


def test_field_check_outcomes_weight_the_rules(tiny) -> None:
    checks = pd.DataFrame({
        "check_id": ["K1", "K2", "K3", "K4"],
        "meter_id": ["M1", "M1", "M2", "M3"],
        "rules": ["flat", "flat", "sudden_drop", "flat"],
        "ordered_at": pd.to_datetime(["2026-01-05 09:00"] * 4).tz_localize("Asia/Shanghai"),
        "at": pd.to_datetime(["2026-01-06 09:00"] * 3 + [None]).tz_localize("Asia/Shanghai"),
        "outcome": ["no_fault", "no_fault", "theft", None],  # K4 not checked yet: not counted
    })
    area = _area(tiny, checks)
    precision = rule_precision(area)
    assert precision.loc["flat", "checked"] == 2
    assert precision.loc["flat", "precision"] == pytest.approx(1 / 4)  # (0 + 1) / (2 + 2)
    assert precision.loc["sudden_drop", "precision"] == pytest.approx(2 / 3)  # (1 + 1) / (1 + 2)
    assert precision.loc["zero_use", "precision"] == 0.5
    table = suspects(area, "2026-03", rules=SHORT).set_index("meter_id")
    assert table.loc["M4", "score"] == pytest.approx(0.5 + 0.667, abs=1e-3)
    assert table.loc["M1", "score"] == 0.25
    assert table.loc["M1", "rank"] == 2


def test_cli_suspects_and_precision(tmp_path, tiny, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from gridservice.cli import app
    from gridservice.config import get_settings
    from gridservice.io import GeoPackageStore

    path = tmp_path / "tiny.gpkg"
    GeoPackageStore(path).write({**tiny.layers, **theft_layers(tiny)}, create=True)
    monkeypatch.setenv("GRIDSERVICE_RULES__THEFT_BASELINE_MONTHS", "3")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        res = runner.invoke(app, ["theft", "suspects", "--data", str(path), "--period", "2026-03", "-f", "json"])
        assert res.exit_code == 0, res.output
        rows = json.loads(res.stdout)
        assert [(r["meter_id"], r["rank"], r["rules"]) for r in rows] == [
            ("M2", 1, "sudden_drop"), ("M1", 2, "flat"), ("M4", 1, "zero_use,sudden_drop"),
            ("M5", 2, "reverse_energy,over_capacity")]
        assert rows[3]["series"] == [250.0, 260.0, 255.0, -40.0, 400.0]
        res = runner.invoke(app, ["theft", "suspects", "--data", str(path), "-p", "2026-03", "--staff", "ST5",
                                  "-f", "csv"])
        assert res.exit_code == 0, res.output
        lines = res.stdout.splitlines()
        assert len(lines) == 3 and lines[1].startswith("T2,1,M4,") and lines[1].endswith(",300 300 310 0 0.5")
        res = runner.invoke(app, ["theft", "precision", "--data", str(path), "-f", "json"])
        assert [r["precision"] for r in json.loads(res.stdout)] == [0.5] * 5
        bad = runner.invoke(app, ["theft", "suspects", "--data", str(path), "-p", "2026-13"])
        assert bad.exit_code != 0 and "is not a month" in str(bad.exception) + bad.output
    finally:
        get_settings.cache_clear()
