"""The HTTP face: FastAPI routers over the domain functions."""

from __future__ import annotations

from gridservice.api.app import create_app

__all__ = ["create_app"]
