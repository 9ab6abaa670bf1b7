"""The OpenAPI document tells the truth: schemathesis generates requests for every documented operation from
/api/v1/openapi.json and runs them in-process against the WSGI app. No answer may be a 5xx, and every answer must
match its documented schema and content type. Bounded to a few examples per operation (well under a minute)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from callback import create_app


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    app = create_app({"data_dir": tmp_path_factory.mktemp("api"), "TESTING": True})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_answers_match_the_openapi_document(case):
    response = case.call(headers={"X-Test": "schemathesis"})
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                             content_type_conformance])  # fmt: skip
