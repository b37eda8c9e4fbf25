"""How many seats of one category a computer may hold (SPEC Licenses): per 98号 one each of `os`,
`office` and `antivirus`, other categories without a limit (kernel.policies' defaults); the policy
of the device's org subtree (`seats_per_device`) may say otherwise."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.licenses import policies


async def seats_per_device(session: AsyncSession, category: str, org_paths: Iterable[str]) -> dict[str, int | None]:
    """The most seats of `category` one computer of each org path may hold (None: no limit)."""
    effective = await policies.effective_policies(session, org_paths)
    return {path: policy.seats_per_device(category) for path, policy in effective.items()}
