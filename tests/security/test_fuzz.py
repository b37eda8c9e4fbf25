"""Property-based fuzzing of the whole public API, through the gateway, authenticated as the root
admin (who may reach every operation): no input makes a 5xx, and every 4xx is a problem document.

Here the budget is small (a few examples per operation) so the suite stays quick; docs/security.md
gives the longer run and its figures (`ZHENGBAN_FUZZ_EXAMPLES=100`)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("ZHENGBAN_FUZZ_EXAMPLES", "6"))


@pytest.fixture(scope="module")
def api_schema(stack):
    return schemathesis.openapi.from_url(f"{stack.url}/openapi.json")


@pytest.fixture(scope="module")
def admin_headers(stack):
    return stack.token()


def problem_json_for_client_errors(ctx, response, case):
    """Every 4xx answers application/problem+json with a type, a title and the HTTP status."""
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (
            f"{response.status_code} answered {content_type!r}: {response.text[:200]}")
        body = response.json()
        assert body.get("status") == response.status_code and body.get("type") and body.get("title"), body


def test_no_input_crashes_the_api(api_schema, admin_headers):
    # Each operation gets its own Hypothesis run (schemathesis' pytest plugin does not yet work with
    # pytest 9, so the loop is ours); failures are collected so one run reports all of them.
    failures, cases, operations = [], 0, 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if operation.path == "/api/v1/identity/signing-keys/rotate":
            continue  # each call adds a signing key for good; rotation has its own tests

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            nonlocal cases
            cases += 1
            response = case.call(headers=admin_headers)
            case.validate_response(response, checks=[not_a_server_error, problem_json_for_client_errors],
                                   headers=admin_headers)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - gathered and reported together below
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    print(f"fuzzed {operations} operations, {cases} cases, {len(failures)} failing operations")
    assert cases > 0
    assert not failures, "\n\n".join(failures)
