"""The demo's duty rosters: every station's 6+1 roster for the weeks around ``as_of``, with two planted
problems (a grid left without duty on one day, a member who works seven days in a week).

The rosters come from the domain's generator (:func:`gridservice.events.roster.roster_frames`), so they are
deterministic; the planted problems are picked by rule, not drawn, so the demo's random streams are untouched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridservice.events.roster import NO_COVER, OVER_SIX, roster_frames, roster_gaps
from gridservice.model import ServiceArea

#: Weeks of roster before the week of ``as_of``, and after it.
WEEKS_BEFORE, WEEKS_AFTER = 4, 1


def demo_shifts(layers: dict[str, pd.DataFrame], now: np.datetime64) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``shifts`` frame (key as a column) and the manifest rows of its planted problems.

    ``now`` is the demo's present, local time. The gap is planted two days before it, on the first grid
    (by id) whose duty that day can go on leave without uncovering another grid; the seven-day week is the
    week before ``now``'s, for the first grid member (by id) of another grid, who works his rest day.
    """
    staff = layers["staff"].set_index("staff_id")
    grids = layers["grids"].set_index("grid_id")
    gs = layers["grid_staff"]
    today = pd.Timestamp(np.datetime64(now, "D"))
    first = today - pd.Timedelta(days=int(today.day_of_week) + 7 * WEEKS_BEFORE)
    days = 7 * (WEEKS_BEFORE + 1 + WEEKS_AFTER)
    stations = sorted(set(grids["station_id"].astype("str")))
    parts = [roster_frames(staff, gs, grids, s, first, days) for s in stations
             if staff["station_id"].astype("str").eq(s).any()]
    shifts = pd.concat(parts).sort_index()
    area = ServiceArea({"staff": layers["staff"], "grids": layers["grids"], "grid_staff": gs, "shifts": shifts})
    rows = []

    gap_day = f"{today - pd.Timedelta(days=2):%Y-%m-%d}"
    on_day = shifts[(shifts["date"] == gap_day).to_numpy()]
    gap_grid = None
    for grid in sorted(grids.index.astype("str")):
        linked = set(gs.loc[gs["grid_id"] == grid, "staff_id"].astype("str"))
        off = on_day.index[(on_day["kind"] == "duty").to_numpy() & on_day["staff_id"].isin(linked).to_numpy()]
        trial = shifts.copy()
        trial.loc[off, "kind"] = "leave"
        found = roster_gaps(area.replace(shifts=trial), start=gap_day, end=gap_day)
        if found["grid_id"].tolist() == [grid]:
            shifts, gap_grid = trial, grid
            who = ", ".join(sorted(on_day.loc[off, "staff_id"].astype("str")))
            rows.append((NO_COVER, "grids", grid, f"nobody on duty on {gap_day}: {who} on leave, "
                                                   f"{int(found['standby'].iloc[0])} on standby"))
            break

    week = today - pd.Timedelta(days=int(today.day_of_week) + 7)
    week_days = {f"{week + pd.Timedelta(days=d):%Y-%m-%d}" for d in range(7)}
    members = gs[(gs["role"] == "grid_member").to_numpy() & (gs["grid_id"] != gap_grid).to_numpy()]
    member = sorted(members["staff_id"].astype("str"))[0] if len(members) else None
    if member is not None:
        rest = shifts.index[(shifts["staff_id"] == member).to_numpy() & shifts["date"].isin(week_days).to_numpy()
                            & (shifts["kind"] == "rest").to_numpy()]
        shifts.loc[rest, "kind"] = "duty"
        rows.append((OVER_SIX, "staff", member, f"works 7 days in the week of {week:%Y-%m-%d}: "
                                                f"the rest day {shifts.loc[rest, 'date'].iloc[0]} worked"))
    manifest = pd.DataFrame(rows, columns=["problem", "layer", "feature_id", "detail"]).astype("str")
    return shifts.reset_index(), manifest
