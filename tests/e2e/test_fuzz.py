"""Schemathesis against our own OpenAPI document, on the served process.

Generated requests, valid and invalid, to every operation: the server must never answer
with a 5xx, every error must be problem+json, invalid requests must be refused, and every
response must match the status codes, headers and schemas the document declares.
``FUZZ_EXAMPLES`` sets the examples per operation and mode (a short smoke in ``make test``;
``make fuzz`` runs deep).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from incidents.http.app import create_app
from incidents.settings import Settings

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
SCHEMA = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="memory://")).openapi_schema.to_schema()
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_no_generated_request_gets_a_server_error(
    served: str,
    served_headers: dict[str, str],
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        # With an admin token: every operation is reached, not stopped at 401.
        response = case.call(base_url=served, headers=served_headers, timeout=10)
        assert response.status_code < 500, (case.as_curl_command(), response.text)
        if response.status_code != 413:
            # Schema-valid requests may still break a domain rule (422) or name a stream
            # with no events (404), so "positive data is accepted" does not hold here; and a
            # body over the limit is refused (413) before its schema is looked at.
            case.validate_response(response, excluded_checks=[positive_data_acceptance])
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/problem+json"), (
                case.as_curl_command(),
                response.text,
            )

    try:
        check()
    except Unsatisfiable:
        # Some operations take nothing that can be wrong (a path of plain strings).
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip(f"no invalid request can be generated for {operation.label}")
