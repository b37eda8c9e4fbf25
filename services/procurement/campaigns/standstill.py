"""Ends standstill periods: runs for the app's lifetime."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from services.procurement.campaigns.award import finalize_due

log = logging.getLogger("zhengban.procurement.standstill")


async def finalize_standstills(app: FastAPI) -> None:
    while True:
        try:
            await finalize_due(app.state.db)
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("finalizing standstills failed")
        await asyncio.sleep(app.state.settings.standstill_check_seconds)
