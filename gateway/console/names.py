"""People read names, not ids: a page gathers every org, user and API-key id it is about to show and
asks the gateway for their names in one call (`GET /api/v1/identity/names`), never one per row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from gateway.console.api import ConsoleApi

BATCH = 200  # the most ids the API names in one call


def _id_in(value: object) -> str | None:
    """The id inside an org id, a user id or a history actor (`user:<id>`, `api_key:<id>`)."""
    text = str(value or "").rsplit(":", 1)[-1]
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


class Names:
    def __init__(self, known: dict[str, str] | None = None):
        self.known = dict(known or {})
        self.wanted: set[str] = set()

    def want(self, values: Iterable[object]) -> Names:
        for value in values:
            found = _id_in(value)
            if found and found not in self.known:
                self.wanted.add(found)
        return self

    async def resolve(self, api: ConsoleApi) -> Names:
        wanted = sorted(self.wanted - set(self.known))
        for start in range(0, len(wanted), BATCH):
            answer = await api.get("/api/v1/identity/names", id=wanted[start:start + BATCH])
            self.known.update({item["id"]: item["name"] for item in answer["items"]})
        self.wanted.clear()
        return self

    def __call__(self, value: object, unknown: str = "—") -> str:
        if value in ("system", None, ""):
            return unknown if value != "system" else "system"
        return self.known.get(_id_in(value) or "", unknown)


async def named(api: ConsoleApi, *groups: Iterable[object], known: dict[str, str] | None = None) -> Names:
    names = Names(known)
    for group in groups:
        names.want(group)
    return await names.resolve(api)
