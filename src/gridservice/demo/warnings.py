"""The demo's warnings history: the real :func:`~gridservice.metrics.warnings.update` run month by month.

The three full months before the demo's last one (November is still being
read at ``as_of``) are judged in order with the default thresholds, each
update stamped 09:00 on the 1st of the month after, as a supervisor would
run it. Every red warning still red in the next month is escalated (约谈);
the manifest lists the open escalated warnings still red as ``WARNING_ESCALATED``, named
after the ``escalated`` column of ``gridservice warnings list``. No random
draw is made, so the other frames stay as they were. The seeded updates have
no audit entries (the demo's audit log starts empty).
"""

from __future__ import annotations

import pandas as pd

from gridservice import schema
from gridservice.metrics.warnings import empty_warnings, update
from gridservice.model import ServiceArea
from gridservice.workspace import derive

#: How many months of warnings history the demo carries.
HISTORY_MONTHS = 3


def seed_warnings(frames: dict[str, pd.DataFrame], periods: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``warnings`` layer (key as a column, like the demo's other frames) and its manifest rows."""
    area = derive(ServiceArea({name: frames[name] for name in schema.LAYERS}))
    warnings = empty_warnings()
    for label in periods[-1 - HISTORY_MONTHS: -1]:
        at = (pd.Period(label, "M") + 1).to_timestamp().tz_localize(schema.TIMEZONE) + pd.Timedelta(hours=9)
        result = update(area, label, existing=warnings, at=min(at, area.as_of))
        warnings = pd.concat([warnings.drop(index=result.rows.index, errors="ignore"), result.rows])
    warnings = warnings.sort_index()
    hot = warnings[warnings["escalated_at"].notna() & warnings["cleared_at"].isna()
                   & (warnings["severity"] == "red").to_numpy()]
    planted = pd.DataFrame({
        "problem": "WARNING_ESCALATED", "layer": "warnings", "feature_id": hot.index.astype("str"),
        "detail": (hot["indicator"] + " " + hot["level"] + " " + hot["unit_id"] + ": red since "
                   + hot["red_since"].astype("str") + ", escalated " + hot["escalated_at"].dt.strftime("%Y-%m-%d")),
    }).astype("str")
    return warnings.reset_index(), planted
