"""How many seats of one category a computer may hold (SPEC Licenses): per 98号 one each of `os`,
`office` and `antivirus`, other categories without a limit (kernel.policies' `seats_per_device`); a
policy of the device's org subtree may allow more."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from kernel import policies


async def seats_per_device(session: AsyncSession, category: str, org_paths: Iterable[str]) -> dict[str, int | None]:
    """The most seats of `category` one computer of each org path may hold (None: no limit)."""
    limit = policies.defaults().seats_per_device(category)
    return {path: limit for path in org_paths}
