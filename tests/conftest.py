"""Shared fixtures: a small demo territory, built once per test session.

Time is pinned (SPEC §7a): ``GRIDSERVICE_NOW`` freezes the clock of this
process and of every server or CLI it starts, a week after the demo's
``as_of``, so the suite never depends on today's date and always runs with
records written to a snapshot after its ``as_of``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import tiny_area
from gridservice.clock import FROZEN
from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea
from headless import chromium
from pinned import DEMO_AS_OF, NOW

DEMO_CUSTOMERS = 3000
DEMO_SEED = 0
os.environ[FROZEN] = NOW


@pytest.fixture(scope="session")
def demo_frames() -> dict:
    """The demo's frames (customers=3000, seed=0), straight from the generator."""
    from gridservice.demo import build_demo

    return build_demo(customers=DEMO_CUSTOMERS, seed=DEMO_SEED, as_of=DEMO_AS_OF)


@pytest.fixture(scope="session")
def demo_gpkg(demo_frames: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo written to a GeoPackage; tests that write must copy it first."""
    path = tmp_path_factory.mktemp("demo") / "nanfeng.gpkg"
    GeoPackageStore(path).write(demo_frames, create=True)
    return path


@pytest.fixture(scope="session")
def demo_area(demo_gpkg: Path) -> ServiceArea:
    """The demo loaded and derived, as the CLI and API see it (read-only: do not mutate)."""
    from gridservice.workspace import open_area

    return open_area(str(demo_gpkg))


@pytest.fixture
def demo_copy(demo_gpkg: Path, tmp_path: Path) -> Path:
    """A private copy of the demo GeoPackage a test may write to."""
    import shutil

    dst = tmp_path / "nanfeng.gpkg"
    shutil.copyfile(demo_gpkg, dst)
    return dst


# -- the hand-built five-customer area (events and metrics tests) --


@pytest.fixture
def tiny(tiny_shared):
    """The five-customer area, shared: derive variants with ``tiny.replace(...)``, never edit it in place."""
    return tiny_shared


@pytest.fixture(scope="session")
def as_of() -> pd.Timestamp:
    """When the tests judge SLA clocks: 2026-04-15 12:00 (Asia/Shanghai)."""
    return tiny_area.AS_OF


@pytest.fixture(scope="session")
def tiny_shared():
    """One five-customer area shared by a session's read-only tests: do not modify it.

    Derived as ``open_area`` derives a loaded area (every point layer's ``grid_id``); a
    variant that moves points is derived again: ``derive(tiny.replace(...))``."""
    from gridservice.workspace import derive

    return derive(tiny_area.build_tiny_area())


@pytest.fixture(scope="session")
def tiny_gpkg(tmp_path_factory) -> Path:
    """The five-customer area written to a GeoPackage once; tests that write must copy it."""
    from gridservice.io import GeoPackageStore

    path = tmp_path_factory.mktemp("tiny") / "tiny.gpkg"
    GeoPackageStore(path).write(tiny_area.build_tiny_area().layers, create=True)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian chromium under Playwright for the session (skips when it is absent)."""
    with chromium() as b:
        yield b
