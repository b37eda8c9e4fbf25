"""How many seats of one category a computer may hold (SPEC Licenses): per 98号 one each of `os`,
`office` and `antivirus`, other categories without a limit (kernel/notices.py's defaults); the policy
of the device's org subtree (`seats_per_device`) may say otherwise."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.licenses import policy_copy


async def seats_per_device(session: AsyncSession, category: str, org_paths: Iterable[str]) -> dict[str, int | None]:
    """The most seats of `category` one computer of each org path may hold (None: no limit)."""
    limits = await limits_of(session, [(path, category) for path in org_paths])
    return {path: limit for (path, _), limit in limits.items()}


async def limits_of(session: AsyncSession, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """The most seats of each (org path, category) one computer may hold (None: no limit), from
    one query for the policies of all the paths (an allocation batch spans several pools)."""
    wanted = set(wanted)
    effective = await policy_copy.effective_policies(session, {path for path, _ in wanted})
    return {(path, category): effective[path].seats_per_device(category) for path, category in wanted}
