"""Reading and writing service areas: the GeoPackage store, import and export."""

from __future__ import annotations

from gridservice.io.store import GeoPackageStore

Store = GeoPackageStore


def open_store(data: str) -> Store:
    """The store behind ``--data``: a GeoPackage file (the only kind of store so far)."""
    return GeoPackageStore(data)


__all__ = ["GeoPackageStore", "Store", "open_store"]
