"""Asking the gateway about an identity (an org, a user) this process has not heard of yet.

Identity events keep each service's copy current; this covers the moment between a creation and
its event's arrival, for requests and event handlers alike.
"""

from __future__ import annotations

import httpx


async def ask_gateway(gateway_url: str, internal_token: str, path: str) -> dict | None:
    """GETs `/internal/<path>` with the shared internal token; None when unknown or unreachable."""
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            resp = await client.get(f"{gateway_url.rstrip('/')}/internal/{path}",
                                    headers={"Authorization": f"Bearer {internal_token}"})
    except httpx.HTTPError:
        return None
    return resp.json() if resp.status_code == 200 else None
