"""Importing the ``shifts`` layer from a CSV: from the declaration alone, with one clear error per bad row."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridservice.errors import DataError
from gridservice.io import GeoPackageStore
from gridservice.io.importer import import_layer
from gridservice.model import ServiceArea
from tiny_area import build_tiny_area

HEADER = "shift_id,staff_id,date,kind\n"


@pytest.fixture
def store(tmp_path: Path) -> GeoPackageStore:
    s = GeoPackageStore(tmp_path / "tiny.gpkg")
    s.write(build_tiny_area().layers, create=True)
    return s


def _csv(tmp_path: Path, name: str, rows: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_shifts_import_and_a_second_shift_for_the_same_day_is_refused(store, tmp_path) -> None:
    first = _csv(tmp_path, "week.csv", "A1,ST1,2026-03-02,duty\nA2,ST2,2026-03-02,rest\n")
    assert import_layer(store, "shifts", first).rows == 2
    area = ServiceArea.load(store)
    assert area.shifts.loc["A1", "kind"] == "duty" and (area.audit_log["layer"] == "shifts").sum() == 1
    again = _csv(tmp_path, "again.csv", "B1,ST1,2026-03-02,standby\n")
    with pytest.raises(DataError, match=r"again\.csv: 1 row\(s\) repeat \(staff_id, date\).*ST1"):
        import_layer(store, "shifts", again)


@pytest.mark.parametrize(("rows", "message"), [
    ("A1,ST9,2026-03-02,duty\n", r"staff_id.*unknown staff.*ST9"),
    ("A1,ST1,2026-03-02,nap\n", r"'kind' must be one of duty/standby/rest/leave — row 2: 'nap'"),
    ("A1,ST1,2026-03-02,duty\nA2,ST1,2026-03-02,rest\n", r"'staff_id' repeats \(staff_id, date\) — row 3: 'ST1'"),
    ("A1,ST1,2026-3-2,duty\n", r"'date' must be a date YYYY-MM-DD — row 2: '2026-3-2'"),
])
def test_bad_rows_are_named(store, tmp_path, rows, message) -> None:
    with pytest.raises(DataError, match=message):
        import_layer(store, "shifts", _csv(tmp_path, "bad.csv", rows))
    assert "shifts" not in store.layers() or not len(store.read_layer("shifts"))


def test_validate_reports_shifts_edited_outside_gridservice() -> None:
    """Rows a GIS edit left behind (another shift for the same day, an unknown member) are findings."""
    import pandas as pd

    from gridservice.model import check_integrity

    area = build_tiny_area()
    bad = pd.DataFrame({"shift_id": ["A1", "A2", "A3"], "staff_id": ["ST1", "ST1", "ST9"],
                        "date": ["2026-03-02", "2026-03-02", "2026-03-02"], "kind": ["duty", "rest", "duty"]})
    found = check_integrity(area.replace(shifts=bad.set_index("shift_id")))
    mine = found[found["layer"] == "shifts"]
    assert set(mine["check"]) == {"schema", "unknown_parent"}
    assert "repeats (staff_id, date)" in mine.loc[mine["check"] == "schema", "message"].iloc[0]
    assert mine.loc[mine["check"] == "unknown_parent", "feature_id"].tolist() == ["A3"]
