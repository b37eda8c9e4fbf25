"""A populated installation for security tests: an org tree made through the identity API and
principals (API keys) for any org and roles, on a real `zhengban up`."""

from __future__ import annotations

import httpx

from tests.e2e.stack import RunningStack

# name → (kind, parent). Two "owners" with their relatives: dept_a (a unit under a provincial
# finance bureau) and soe (an SOE group under a SASAC), plus suppliers outside both.
TREE = {
    "province": ("finance_bureau", "root"),
    "dept_a": ("unit", "province"),
    "school_a1": ("unit", "dept_a"),
    "dept_b": ("unit", "province"),
    "sasac": ("sasac", "root"),
    "soe": ("soe_group", "sasac"),
    "enterprise_1": ("enterprise", "soe"),
    "enterprise_2": ("enterprise", "soe"),
    "enterprise_3": ("enterprise", "soe"),
    "soe_2": ("soe_group", "sasac"),
    "supplier_x": ("supplier", "root"),
    "supplier_y": ("supplier", "root"),
}

# For each org that owns objects in the tests: its parent, a sibling and a child.
RELATIVES = {
    "dept_a": {"parent": "province", "sibling": "dept_b", "child": "school_a1"},
    "enterprise_1": {"parent": "soe", "sibling": "enterprise_2", "child": None},
    "soe": {"parent": "sasac", "sibling": "soe_2", "child": "enterprise_3"},
    "supplier_x": {"parent": "root", "sibling": "supplier_y", "child": None},
}


class World:
    def __init__(self, stack: RunningStack):
        self.stack = stack
        self.http = httpx.Client(base_url=stack.url, timeout=30)
        self.admin = stack.token()
        me = self.http.get("/api/v1/identity/me", headers=self.admin).json()
        self.orgs: dict[str, dict] = {"root": {"id": me["org_id"]}}
        for name, (kind, parent) in TREE.items():
            resp = self.http.post("/api/v1/identity/orgs", headers=self.admin,
                                  json={"name": name, "kind": kind, "parent_id": self.orgs[parent]["id"]})
            resp.raise_for_status()
            self.orgs[name] = resp.json()
        self._keys: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
        self._subjects: dict[tuple[str, tuple[str, ...]], str] = {}

    def org_id(self, name: str) -> str:
        return self.orgs[name]["id"]

    def as_(self, org: str, *roles: str) -> dict[str, str]:
        """Headers of a principal holding `roles` in `org` (an API key, made once and kept)."""
        key = (org, tuple(sorted(roles)))
        if key not in self._keys:
            resp = self.http.post("/api/v1/identity/api-keys", headers=self.admin,
                                  json={"name": f"{org}:{'+'.join(key[1])}", "org_id": self.org_id(org),
                                        "roles": list(roles)})
            resp.raise_for_status()
            self._keys[key] = {"Authorization": f"Bearer {resp.json()['key']}"}
            self._subjects[key] = resp.json()["id"]
        return self._keys[key]

    def subject_of(self, org: str, *roles: str) -> str:
        """The subject (API key id) of the principal `as_(org, *roles)` answers with."""
        self.as_(org, *roles)
        return self._subjects[(org, tuple(sorted(roles)))]

    def new_key(self, org: str, *roles: str) -> tuple[dict[str, str], str]:
        """A principal of its own (headers and its subject, the key's id), never shared."""
        resp = self.http.post("/api/v1/identity/api-keys", headers=self.admin,
                              json={"name": f"{org}:own", "org_id": self.org_id(org), "roles": list(roles)})
        resp.raise_for_status()
        return {"Authorization": f"Bearer {resp.json()['key']}"}, resp.json()["id"]

    def call(self, method: str, path: str, headers: dict | None = None, **kwargs) -> httpx.Response:
        """One request; a PUT or PATCH is sent as a person sends it, with the version its caller
        last read (If-Match from the ETag of a GET of the same path, where there is one)."""
        headers = dict(headers or {})
        if method in ("PUT", "PATCH") and "If-Match" not in headers:
            tag = self.http.get(path, headers=headers).headers.get("etag")
            if tag:
                headers["If-Match"] = tag
        return self.http.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, headers: dict, **kwargs) -> dict:
        """Calls and insists on success (for building fixtures), returning the JSON body."""
        resp = self.call(method, path, headers, **kwargs)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else {}
