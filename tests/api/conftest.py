"""Fixtures of the API tests: the small area in a GeoPackage and clients of it (see ``api_helpers``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import SETTINGS, small_frames
from fastapi.testclient import TestClient

import pg
from gridservice.api import create_app
from gridservice.io import GeoPackageStore, open_store


@pytest.fixture(scope="session")
def small_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test area in a GeoPackage (read-only: tests that write use ``small_copy``)."""
    path = tmp_path_factory.mktemp("api") / "small.gpkg"
    from gridservice.model import ServiceArea

    GeoPackageStore(path).write(ServiceArea(small_frames()).layers, create=True)
    return path


@pytest.fixture
def small_copy(small_gpkg: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the test area."""
    dst = tmp_path / "small.gpkg"
    shutil.copyfile(small_gpkg, dst)
    return dst


@pytest.fixture(params=["gpkg", "postgis"])
def small_data(request: pytest.FixtureRequest, small_copy: Path) -> str:
    """The test area, writable: its GeoPackage copy, or the same layers in a fresh PostGIS area."""
    if request.param == "gpkg":
        return str(small_copy)
    cluster: pg.Cluster = request.getfixturevalue("pg_cluster")
    test = f"{request.module.__name__.removeprefix('test_')}_{request.node.name}".lower()
    url = cluster.url(area="s_" + test.replace("[", "_").replace("]", "")[:55])
    open_store(url).write(GeoPackageStore(small_copy).read(), create=True)
    return url


@pytest.fixture(scope="module")
def client(small_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client of the test area shared by a module (a copy: logins and lookups write to its audit log)."""
    path = tmp_path_factory.mktemp("api-module") / "small.gpkg"
    shutil.copyfile(small_gpkg, path)
    with TestClient(create_app(str(path), settings=SETTINGS, web=False)) as c:
        yield c


@pytest.fixture
def write_client(small_copy: Path) -> Iterator[TestClient]:
    """A client of a private copy (for tests that write)."""
    with TestClient(create_app(str(small_copy), settings=SETTINGS, web=False)) as c:
        yield c


@pytest.fixture(scope="session")
def demo_data(demo_gpkg) -> str:
    """The faces read the demo from its GeoPackage only (the domain tests cover both stores)."""
    return str(demo_gpkg)
