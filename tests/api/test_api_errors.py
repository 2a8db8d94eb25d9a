"""One table maps domain errors to status codes; nothing returns a traceback."""

from __future__ import annotations

import pytest
from api_helpers import SETTINGS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.api.errors import STATUS, status_of
from gridservice.errors import (
    AuthenticationError,
    ConflictError,
    DataError,
    GridserviceError,
    InvalidPlanError,
    NotFoundError,
    PermissionDeniedError,
    TopologyError,
    TransitionError,
)


@pytest.mark.parametrize(("error", "status"), [
    (DataError("x"), 422), (TransitionError("x"), 422), (NotFoundError("x"), 404), (ConflictError("x"), 409),
    (InvalidPlanError("x"), 422), (PermissionDeniedError("x"), 403), (AuthenticationError("x"), 401),
    (TopologyError("x"), 422), (GridserviceError("x"), 400),
])
def test_status_table(error: GridserviceError, status: int) -> None:
    assert status_of(error) == status
    assert set(STATUS) >= {DataError, NotFoundError, ConflictError, PermissionDeniedError, AuthenticationError}


@pytest.fixture(scope="module")
def failing(small_gpkg) -> TestClient:
    app = create_app(str(small_gpkg), settings=SETTINGS, web=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals /srv/db password=hunter2")

    @app.get("/conflict")
    def conflict() -> None:
        raise ConflictError("someone was faster")

    return TestClient(app, raise_server_exceptions=False)


def test_unexpected_errors_are_a_plain_500(failing: TestClient) -> None:
    r = failing.get("/boom")
    assert r.status_code == 500
    assert r.json()["error"] == "InternalError" and r.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in r.text and "hunter2" not in r.text


def test_domain_errors_are_problem_details(failing: TestClient) -> None:
    r = failing.get("/conflict")
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json() == {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "someone was faster",
                        "instance": "/conflict", "error": "ConflictError"}


def test_unknown_paths_are_problem_details(failing: TestClient) -> None:
    r = failing.get("/api/v1/nowhere", headers=headers("planner"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "no such path: /api/v1/nowhere"


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/api/v1/plans/check", "POST"),  # was 422: /plans/{version} took "check" for a version
    ("DELETE", "/api/v1/work-orders", "GET, POST"),  # Starlette named only the first route's method
    ("POST", "/api/v1/plans/3", "GET"),
])
def test_a_wrong_method_is_405_naming_every_allowed_one(failing: TestClient, method: str, path: str,
                                                        allow: str) -> None:
    r = failing.request(method, path, headers=headers("planner"))
    assert r.status_code == 405 and r.headers["allow"] == allow
    assert r.json()["status"] == 405 and r.json()["error"] == "HTTPError"


def test_openapi_declares_the_problem_body_on_every_error(failing: TestClient) -> None:
    doc = failing.get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s >= "400"}
            assert all(r["content"] == problem for r in errors.values()), (method, path)
    grid = doc["paths"]["/api/v1/grids/{grid_id}"]["get"]["responses"]
    assert set(grid) == {"200", "401", "403", "404", "422", "429", "503"}  # 503: the store out of reach
    commit = doc["paths"]["/api/v1/plans/commit"]["post"]["responses"]
    assert set(commit) == {"201", "400", "401", "403", "404", "409", "413", "422", "429", "503"}
    assert set(doc["paths"]["/api/v1/health"]["get"]["responses"]) == {"200"}


def test_validation_names_field_and_reason(failing: TestClient) -> None:
    r = failing.get("/api/v1/locate?lon=x&lat=27", headers=headers("planner"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.lon" and r.json()["errors"][0]["reason"]


@pytest.mark.parametrize(("path", "body", "field"), [
    # were 500s: OverflowError in propose (households / 5e-324 is inf) and in call grouping (year 2263)
    ("/api/v1/plans/propose", {"households_per_member": 5e-324}, "body.households_per_member"),
    ("/api/v1/calls/group", {"calls": [{"customer_id": "C1", "received_at": "2263-01-01T00:00:00"}]},
     "body.calls.0.received_at"),
    ("/api/v1/work-orders", {"kind": "repair", "customer_id": "C1", "received_at": "9999-12-31T00:00:00"},
     "body.received_at"),
    ("/api/v1/plans/propose", {"grids": 2, "weights": {"households": 1e308, "area": -1}}, "body.weights.households"),
])
def test_numbers_and_times_out_of_range_are_422(failing: TestClient, path: str, body: dict, field: str) -> None:
    r = failing.post(path, json=body, headers=headers("admin"))
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}

