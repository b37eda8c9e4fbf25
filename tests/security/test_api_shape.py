"""Rules every operation of the public API keeps, read from the merged OpenAPI document."""

from tests.security.bodies import resolve
from tests.security.role_table import local_document

DOC = local_document()


def operations():
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, op


def is_list(op) -> bool:
    schema = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
    props = resolve(schema, DOC).get("properties", {}) if schema else {}
    return "items" in props and "next_cursor" in props


def test_every_list_takes_a_bounded_limit_and_a_cursor():
    lists = [(m, p, op) for m, p, op in operations() if m == "GET" and is_list(op)]
    assert lists
    for method, path, op in lists:
        params = {p["name"]: p for p in op.get("parameters", [])}
        assert "cursor" in params, (method, path)
        assert params.get("limit", {}).get("schema", {}).get("maximum", 10**9) <= 200, (method, path)


def test_every_operation_says_what_it_does():
    assert [(m, p) for m, p, op in operations() if not op.get("summary")] == []


def test_no_read_answers_a_bare_array():
    """Lists answer `{items, next_cursor}` and page (SPEC): a bare array could not."""
    bare = []
    for method, path, op in operations():
        schema = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {}).get("schema")
        if method == "GET" and schema and resolve(schema, DOC).get("type") == "array":
            bare.append(path)
    assert bare == []


def _inlined(schema, doc: dict, seen: tuple = ()):
    """The schema with every $ref replaced by what it names (a reference back into itself kept)."""
    if isinstance(schema, list):
        return [_inlined(item, doc, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return {"$ref": "(recursive)"}
        return _inlined(doc["components"]["schemas"][name], doc, (*seen, name))
    return {key: _inlined(value, doc, seen) for key, value in schema.items()}


def test_the_merged_document_says_what_each_service_says():
    """A schema name two services share (`TransferOut`, and `Page_TransferOut_` which refers to it)
    is renamed in the merged document; what each operation takes and answers stays its service's own
    (its errors are the gateway's to document, all alike: the test above)."""
    from zhengban.processes import SERVICES, app_module

    for name in SERVICES:
        module = app_module(name)
        own = module.create_app(module.SETTINGS()).openapi()
        for path, item in own["paths"].items():
            if not path.startswith(f"/api/v1/{name}/"):
                continue
            for method, op in item.items():
                merged = DOC["paths"][path][method]
                assert _inlined(merged.get("requestBody"), DOC) == _inlined(op.get("requestBody"), own), (method, path)
                for code, response in op["responses"].items():
                    if not code.startswith("2"):
                        continue
                    assert _inlined(merged["responses"][code].get("content"), DOC) == \
                        _inlined(response.get("content"), own), (method, path, code)


# Operations that take an id no operation answers with, each with the reason.
UNLINKED: dict[str, str] = {}


def test_every_operation_that_takes_an_id_is_reached_by_a_link():
    """A stateful client (Schemathesis' stateful phase) finds real objects only by following the
    links from the operations that create or list them (kernel/links.py)."""
    from kernel.links import link_targets, path_params

    targets = link_targets(DOC)
    unlinked = [f"{method} {path}" for method, path, _ in operations()
                if path_params(path) and (method, path) not in targets and f"{method} {path}" not in UNLINKED]
    assert unlinked == [], "declare the id with kernel.links.gives() on the operation that answers it"
    assert {f"{m} {p}" for m, p in targets} >= {
        "POST /api/v1/budget/lines/{line_id}/approve", "GET /api/v1/budget/lines/{line_id}/entries",
        "POST /api/v1/licenses/allocations/{allocation_id}/reclaim", "PUT /api/v1/budget/policies/{org_id}",
        "POST /api/v1/procurement/dead-letters/{dead_letter_id}/replay"}


def test_links_pass_the_ids_they_promise():
    line = DOC["paths"]["/api/v1/budget/lines"]["post"]["responses"]["201"]["links"]
    assert line["approve_line_api_v1_budget_lines__line_id__approve_post"] == {
        "operationId": "approve_line_api_v1_budget_lines__line_id__approve_post",
        "parameters": {"line_id": "$response.body#/id"}}
    demands = DOC["paths"]["/api/v1/procurement/campaigns/{campaign_id}/demands"]["get"]["responses"]["200"]["links"]
    assert demands["get_demand_api_v1_procurement_campaigns__campaign_id__demands__demand_id__get"]["parameters"] == {
        "campaign_id": "$request.path.campaign_id", "demand_id": "$response.body#/items/0/id"}
    # An id names objects of its own service only (budget and licenses both have {transfer_id})…
    budget_transfers = DOC["paths"]["/api/v1/budget/transfers"]["post"]["responses"]["201"]["links"]
    assert all("_budget_" in name for name in budget_transfers)
    # …except the orgs, which identity gives and every service takes.
    orgs = DOC["paths"]["/api/v1/identity/orgs"]["post"]["responses"]["201"]["links"]
    assert {"put_policy_api_v1_budget_policies__org_id__put", "get_org_api_v1_licenses_orgs__org_id__get"} <= set(orgs)


def test_every_error_answer_is_documented_as_problem_json():
    """SPEC: every error is application/problem+json; the document says so for each operation, so a
    client generator (or a fuzzer's schema check) reads the error body it will get."""
    assert "HTTPValidationError" not in DOC["components"]["schemas"]
    problem = DOC["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    wrong = []
    for method, path, op in operations():
        errors = {code: answer for code, answer in op["responses"].items() if code.startswith(("4", "5"))}
        if "422" not in errors or (method != "GET" and "409" not in errors):
            wrong.append((method, path, sorted(errors)))
        wrong += [(method, path, code) for code, answer in errors.items()
                  if list(answer.get("content", {})) != ["application/problem+json"]]
    assert wrong == []


def test_every_post_states_the_idempotency_key_header():
    missing = [path for method, path, op in operations() if method == "POST"
               and not any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in op.get("parameters", []))]
    assert missing == []
