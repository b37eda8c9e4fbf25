"""The console's only way to the data: the gateway's own public API, with the user's token."""

from __future__ import annotations

import httpx
from fastapi import Request

from gateway.console.sessions import ConsoleSession


class ApiProblem(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body.get("detail") or body.get("title"))
        self.status, self.body = status, body


class ConsoleApi:
    """Calls the gateway app in-process (no network hop), through all of its middleware: the same
    authentication, authorization, validation, idempotency and rate limits as any script."""

    def __init__(self, request: Request, session: ConsoleSession | None):
        # The browser's address, so the API's rate limits count this user, not the gateway itself.
        client = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 123)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=request.app, client=client),
                                      base_url="http://console", timeout=60)
        self.headers = {"Authorization": f"Bearer {session.token}"} if session else {}
        # The browser's, so the audit log tells what the person signed in with.
        if user_agent := request.headers.get("user-agent"):
            self.headers["User-Agent"] = user_agent
        if request_id := request.headers.get("x-request-id"):
            self.headers["X-Request-Id"] = request_id

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.http.aclose()

    async def call(self, method: str, path: str, **kwargs):
        resp = await self.http.request(method, path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = {"title": resp.text[:200]}
            raise ApiProblem(resp.status_code, body)
        return resp

    async def get(self, path: str, **params):
        return (await self.call("GET", path, params={k: v for k, v in params.items() if v not in (None, "")})).json()

    async def post(self, path: str, json: dict | None = None, **kwargs):
        resp = await self.call("POST", path, json=json, **kwargs)
        return resp.json() if resp.content else None

    async def read(self, path: str, **params) -> tuple[dict, str]:
        """An object and its ETag, for a page whose form edits it: the form sends the ETag back as
        If-Match (page.held_to), so a save over someone else's change since is refused."""
        resp = await self.call("GET", path, params={k: v for k, v in params.items() if v not in (None, "")})
        return resp.json(), resp.headers.get("etag", "")

    async def page(self, path: str, *, cursor: str | None = None, limit: int = 50, **params) -> tuple[list, str | None]:
        """One page of a list and the cursor of the next: pages show a "next" link, never a cut list."""
        return listed(await self.get(path, **params, limit=limit, cursor=cursor))

    async def all(self, path: str, **params) -> list[dict]:
        """Every item of a list, for small ones only (the orgs of a subtree offered in a form)."""
        items, cursor = [], None
        while True:
            found, cursor = await self.page(path, cursor=cursor, limit=200, **params)
            items += found
            if not cursor:
                return items


def listed(body) -> tuple[list, str | None]:
    """A list answer as (items, next cursor), whether it is `{items, next_cursor}` or a bare array
    (a few reads, like `/history`, are moving from the one to the other)."""
    if isinstance(body, dict):
        return body.get("items", []), body.get("next_cursor")
    return list(body), None
