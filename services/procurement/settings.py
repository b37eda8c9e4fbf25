from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from kernel.settings import ProcessSettings


class ProcurementSettings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="ZHENGBAN_PROCUREMENT_", extra="ignore")

    # How often campaigns whose standstill has ended are awarded.
    standstill_check_seconds: float = 30.0
