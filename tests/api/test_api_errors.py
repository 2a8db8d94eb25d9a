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
    assert r.json()["error"] == "InternalError"
    assert "Traceback" not in r.text and "hunter2" not in r.text


def test_domain_errors_are_json(failing: TestClient) -> None:
    r = failing.get("/conflict")
    assert r.status_code == 409 and r.json() == {"detail": "someone was faster", "error": "ConflictError"}


def test_validation_names_field_and_reason(failing: TestClient) -> None:
    r = failing.get("/api/v1/locate?lon=x&lat=27", headers=headers("planner"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.lon" and r.json()["errors"][0]["reason"]
