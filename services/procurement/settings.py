from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from kernel.settings import ProcessSettings


class ProcurementSettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGBAN_PROCUREMENT_", extra="ignore")

    # How often campaigns whose standstill has ended are awarded.
    standstill_check_seconds: float = 30.0
    # A jurisdiction's own working-day calendar (JSON; see docs/procurement.md). For the years it
    # covers it decides instead of the mainland calendar of the `chinesecalendar` package.
    calendar_file: Path | None = None
