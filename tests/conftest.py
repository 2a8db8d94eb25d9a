"""Shared fixtures: a small demo territory, built once per test session.

Time is pinned (SPEC §7a): ``GRIDSERVICE_NOW`` freezes the clock of this
process and of every server or CLI it starts, a week after the demo's
``as_of``, so the suite never depends on today's date and always runs with
records written to a snapshot after its ``as_of``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import pg
import tiny_area
from gridservice.clock import FROZEN
from gridservice.io import GeoPackageStore, open_store
from gridservice.model import ServiceArea
from headless import chromium
from pinned import DEMO_AS_OF, NOW

DEMO_CUSTOMERS = 3000
DEMO_SEED = 0
os.environ[FROZEN] = NOW
# derived state saved between starts (the search index) goes to a folder of this session, not the user's cache
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="gridservice-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)


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
def pg_cluster() -> Iterator[pg.Cluster]:
    """A throwaway PostgreSQL + PostGIS cluster for the session (skipped only when the binaries are absent)."""
    if pg.bindir() is None:
        pytest.skip("PostgreSQL 15 with PostGIS is not installed: scripts/install-test-deps installs it")
    with pg.cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def demo_pg(demo_frames: dict, pg_cluster: pg.Cluster) -> str:
    """The demo in PostGIS (database ``demo``, area ``nanfeng``), written once (tests that write: ``demo_pg_copy``)."""
    pg_cluster.create_database("demo")
    url = pg_cluster.url("demo", "nanfeng")
    open_store(url).write(demo_frames, create=True)
    return url


@pytest.fixture
def demo_pg_copy(demo_pg: str, pg_cluster: pg.Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A private copy of the PostGIS demo (a database cloned from it) a test may write to."""
    db = f"t{abs(hash(request.node.nodeid)) % 10**12}"
    pg_cluster.sql(f'CREATE DATABASE "{db}" TEMPLATE demo OWNER gridservice')
    yield pg_cluster.url(db, "nanfeng")
    pg_cluster.sql(f'DROP DATABASE "{db}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["gpkg", "postgis"])
def demo_data(request: pytest.FixtureRequest) -> str:
    """Where the demo is: its GeoPackage, then its PostGIS schema (domain tests run on both stores)."""
    return str(request.getfixturevalue("demo_gpkg" if request.param == "gpkg" else "demo_pg"))


@pytest.fixture(scope="session")
def demo_area(demo_data: str) -> ServiceArea:
    """The demo loaded and derived from each store, as the CLI and API see it (read-only: do not mutate)."""
    from gridservice.workspace import open_area

    return open_area(demo_data)


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
