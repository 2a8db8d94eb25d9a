"""Reading and writing service areas: the GeoPackage and PostGIS stores, import and export."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import pandas as pd

from gridservice.io.store import GeoPackageStore


@runtime_checkable
class Store(Protocol):
    """What every store offers (:class:`GeoPackageStore`, :class:`~gridservice.io.postgis.PostGISStore`)."""

    @property
    def url(self) -> str: ...
    def exists(self) -> bool: ...
    def version(self) -> tuple[int, ...]: ...
    def changes(self, since: int | None) -> tuple[int | None, dict[str, set[str] | None] | None]: ...
    def migrate(self) -> int: ...
    def layers(self) -> list[str]: ...
    def read_layer(self, name: str, *, raw: bool = False, where: str | None = None,
                   bbox: tuple[float, float, float, float] | None = None) -> pd.DataFrame: ...
    def read(self, names: Iterable[str] | None = None) -> dict[str, pd.DataFrame]: ...
    def lock(self) -> AbstractContextManager[None]: ...
    def write(self, frames: Mapping[str, pd.DataFrame], *, create: bool = False) -> None: ...
    def write_locked(self, frames: Mapping[str, pd.DataFrame], *, create: bool = False,
                     unchanged: tuple[str, str, object] | None = None) -> None: ...
    def append(self, name: str, rows: pd.DataFrame) -> None: ...
    def upsert(self, frames: Mapping[str, pd.DataFrame], *,
               delete: Mapping[str, Iterable[str]] | None = None) -> None: ...
    def update(self, name: str, rows: pd.DataFrame, *, append: Mapping[str, pd.DataFrame] | None = None) -> None: ...


def is_database_url(data: str) -> bool:
    """Whether ``--data`` names a PostgreSQL database rather than a GeoPackage file."""
    return data.startswith(("postgresql://", "postgres://"))


def open_store(data: str) -> Store:
    """The store behind ``--data``: a ``postgresql://`` URL or a GeoPackage file."""
    if is_database_url(data):
        from gridservice.io.postgis import PostGISStore  # psycopg comes with the `postgis` extra

        return PostGISStore(data)
    return GeoPackageStore(data)


__all__ = ["GeoPackageStore", "Store", "is_database_url", "open_store"]
