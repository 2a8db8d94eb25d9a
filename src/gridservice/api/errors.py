"""Domain errors → HTTP status codes, in one table.

Domain code raises :mod:`gridservice.errors`; nothing there knows HTTP. The
handlers installed by :func:`install` turn them, request validation errors
and anything unexpected into JSON bodies — never a traceback::

    {"detail": "work order WO…: cannot go from received to closed …", "error": "TransitionError"}

An invalid plan adds ``problems`` (its findings as a GeoJSON
FeatureCollection); a bad request lists each field and why
(``errors: [{"field": "body.kind", "reason": "…"}]``).
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gridservice.api.geojson import feature_collection
from gridservice.errors import (
    AuthenticationError,
    ConflictError,
    DataError,
    GridserviceError,
    InvalidPlanError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StoreError,
    TransitionError,
)

log = logging.getLogger("gridservice.api")

#: The one table: the first class in an error's MRO that is listed decides its status.
STATUS: dict[type[GridserviceError], int] = {
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    RateLimitError: 429,
    InvalidPlanError: 422,
    TransitionError: 422,
    DataError: 422,
    StoreError: 503,
    GridserviceError: 400,
}


def status_of(exc: GridserviceError) -> int:
    """The HTTP status of a domain error."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridserviceError)
    status = status_of(exc)
    body: dict[str, object] = {"detail": str(exc), "error": type(exc).__name__}
    if isinstance(exc, InvalidPlanError) and exc.problems is not None:
        problems = exc.problems
        body["problems"] = feature_collection(problems) if hasattr(problems, "columns") else problems
    headers = {}
    if status == 401:
        # QGIS and other GIS clients answer a Basic challenge; the browser app must not get a popup.
        basic = request.url.path.startswith("/ogc")
        headers["WWW-Authenticate"] = 'Basic realm="gridservice"' if basic else "Bearer"
    if isinstance(exc, RateLimitError):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(part) for part in loc)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(e.get("loc", ())), "reason": str(e.get("msg", "invalid"))} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or "invalid request"
    return JSONResponse({"detail": detail, "error": "ValidationError", "errors": errors}, status_code=422)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error; the server log has the details", "error": "InternalError"},
                        status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(GridserviceError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
