"""A small client of the public API for the demo (and the end-to-end tests that reuse it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx


class ApiError(RuntimeError):
    pass


class Api:
    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})  # who calls: for other clients (a load generator) to send too
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=self.headers)

    def as_(self, headers: dict[str, str]) -> Api:
        return Api(self.base_url, headers)

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 202, 204), retries: int = 30,
                **kwargs) -> dict | list | None:
        # A POST that creates something carries an Idempotency-Key, so a retry after a dropped
        # connection or a 5xx/429 cannot create it twice.
        headers = dict(kwargs.pop("headers", {}) or {})
        if method == "POST" and "Idempotency-Key" not in headers:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        # A PUT names the version it replaces (If-Match, required for policies and pools): the one
        # just read, as a script that reads, changes and writes back does.
        if method == "PUT" and "If-Match" not in headers:
            tag = self.http.get(path).headers.get("etag")
            if tag:
                headers["If-Match"] = tag
        for attempt in range(retries):
            try:
                resp = self.http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError:
                time.sleep(min(0.2 * (attempt + 1), 2))
                continue
            if resp.status_code in expect:
                return resp.json() if resp.content else None
            if resp.status_code in (429, 502, 503, 504) or (resp.status_code == 409 and "in-flight" in resp.text):
                time.sleep(float(resp.headers.get("retry-after", 0)) or min(0.2 * (attempt + 1), 2))
                continue
            raise ApiError(f"{method} {path} answered {resp.status_code}: {resp.text[:500]}")
        raise ApiError(f"{method} {path} did not succeed after {retries} attempts")

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: dict | None = None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def all(self, path: str, **params) -> list[dict]:
        items, cursor = [], None
        while True:
            page = self.get(path, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})})
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def token(self, username: str, password: str) -> dict[str, str]:
        body = self.request("POST", "/auth/token", data={"username": username, "password": password})
        return {"Authorization": f"Bearer {body['access_token']}"}


def wait_until(check: Callable[[], object], *, timeout: float = 90, what: str = "the condition"):
    """Polls `check` until it returns something truthy (returned), or raises after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(0.2)
