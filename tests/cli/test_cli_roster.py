"""``gridservice roster`` on the tiny area (its week is worked out in tests/events/test_roster.py)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea
from tiny_area import build_tiny_area


def test_make_commit_show_on_duty_and_check(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gpkg"
    GeoPackageStore(path).write(build_tiny_area().layers, create=True)
    run = CliRunner().invoke
    preview = run(app, ["roster", "make", "--data", str(path), "--station", "S1", "--from", "2026-03-02",
                        "--format", "json"])
    assert preview.exit_code == 0, preview.output
    assert len(json.loads(preview.stdout)) == 42 and len(ServiceArea.load(str(path)).shifts) == 0  # not stored
    made = run(app, ["roster", "make", "--data", str(path), "--station", "S1", "--from", "2026-03-02", "--commit",
                     "--user", "li"])
    assert made.exit_code == 0, made.output
    assert "stored 42 shifts of S1 (0 replaced)" in made.output
    stored = ServiceArea.load(str(path))
    assert len(stored.shifts) == 42 and stored.audit_log["user"].iloc[-1] == "li"
    who = run(app, ["roster", "on-duty", "--data", str(path), "--grid", "G2", "--at", "2026-03-05T21:00",
                    "--format", "json"])
    assert [(r["kind"], r["staff_id"]) for r in json.loads(who.stdout)] == [("duty", "ST4"), ("standby", "ST5"),
                                                                           ("station", None)]
    shown = run(app, ["roster", "show", "--data", str(path), "--station", "S1", "--from", "2026-03-05",
                      "--to", "2026-03-05", "--format", "json"])
    assert {r["staff_id"]: r["kind"] for r in json.loads(shown.stdout)}["ST6"] == "rest"
    assert run(app, ["roster", "check", "--data", str(path)]).exit_code == 0
    # ST2 on leave on Thursday: G1 without duty → exit 1 and the finding
    store = GeoPackageStore(path)
    shifts = stored.shifts.copy()
    shifts.loc["SH-ST2-20260305", "kind"] = "leave"
    store.upsert({"shifts": shifts.loc[["SH-ST2-20260305"]]})
    check = run(app, ["roster", "check", "--data", str(path), "--format", "json"])
    assert check.exit_code == 1
    assert [(r["check"], r["feature_id"], r["date"]) for r in json.loads(check.stdout)] == [
        ("ROSTER_NO_COVER", "G1", "2026-03-05")]
    bad = run(app, ["roster", "make", "--data", str(path), "--station", "S9", "--from", "2026-03-02"])
    assert bad.exit_code != 0 and "no station 'S9'" in str(bad.exception)  # main() prints it as one line
