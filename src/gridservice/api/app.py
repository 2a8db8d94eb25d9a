"""The FastAPI application: ``/api/v1`` plus the browser app at ``/``."""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi import FastAPI, Request

from gridservice import __version__
from gridservice.io import open_store
from gridservice.model import ServiceArea
from gridservice.workspace import open_area


class AreaHolder:
    """The service area in memory, reloaded when the store changes on disk."""

    def __init__(self, data: str) -> None:
        self.store = open_store(data)
        self._lock = threading.Lock()
        self._version: object = None
        self._area: ServiceArea | None = None

    def get(self) -> ServiceArea:
        """The current area (reloaded if another writer changed the store)."""
        version = self.store.version()
        if version != self._version:
            with self._lock:
                if version != self._version:
                    self._area = open_area(self.store)
                    self._version = version
        assert self._area is not None
        return self._area


def create_app(data: str) -> FastAPI:
    """Build the app for the service area behind ``data``."""
    app = FastAPI(title="gridservice", version=__version__, docs_url="/docs", openapi_url="/api/v1/openapi.json")
    holder = AreaHolder(data)
    holder.get()
    app.state.holder = holder

    @app.get("/api/v1/health")
    def health() -> dict[str, Any]:
        area = holder.get()
        return {"status": "ok", "service_area": area.name, "grids": len(area.grids), "customers": len(area.customers)}

    @app.get("/api/v1/grids")
    def grids(request: Request) -> dict[str, Any]:
        area = request.app.state.holder.get()
        return json.loads(area.grids.reset_index().to_json(drop_id=True))

    return app
