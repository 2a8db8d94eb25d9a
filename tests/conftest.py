"""Shared fixtures: a small demo territory, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea

DEMO_CUSTOMERS = 3000
DEMO_SEED = 0


@pytest.fixture(scope="session")
def demo_frames() -> dict:
    """The demo's frames (customers=3000, seed=0), straight from the generator."""
    from gridservice.demo import build_demo

    return build_demo(customers=DEMO_CUSTOMERS, seed=DEMO_SEED)


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
