"""Maps as HTML pages (coverage, operations, line loss), with their assets served locally."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from gridservice.api.deps import AreaDep, CurrentUser, SettingsDep
from gridservice.errors import DataError
from gridservice.maps import ASSET_URL_PREFIX, BASEMAPS, build_map, map_html

router = APIRouter(prefix="/maps", tags=["maps"])


@router.get("/{kind}", response_class=HTMLResponse)
def html_map(
    kind: Literal["coverage", "operations", "lineloss"],
    area: AreaDep,
    user: CurrentUser,
    settings: SettingsDep,
    metric: Annotated[str | None, Query(description="KPI to colour grids by (coverage), 'none' for outlines")] = None,
    period: Annotated[str | None, Query(description="Month YYYY-MM (default: the latest with data)")] = None,
    basemap: Annotated[str | None, Query(description="local, none, osm, gcj02 or the server's configured basemap "
                                                     "(default: the configured one)")] = None,
    lang: Annotated[Literal["zh", "en"], Query()] = "zh",
) -> HTMLResponse:
    """A map page; scripts and styles load from this server (no internet needed)."""
    configured = settings.basemap
    # Any URL would make the page fetch tiles from anywhere and cache a page per URL; a file is the
    # server's setting (the default), never named by a client.
    allowed = ["local", "none", *BASEMAPS]
    if not configured.strip().lower().endswith(".mbtiles"):
        allowed.append(configured)
    if basemap is not None and basemap not in allowed:
        msg = f"basemap {basemap!r}: use one of {', '.join(dict.fromkeys(allowed))} (or leave it out)"
        raise DataError(msg)
    options: dict[str, object] = {"period": period, "basemap": configured if basemap is None else basemap,
                                  "lang": lang}
    if metric is not None:
        options["metric"] = None if metric.lower() == "none" else metric
    if kind == "coverage":  # the map with audit findings
        options["masked"] = not user.sees_personal_data
    key = f"map:{kind}:{sorted(options.items())}"
    page = area.cached(key, tuple(area.layers),
                       lambda: map_html(build_map(kind, area, rules=settings.rules, **options), inline=False,
                                        prefix=ASSET_URL_PREFIX),
                       lru=True)
    return HTMLResponse(page)
