"""The weekly service stars (服务之星) of the grid members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gridservice.api.deps import AreaDep, CurrentUser, RulesDep
from gridservice.api.geojson import records
from gridservice.metrics.period import latest_period
from gridservice.metrics.stars import MEASURES_ZH, stars

router = APIRouter(tags=["stars"])


@router.get("/stars")
def service_stars(
    area: AreaDep,
    user: CurrentUser,
    rules: RulesDep,
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$", description="ISO week YYYY-Www; default: the "
                                      "latest week with data", examples=["2026-W47"])] = None,
) -> dict[str, Any]:
    """Grid members ranked by the week's orders handled, on-time rate, visits, complaints and open warnings on
    their grids; ``method`` is the score's formula with the weights in force, ``weights`` the weights."""
    label = week or latest_period(area, unit="week").label
    table = area.cached(f"stars:{label}", ("work_orders", "visits", "warnings", "grid_staff", "staff"),
                        lambda: stars(area, label, rules=rules), lru=True)
    return {"week": label, "method": table.attrs["method"], "weights": dict(rules.star_weights),
            "star_count": rules.star_count, "measures_zh": MEASURES_ZH, "items": records(table, index=False)}
