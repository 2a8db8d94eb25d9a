"""Open a service area ready for analysis: load it, then derive what is derived.

Faces (CLI, API, maps) call :func:`open_area`; domain functions take the
:class:`~gridservice.model.ServiceArea` it returns. Derived columns (the
``grid_id`` of customers, transformers, access points and work orders, from
the locator) are filled here, once, so every face sees the same numbers.
"""

from __future__ import annotations

from gridservice.io import Store, open_store
from gridservice.model import ServiceArea
from gridservice.spatial.locate import derive_grids


def derive(area: ServiceArea) -> ServiceArea:
    """Fill the derived columns of a freshly loaded area."""
    derive_grids(area)  # grid_id of customers, transformers, access points, work orders
    return area


def open_area(data: str | Store) -> ServiceArea:
    """Load the service area behind ``--data`` and derive its columns."""
    store = open_store(str(data)) if not isinstance(data, Store) else data
    return derive(ServiceArea.load(store))
