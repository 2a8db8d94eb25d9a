"""The OpenAPI document is true: schemathesis fuzzes every operation and finds no 5xx and no answer it does not declare.

Bounded and reproducible: a fixed number of examples per operation, derandomised
(Hypothesis draws from a seed derived from the test), no example database. It
runs as admin (every route open) against a throwaway copy of the test area;
deleting users, logging out and refreshing (which spends the login cookie, so a
replayed example answers differently) are left out so the admin's login stays
valid for the other operations (all three are tested in test_api_security).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from api_helpers import SETTINGS, headers
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gridservice.api import create_app

#: No 5xx; only declared statuses, content types, headers; bodies that match their schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


#: No shrinking: a failure is reported as found, so a broken run stays as short as a passing one.
BOUNDED = (Phase.explicit, Phase.generate)


@pytest.fixture(scope="module")
def api_schema(small_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> schemathesis.BaseSchema:
    copy = tmp_path_factory.mktemp("fuzz") / "small.gpkg"
    shutil.copyfile(small_gpkg, copy)
    app = create_app(str(copy), settings=SETTINGS, web=False)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return (schema.exclude(method="DELETE", path_regex="/users/").exclude(method="POST", path="/api/v1/auth/logout")
            .exclude(method="POST", path="/api/v1/auth/refresh"))


def test_every_operation_keeps_its_contract(api_schema: schemathesis.BaseSchema) -> None:
    # A plain loop over the operations rather than schemathesis' pytest plugin, whose subtests break on
    # newer pytest releases: each operation gets its own derandomised Hypothesis run, valid and invalid inputs.
    broken: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in GenerationMode))

        @given(case=cases)
        @settings(max_examples=15, derandomize=True, database=None, deadline=None, phases=BOUNDED,
                  suppress_health_check=list(HealthCheck))
        def keeps_contract(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers("admin"), checks=CHECKS, timeout=120)  # a loaded machine is slow

        try:
            keeps_contract()
        except Exception as exc:  # every failing operation is listed, not only the first
            broken.append(f"{operation.label}: {exc}")
    assert broken == [], "\n\n".join(broken)
