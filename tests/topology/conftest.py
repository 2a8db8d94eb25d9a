"""Fixtures of the topology tests; the builders live in topo_networks.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from topo_networks import build_area, ring_area

from gridservice.model import ServiceArea


@pytest.fixture
def make_area() -> Callable[..., ServiceArea]:
    """The :func:`build_area` factory."""
    return build_area


@pytest.fixture
def ring() -> ServiceArea:
    """The :func:`ring_area`."""
    return ring_area()
