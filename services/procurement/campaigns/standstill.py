"""Ends standstill periods: runs for the app's lifetime."""

from __future__ import annotations

import functools
import logging

from fastapi import FastAPI

from kernel.background import run_every
from services.procurement.campaigns.award import finalize_due

log = logging.getLogger("zhengban.procurement.standstill")


async def finalize_standstills(app: FastAPI) -> None:
    await run_every(app.state.settings.standstill_check_seconds, functools.partial(finalize_due, app.state.db),
                    what="finalizing standstills", log=log)
