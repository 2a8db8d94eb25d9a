"""The in-memory service area: helpers of :mod:`gridservice.model`."""

from __future__ import annotations

import pytest
import shapely
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from gridservice.model import utm_crs


@pytest.mark.parametrize(("lon", "lat"), [(116.5, 27.2), (-73.9, 40.7), (151.2, -33.9), (-0.1, 51.5), (2.0, -1.0)])
def test_utm_crs_is_the_zone_pyproj_names(lon: float, lat: float) -> None:
    """Checked against pyproj's own UTM zone lookup (WGS 84, northern 326xx / southern 327xx)."""
    [zone] = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    assert utm_crs(shapely.Point(lon, lat)) == f"{zone.auth_name}:{zone.code}"


def test_utm_crs_uses_the_centroid() -> None:
    # A box from 113.5° to 119.5° E straddles zones 49 and 50; its centroid (116.5° E) lies in 50.
    assert utm_crs(shapely.box(113.5, 26.0, 119.5, 28.0)) == "EPSG:32650"
