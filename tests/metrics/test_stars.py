"""The service stars of week 2026-W12 (Mon 03-16 … Sun 03-22) worked out by hand on the five-customer area,
with three visits and two warnings added.

Grid members: ST2 (G1), ST6 (G1, G2), ST4 (G2).

* Orders closed in the week by a member: W8 (opinion, ST2, closed Mon 03-16, due Fri 03-20: on time). W4
  (complaint, closed 03-27) is the next week's; W5 (ST4) closed 03-10, the week before.
* Complaints received in the week: W4 (C2, grid G1) → ST2 1, ST6 1, ST4 0.
* Visits added: ST4 on 03-17 and 03-18, ST6 on 03-19 (and ST2's V3 of 02-15 is outside).
* Warnings: G2's SAIDI open since 03-01 → ST6 1, ST4 1; G1's cleared on 03-10 counts for nobody.

======  ======  ========  ======  ==========  ========  ==================================
member  orders  on time   visits  complaints  warnings  score = 2o + 0.1t + 3v − 5c − 10w
======  ======  ========  ======  ==========  ========  ==================================
ST2     1       100       0       1           0         2 + 10 + 0 − 5 − 0 = 7
ST4     0       –         2       0           1         0 + 0 + 6 − 0 − 10 = −4
ST6     0       –         1       1           1         0 + 0 + 3 − 5 − 10 = −12
======  ======  ========  ======  ==========  ========  ==================================
"""

from __future__ import annotations

import pandas as pd
import pytest

from gridservice.config import Rules
from gridservice.errors import DataError
from gridservice.metrics.stars import method, stars

TZ = "Asia/Shanghai"


def _week_area(tiny):
    visits = pd.concat([tiny.visits, pd.DataFrame({
        "staff_id": ["ST4", "ST4", "ST6"], "customer_id": ["C4", "C4", "C1"],
        "at": pd.to_datetime(["2026-03-17 10:00", "2026-03-18 10:00", "2026-03-19 10:00"]).tz_localize(TZ),
        "kind": ["home", "phone", "home"]}, index=pd.Index(["V7", "V8", "V9"], name="visit_id"))])
    t = pd.Timestamp
    warnings = pd.DataFrame({
        "indicator": ["saidi_min", "saidi_min"], "level": ["grid", "grid"], "unit_id": ["G2", "G1"],
        "period": ["2026-02", "2026-02"], "last_period": ["2026-02", "2026-02"], "severity": ["red", "yellow"],
        "raised_at": [t("2026-03-01 09:00", tz=TZ), t("2026-03-01 09:00", tz=TZ)],
        "cleared_at": [pd.NaT, t("2026-03-10 09:00", tz=TZ)],
    }, index=pd.Index(["WA", "WB"], name="warning_id"))
    return tiny.replace(visits=visits, warnings=warnings)


def test_the_week_s_ranking_by_hand(tiny) -> None:
    table = stars(_week_area(tiny), "2026-W12", rules=Rules(star_count=1))
    assert table["staff_id"].tolist() == ["ST2", "ST4", "ST6"]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["score"].tolist() == [7.0, -4.0, -12.0]
    assert table["orders_handled"].tolist() == [1, 0, 0]
    assert table["on_time_pct"].iloc[0] == 100.0 and table["on_time_pct"].iloc[1:].isna().all()
    assert table["visits"].tolist() == [0, 2, 1]
    assert table["complaints"].tolist() == [1, 0, 1]
    assert table["open_warnings"].tolist() == [0, 1, 1]
    assert table["grids"].tolist() == ["G1", "G2", "G1,G2"]
    assert table["star"].tolist() == [True, False, False]
    assert table.attrs["method"] == method(Rules())


def test_the_weights_are_rules_and_shown(tiny) -> None:
    rules = Rules(star_weights={"visits": 1.0, "open_warnings": -0.5})
    assert method(rules) == ("score = 0 × orders_handled + 0 × on_time_pct + 1 × visits + 0 × complaints "
                             "− 0.5 × open_warnings")
    table = stars(_week_area(tiny), "2026-W12", rules=rules)
    assert dict(zip(table["staff_id"], table["score"], strict=True)) == {"ST4": 1.5, "ST6": 0.5, "ST2": 0.0}
    with pytest.raises(DataError, match="weekly"):
        stars(tiny, "2026-03")
    with pytest.raises(DataError, match="unknown measure 'smiles'"):
        stars(tiny, "2026-W12", rules=Rules(star_weights={"smiles": 1.0}))
