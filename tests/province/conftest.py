"""The province tests' counties: Nanfeng and its two nearest neighbours, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridservice.demo import build_demo, province_counties
from gridservice.io import GeoPackageStore
from pinned import DEMO_AS_OF

CUSTOMERS = 1500
COUNTIES = 3


@pytest.fixture(scope="session")
def province_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nanfeng and its two nearest neighbours, 1,500 customers each (read-only)."""
    out = tmp_path_factory.mktemp("province")
    for county in province_counties(COUNTIES):
        frames = build_demo(customers=CUSTOMERS, seed=county.seed, as_of=DEMO_AS_OF, county=county)
        GeoPackageStore(out / f"{county.slug}.gpkg").write(frames, create=True)
    return out
