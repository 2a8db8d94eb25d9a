"""Fixtures of the events tests: the hand-built five-customer area (see ``tiny_area.py``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest


def _load_tiny():
    name = "gridservice_tests_tiny_area"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "metrics" / "tiny_area.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def tiny(tiny_shared):
    """The five-customer area, shared: derive variants with ``tiny.replace(...)``, never edit it in place."""
    return tiny_shared


@pytest.fixture(scope="session")
def as_of() -> pd.Timestamp:
    """When the tests judge SLA clocks: 2026-04-15 12:00 (Asia/Shanghai)."""
    return _load_tiny().AS_OF


@pytest.fixture(scope="session")
def tiny_shared():
    """One five-customer area shared by a session's read-only tests: do not modify it."""
    return _load_tiny().build_tiny_area()


@pytest.fixture(scope="session")
def tiny_gpkg(tmp_path_factory) -> Path:
    """The five-customer area written to a GeoPackage once; tests that write must copy it."""
    from gridservice.io import GeoPackageStore

    path = tmp_path_factory.mktemp("tiny") / "tiny.gpkg"
    GeoPackageStore(path).write(_load_tiny().build_tiny_area().layers, create=True)
    return path
