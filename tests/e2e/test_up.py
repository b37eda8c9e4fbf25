"""`zhengban up` brings up the whole product, and an org made at the gateway is known everywhere at once."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.e2e.stack import RunningStack


def still_running(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_up_is_ready_and_stops_cleanly(tmp_path):
    stack = RunningStack(tmp_path / "data")
    try:
        seconds = stack.start()
        assert seconds < 60
        ready = httpx.get(f"{stack.url}/readyz").json()
        assert ready == {"status": "ready", "checks": {"nats": True, "database": True, "budget": True,
                                                        "procurement": True, "licenses": True}}
        # Each child of this `zhengban up` (and no other process on the machine) names what it runs,
        # so `ps` tells them apart.
        children = stack.children()
        for process in ("gateway", "budget", "procurement", "licenses"):
            assert sum(f"zhengban serve {process} --port" in args for _, args in children) == 1, children
        assert sum("nats-server" in args and str(stack.data_dir) in args for _, args in children) == 1, children
        assert stack.stop() == 0
        assert [pid for pid, _ in children if still_running(pid)] == []  # nats-server is gone too
    finally:
        stack.close()


def test_org_created_at_the_gateway_is_usable_at_once_in_every_service(stack):
    admin = stack.token()
    me = httpx.get(f"{stack.url}/api/v1/identity/me", headers=admin).json()
    parent = me["org_id"]
    created = []
    for name, kind in (("省财政厅", "finance_bureau"), ("教育厅", "unit"), ("第一中学", "unit")):
        resp = httpx.post(f"{stack.url}/api/v1/identity/orgs", headers=admin,
                          json={"name": name, "kind": kind, "parent_id": parent})
        assert resp.status_code == 201, resp.text
        created.append(resp.json())
        parent = resp.json()["id"]
    for service in ("budget", "procurement", "licenses"):
        for org in created:
            # No waiting: asked right after creation, each service already knows the org.
            resp = httpx.get(f"{stack.url}/api/v1/{service}/orgs/{org['id']}", headers=admin)
            assert resp.status_code == 200, (service, resp.text)
            assert resp.json()["path"] == org["path"] and resp.json()["name"] == org["name"]


def test_data_survives_a_restart(tmp_path):
    stack = RunningStack(tmp_path / "data")
    stack.start()
    try:
        admin = stack.token()
        me = httpx.get(f"{stack.url}/api/v1/identity/me", headers=admin).json()
        org = httpx.post(f"{stack.url}/api/v1/identity/orgs", headers=admin,
                         json={"name": "留存测试", "kind": "unit", "parent_id": me["org_id"]}).json()
    finally:
        stack.stop()
    stack.start()
    try:
        admin = stack.token()
        resp = httpx.get(f"{stack.url}/api/v1/identity/orgs/{org['id']}", headers=admin)
        assert resp.json()["name"] == "留存测试"
        assert httpx.get(f"{stack.url}/api/v1/licenses/orgs/{org['id']}", headers=admin).status_code == 200
    finally:
        stack.close()


def test_services_accept_tokens_of_a_rotated_key_and_refuse_deleted_api_keys(stack):
    admin = stack.token()
    me = httpx.get(f"{stack.url}/api/v1/identity/me", headers=admin).json()
    for service in ("budget", "procurement", "licenses"):  # each service has the old key now
        assert httpx.get(f"{stack.url}/api/v1/{service}/orgs/{me['org_id']}", headers=admin).status_code == 200
    assert httpx.post(f"{stack.url}/api/v1/identity/signing-keys/rotate", headers=admin).status_code == 200
    fresh = stack.token()
    for service in ("budget", "procurement", "licenses"):
        # A kid the service has not seen makes it fetch the JWKS again; the old token still works.
        assert httpx.get(f"{stack.url}/api/v1/{service}/orgs/{me['org_id']}", headers=fresh).status_code == 200
        assert httpx.get(f"{stack.url}/api/v1/{service}/orgs/{me['org_id']}", headers=admin).status_code == 200

    created = httpx.post(f"{stack.url}/api/v1/identity/api-keys", headers=admin,
                         json={"name": "script", "org_id": me["org_id"], "roles": ["it_admin"]}).json()
    as_key = {"Authorization": f"Bearer {created['key']}"}
    assert httpx.get(f"{stack.url}/api/v1/licenses/orgs/{me['org_id']}", headers=as_key).status_code == 200
    assert httpx.delete(f"{stack.url}/api/v1/identity/api-keys/{created['id']}", headers=admin).status_code == 204
    for service in ("budget", "procurement", "licenses"):
        refused = httpx.get(f"{stack.url}/api/v1/{service}/orgs/{me['org_id']}", headers=as_key)
        assert refused.status_code == 401 and refused.json()["type"].endswith("/invalid-api-key")


def test_one_merged_openapi_document_with_the_full_public_paths(stack):
    doc = httpx.get(f"{stack.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = set(doc["paths"])
    assert {"/auth/token", "/api/v1/identity/orgs", "/api/v1/identity/api-keys/{key_id}"} <= paths
    for service in ("budget", "procurement", "licenses"):
        assert f"/api/v1/{service}/orgs/{{org_id}}" in paths
    assert not any(p in paths for p in ("/healthz", "/readyz", "/metrics", "/internal/orgs/{org_id}"))
    refs = set()

    def collect(node):
        if isinstance(node, dict):
            refs.update(v for k, v in node.items() if k == "$ref")
            for v in node.values():
                collect(v)
        elif isinstance(node, list):
            for v in node:
                collect(v)

    collect(doc)
    # Every reference resolves inside the one document.
    assert {r.rsplit("/", 1)[1] for r in refs} <= set(doc["components"]["schemas"])
    docs_page = httpx.get(f"{stack.url}/docs")
    assert docs_page.status_code == 200 and "/openapi.json" in docs_page.text


def test_every_process_serves_health_and_metrics_without_a_token(stack):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert httpx.get(f"{stack.url}{path}").status_code == 200
    metrics = httpx.get(f"{stack.url}/metrics").text
    assert "zhengban_http_requests_total" in metrics


def test_a_services_port_stays_held_while_it_is_started_again(tmp_path):
    """`zhengban up` binds each service's socket and hands it to the child (`--fd`): a caller that
    connects while the service is down waits in the backlog and is answered by the process started
    in its place, where the port used to be free until the new child bound it, for any process to
    take (then the gateway sent that service's requests to whatever listened there)."""
    stack = RunningStack(tmp_path / "data")
    stack.start()
    try:
        [budget] = stack.service_urls("budget")
        port = int(budget.rsplit(":", 1)[1])
        killed = stack.kill("serve budget ")
        # At once, before the supervisor starts another (it waits half a second, and the child takes
        # a second or more to start): nothing listens but the socket `up` keeps.
        with socket.create_connection(("127.0.0.1", port), timeout=60) as caller:
            caller.sendall(b"GET /healthz HTTP/1.1\r\nHost: budget\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := caller.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert stack.pids("serve budget ") not in ([], killed)  # answered by the new process
    finally:
        stack.close()
