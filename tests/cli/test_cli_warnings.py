"""``gridservice warnings update|list|clear`` on a copy of the demo (its seeded history ends with 2026-10)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gridservice.cli import app
from gridservice.errors import ConflictError, DataError
from gridservice.model import ServiceArea


def _run(*args: str) -> object:
    result = CliRunner().invoke(app, list(args))
    return result


def test_preview_commit_list_and_clear(demo_copy) -> None:
    data = ["--data", str(demo_copy)]
    before = ServiceArea.load(str(demo_copy)).warnings
    preview = _run("warnings", "update", *data, "--period", "2026-11", "--format", "json")
    assert preview.exit_code == 0, preview.output
    changes = json.loads(preview.stdout)
    assert changes and {c["change"] for c in changes} <= {"opened", "kept", "cleared", "escalated"}
    assert len(ServiceArea.load(str(demo_copy)).warnings) == len(before)  # a preview writes nothing

    done = _run("warnings", "update", *data, "--period", "2026-11", "--commit", "--user", "chen", "--format", "json")
    assert done.exit_code == 0, done.output
    after = ServiceArea.load(str(demo_copy))
    opened = [c["warning_id"] for c in changes if c["change"] == "opened"]
    assert set(opened) <= set(after.warnings.index) and len(after.warnings) == len(before) + len(opened)
    log = after.audit_log[after.audit_log["action"] == "warnings.update"]
    assert list(log["user"]) == ["chen"] and list(log["feature_id"]) == ["2026-11"]

    listed = _run("warnings", "list", *data, "--open", "--format", "json")
    rows = json.loads(listed.stdout)
    assert rows and all(r["open"] and r["last_period"] == "2026-11" for r in rows)
    grid = json.loads(_run("warnings", "list", *data, "--level", "grid", "--format", "json").stdout)
    assert grid and all(r["level"] == "grid" for r in grid)
    wid = rows[0]["warning_id"]
    cleared = _run("warnings", "clear", wid, "--note", "已整改", *data, "--user", "chen")
    assert cleared.exit_code == 0, cleared.output
    assert ServiceArea.load(str(demo_copy)).warnings.loc[wid, "cleared_by"] == "chen"
    again = _run("warnings", "clear", wid, "--note", "x", *data)
    assert isinstance(again.exception, ConflictError) and "already cleared" in str(again.exception)

    back = _run("warnings", "update", *data, "--period", "2026-09", "--commit")
    assert isinstance(back.exception, DataError) and "months go forward" in str(back.exception)
    week = _run("warnings", "update", *data, "--period", "2026-W40")
    assert isinstance(week.exception, DataError) and "per month" in str(week.exception)
