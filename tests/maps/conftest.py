"""Fixtures of the map tests: the hand-built area of :mod:`mapdata`."""

from __future__ import annotations

import pandas as pd
import pytest
from mapdata import map_frames

from gridservice.model import ServiceArea
from gridservice.workspace import derive


@pytest.fixture(scope="session")
def map_area() -> ServiceArea:
    """The map-test area (read-only), derived as ``open_area`` derives a loaded one."""
    return derive(ServiceArea(map_frames()))


@pytest.fixture(scope="session")
def lineloss_frame() -> pd.DataFrame:
    """Line loss as :mod:`gridservice.metrics` returns it: T1 high, T2 negative."""
    return pd.DataFrame({"grid_id": ["G1", "G4"], "loss_pct": [14.2, -3.0], "class": ["high", "negative"],
                         "streak_months": [3, 1], "likely_cause_zh": ["窃电或无表用电", "户变关系错误"],
                         "likely_cause": ["theft or unmetered load", "wrong customer-transformer links"]},
                        index=pd.Index(["T1", "T2"], name="transformer_id"))


@pytest.fixture(scope="session")
def demo_data(demo_gpkg) -> str:
    """The faces read the demo from its GeoPackage only (the domain tests cover both stores)."""
    return str(demo_gpkg)
