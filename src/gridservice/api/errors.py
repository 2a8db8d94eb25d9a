"""Every error the API answers, in one form: RFC 9457 problem details.

Domain code raises :mod:`gridservice.errors`; nothing there knows HTTP. One
table (:data:`STATUS`) gives each domain error its status, and the handlers
installed by :func:`install` turn domain errors, request validation errors,
HTTP errors (unknown path, wrong method, body too large, server busy) and
anything unexpected into one ``application/problem+json`` body — never a
traceback::

    {"type": "about:blank", "title": "Conflict", "status": 409,
     "detail": "plan version 3 is stale: version 4 is in force", "instance": "/api/v1/plans/commit",
     "error": "ConflictError"}

Extension members: ``errors`` lists each bad field of a request and why
(``[{"field": "body.kind", "reason": "…"}]``); an invalid plan adds
``problems``, its findings as a GeoJSON FeatureCollection.

:func:`document` makes the OpenAPI document say so: every operation declares
the error statuses it can answer with the :class:`Problem` schema.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match

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
    StoreUnavailable,
    TransitionError,
)

log = logging.getLogger("gridservice.api")

PROBLEM = "application/problem+json"

#: Seconds a client is told to wait when the store cannot be read or written (503).
STORE_RETRY_AFTER_S = 5

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
    StoreUnavailable: 503,
    StoreError: 503,
    GridserviceError: 400,
}

#: Why an operation may answer each status, as the OpenAPI document says it.
REASONS: dict[int, str] = {
    400: "The request cannot be read (a body that is not UTF-8 JSON) or carried out",
    401: "Not logged in, or the credentials are invalid or expired",
    403: "The user's role may not do this",
    404: "No such resource",
    409: "Conflict with the stored state (a stale version, a record already there)",
    413: "The request body is larger than the server accepts",
    429: "Too many attempts; retry after Retry-After",
    422: "Invalid input; `errors` names each bad field, `problems` holds an invalid plan's findings",
    503: "The store is busy or unavailable, or the server is saturated (see Retry-After)",
}


class FieldProblem(BaseModel):
    """One bad field of a request."""

    field: str = Field(description="Where: body.kind, query.lon, …")
    reason: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details), with gridservice's extension members."""

    type: str = Field("about:blank", description="A URI naming the problem type")
    title: str = Field(description="The status's reason phrase")
    status: int
    detail: str = Field(description="What went wrong, for a person")
    instance: str | None = Field(None, description="The path of the request")
    error: str = Field(description="The error's class, for programs: ConflictError, ValidationError, …")
    errors: list[FieldProblem] | None = Field(None, description="Each bad field of the request")
    problems: dict[str, Any] | None = Field(None, description="An invalid plan's findings (GeoJSON FeatureCollection)")


def status_of(exc: GridserviceError) -> int:
    """The HTTP status of a domain error."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(request: Request, status: int, detail: str, error: str, *,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """The one place an error body is made."""
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, instance=request.url.path,
                   error=error, **extra)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers, media_type=PROBLEM)


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GridserviceError)
    status = status_of(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidPlanError) and exc.problems is not None:
        problems = exc.problems
        extra["problems"] = feature_collection(problems) if hasattr(problems, "columns") else problems
    headers = {}
    if status == 401:
        # QGIS and other GIS clients answer a Basic challenge; the browser app must not get a popup.
        basic = request.url.path.startswith("/ogc")
        headers["WWW-Authenticate"] = 'Basic realm="gridservice"' if basic else "Bearer"
    if isinstance(exc, RateLimitError):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if status == 503:  # the store is missing, locked or unreadable: the next request after this reads it again
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
    return problem(request, status, str(exc), type(exc).__name__, headers=headers, **extra)


def _field(loc: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(part) for part in loc)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldProblem(field=_field(e.get("loc", ())), reason=str(e.get("msg", "invalid"))) for e in exc.errors()]
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors) or "invalid request"
    return problem(request, 422, detail, "ValidationError", errors=errors)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such path: {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path} (allowed: {headers['Allow']})"
    return problem(request, exc.status_code, detail, "HTTPError", headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at the request's path (Starlette names only the first route's)."""
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.routes):
            allowed.append(method)
    return allowed


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(request, 500, "internal error; the server log has the details", "InternalError")


def install(app: FastAPI) -> None:
    """Register the handlers on ``app`` and make its OpenAPI document declare their bodies."""
    app.add_exception_handler(GridserviceError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
    app.openapi = lambda: document(app)  # type: ignore[method-assign]


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Extra error statuses for a route's ``responses=`` (those :func:`document` cannot infer)."""
    return {status: {"description": REASONS[status]} for status in statuses}


def error_statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, read from its own OpenAPI entry.

    Logged-in operations (and logging in) can answer 401, 429 (too many
    failed logins or lookups), 403 for a role that may not and 503 (the
    store cannot be read now); operations
    with parameters 404 (an id they name is unknown) and 422; with a body 400
    (unreadable) and 413; writes 409 and 503 (a stale version, a busy store).
    Others a route declares with ``responses=`` (see :func:`responses`).
    """
    statuses = {int(s) for s in operation.get("responses", {}) if s.isdigit() and int(s) >= 400}
    if operation.get("security"):  # Basic credentials are throttled too
        statuses |= {401, 403, 429, 503}
    if "auth" in operation.get("tags", ()):
        statuses |= {401, 429, 503}
    if operation.get("parameters") or operation.get("requestBody"):
        statuses |= {404, 422}
    if operation.get("requestBody"):
        statuses |= {400, 413}
    if method in ("post", "put", "patch", "delete"):
        statuses |= {409, 503}
    return statuses


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, with every error status of every operation answering a :class:`Problem`."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description,
                         routes=app.routes, tags=app.openapi_tags, servers=app.servers)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs"))
    components["Problem"] = problem_schema
    content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            answers = operation.setdefault("responses", {})
            for status in sorted(error_statuses(method, operation)):
                described = answers.get(str(status), {}).get("description")
                if status == 422 or not described:
                    described = REASONS.get(status, HTTPStatus(status).phrase)
                answers[str(status)] = {"description": described, "content": content}
    app.openapi_schema = schema
    return schema
