"""Property-based fuzzing of the whole public API, through the gateway, authenticated as the root
admin (who may reach every operation): no input makes a 5xx, and every 4xx is a problem document.

Three passes over every operation of the merged OpenAPI document:
- schemathesis' positive cases (values the schema allows);
- its negative cases (values the schema forbids: wrong types, out of range, missing fields);
- boundary values put into every query parameter and every body field, one at a time, into an
  otherwise valid request: 2^63 and below -2^63, 10^30, 31 digits, negative numbers, NaN and
  infinities (bare JSON tokens, which Python's parser accepts), times without a zone or near year
  0 and 9999, NUL and other control characters, lone surrogates, and very long strings. Those no
  field may hold (NEVER_VALID) must be refused with a 4xx; the rest must only not crash.

Here the budget is small (a few examples per operation) so the suite stays quick; docs/reliability.md
gives the longer run and its figures (`ZHENGBAN_FUZZ_EXAMPLES=100`)."""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("ZHENGBAN_FUZZ_EXAMPLES", "6"))
SKIPPED = {"/api/v1/identity/signing-keys/rotate"}  # each call adds a signing key for good; it has its own tests

# Raw JSON for a body field; each replaces the field's value in an otherwise valid body.
BODY_BOUNDARIES = ["9223372036854775808", "-9223372036854775809", "1" + "0" * 30, "9" * 31, "-1", "0",
                   "NaN", "Infinity", "-Infinity", "1e400", "1.5",
                   '"9223372036854775808"', '"2026-11-23T08:00:00"', '"2026-11-23"', '"9999-12-31T23:59:59-05:00"',
                   '"0001-01-01T00:00:00+05:00"', '"\\u0000"', '"a\\u001bb"', '"\\ud800"', '""',
                   '"' + "x" * 20_000 + '"',
                   "[]", "{}", "null", "true"]
# Of those, the values no field may hold: past a 64-bit integer, not a finite number, a NUL (which
# PostgreSQL cannot store), a lone surrogate, or longer than any text limit. Each must be refused
# (a 4xx); the others may be right for some field, and there only must not crash the API.
NEVER_VALID = {"9223372036854775808", "-9223372036854775809", "1" + "0" * 30, "9" * 31, "NaN", "Infinity",
               "-Infinity", "1e400", '"\\u0000"', '"\\ud800"', '"' + "x" * 20_000 + '"'}
assert NEVER_VALID <= set(BODY_BOUNDARIES)
# Query (and form) values, sent as text.
QUERY_BOUNDARIES = ["9223372036854775808", "-9223372036854775809", "1" * 31, "-1", "0", "NaN", "inf", "1e400",
                    "2026-11-23T08:00:00", "9999-12-31", "0001-01-01", "9999-12-31T23:59:59-05:00",
                    "0001-01-01T00:00:00+05:00", "\x00", "a\x1bb", "", "x" * 5000]


def problem_json_for_client_errors(ctx, response, case):
    """Every 4xx answers application/problem+json with a type, a title and the HTTP status."""
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (
            f"{response.status_code} answered {content_type!r}: {response.text[:200]}")
        body = response.json()
        assert body.get("status") == response.status_code and body.get("type") and body.get("title"), body


@pytest.fixture(scope="module")
def api_schema(stack):
    return schemathesis.openapi.from_url(f"{stack.url}/openapi.json")


@pytest.fixture(scope="module")
def admin_headers(stack):
    return stack.token()


@pytest.fixture(scope="module")
def operations(api_schema):
    return [result.ok() for result in api_schema.get_all_operations() if result.ok().path not in SKIPPED]


def fuzz(operations, admin_headers, mode: GenerationMode) -> tuple[int, list[str]]:
    # Each operation gets its own Hypothesis run (schemathesis' pytest plugin does not yet work with
    # pytest 9, so the loop is ours); failures are collected so one run reports all of them.
    failures, cases = [], 0
    for operation in operations:
        try:
            strategy = operation.as_strategy(generation_mode=mode)
        except Exception as exc:  # noqa: BLE001 - an operation with nothing to negate has no negative cases
            if mode is GenerationMode.NEGATIVE:
                continue
            raise exc

        @given(case=strategy)
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
            if mode is GenerationMode.NEGATIVE and "Unsatisfiable" in type(exc).__name__ + str(exc)[:200]:
                continue
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    return cases, failures


def test_schema_cases_never_crash_the_api(operations, admin_headers):
    started = time.monotonic()
    cases, failures = fuzz(operations, admin_headers, GenerationMode.POSITIVE)
    print(f"positive: {len(operations)} operations, {cases} cases, {len(failures)} failing operations, "
          f"{time.monotonic() - started:.0f} s")
    assert cases >= len(operations)
    assert not failures, "\n\n".join(failures)


def test_cases_outside_the_schema_never_crash_the_api(operations, admin_headers):
    started = time.monotonic()
    cases, failures = fuzz(operations, admin_headers, GenerationMode.NEGATIVE)
    print(f"negative: {len(operations)} operations, {cases} cases, {len(failures)} failing operations, "
          f"{time.monotonic() - started:.0f} s")
    assert cases >= len(operations) // 2
    assert not failures, "\n\n".join(failures)


def _valid_case(operation):
    """One positive case of the operation, the base each boundary value is put into."""
    found = []

    @given(case=operation.as_strategy())
    @settings(max_examples=1, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def take(case):
        found.append(case)

    take()
    return found[0]


def _answer_problem(response: httpx.Response) -> str | None:
    """What is wrong with the answer to a boundary value, or None."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:300]}"
    if response.status_code >= 400:
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            return f"{response.status_code} is not problem+json: {response.text[:200]}"
        if response.json().get("status") != response.status_code:
            return f"{response.status_code} with a problem status {response.json().get('status')}"
    return None


def test_boundary_values_in_every_parameter_and_field_are_refused_without_a_crash(stack, operations, admin_headers):
    started = time.monotonic()
    failures, cases, probed = [], 0, set()
    with httpx.Client(base_url=stack.url, headers=admin_headers, timeout=30) as client:

        def send(case, *, query=None, content=None, data=None, what: str, refused: bool = False):
            nonlocal cases
            cases += 1
            headers = {"content-type": "application/json"} if content is not None else {}
            response = client.request(case.method, case.formatted_path, params=query, content=content, data=data,
                                      headers=headers)
            problem = _answer_problem(response)
            if problem is None and refused and not 400 <= response.status_code < 500:
                problem = f"accepted with {response.status_code}: {response.text[:200]}"
            if problem:
                failures.append(f"{case.method} {case.path} {what}: {problem}")

        for operation in operations:
            case = _valid_case(operation)
            query = dict(case.query or {})
            names = [p.name for p in operation.query]
            extremes = _extremes(operation)
            if extremes:  # every parameter at once at the far end of what its schema allows
                send(case, query={**query, **extremes}, content=_json(case.body), what=f"extremes {extremes}")
            for name in names:
                for value in QUERY_BOUNDARIES:
                    send(case, query={**query, name: value}, content=_json(case.body), what=f"?{name}={value[:40]!r}")
                    probed.add(operation.label)
            body = case.body
            if case.media_type == "application/x-www-form-urlencoded" and isinstance(body, dict):
                for name in body:
                    for value in QUERY_BOUNDARIES:
                        send(case, query=query, data={**body, name: value}, what=f"form {name}={value[:40]!r}")
                        probed.add(operation.label)
            elif isinstance(body, dict):
                for path in _field_paths(body):
                    for raw in BODY_BOUNDARIES:
                        send(case, query=query, content=_json_with(body, path, raw),
                             what=f"{'.'.join(map(str, path))}={raw[:40]}", refused=raw in NEVER_VALID)
                        probed.add(operation.label)
    print(f"boundaries: {len(operations)} operations ({len(probed)} with parameters or fields), {cases} cases, "
          f"{len(failures)} failures, {time.monotonic() - started:.0f} s")
    assert cases > 1000 and len(probed) > len(operations) // 2
    assert not failures, "\n".join(failures[:60])


def _extremes(operation) -> dict[str, str]:
    """The largest value each query parameter's schema allows, where it names one."""
    found = {}
    for parameter in operation.query:
        schema = parameter.definition.get("schema", {})
        options = schema.get("anyOf", [schema])
        for option in options:
            if option.get("type") == "integer" and "maximum" in option:
                found[parameter.name] = str(option["maximum"])
            elif option.get("format") == "date":
                found[parameter.name] = "2999-12-31"
            elif option.get("format") == "date-time":
                found[parameter.name] = "2999-12-31T23:59:59Z"
    return found


def _json(body) -> str | None:
    return json.dumps(body) if isinstance(body, dict | list) else None


def _field_paths(body: dict, prefix=()) -> list[tuple]:
    """Every field of the body, and the fields of the first object of any list of objects."""
    paths = []
    for key, value in body.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths += _field_paths(value, (*prefix, key))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            paths += _field_paths(value[0], (*prefix, key, 0))
    return paths


MARK = "\x01boundary\x01"


def _json_with(body: dict, path: tuple, raw: str) -> str:
    """The body as JSON text with the field at `path` replaced by the raw JSON `raw`."""
    copy = json.loads(json.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = MARK
    return json.dumps(copy).replace(json.dumps(MARK), raw)
